/** Queue ids: fixed length, no look-alikes, sortable by time, unique. */
import assert from "node:assert/strict";
import { newQueueId } from "../../src/queue_id.ts";

Deno.test("queue ids are 15 characters of digits and consonants, sortable by time", () => {
  const ids = [0, 1, 31, 1_700_000_000_000, Date.now(), 31 ** 9 - 1].map((t) => newQueueId(t));
  for (const id of ids) assert.match(id, /^[0-9BCDFGHJKLMNPQRSTVWXYZ]{15}$/);
  assert.deepEqual([...ids].sort(), ids);
});

Deno.test("queue ids made in the same millisecond are distinct but for a rare collision", () => {
  const now = Date.now();
  const ids = new Set(Array.from({ length: 1000 }, () => newQueueId(now)));
  assert.ok(ids.size >= 999, `${ids.size} distinct of 1000`);
});
