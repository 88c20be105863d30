/**
 * The queue against a hostile MX: an EHLO reply that does not end is cut off by the client,
 * the recipient stays queued with that error as its last reply, and the server goes on serving.
 */
import assert from "node:assert/strict";
import { floodLines, startHostileMx } from "../_helpers/hostile_mx.ts";
import {
  dataWithUsers,
  queueJson,
  serveDomain,
  storedMessages,
  submit,
  waitFor,
} from "./_helpers.ts";

Deno.test("queue: an MX with an endless EHLO reply is retried later, the server stays well", async () => {
  // 1,000 lines: bounded, so that a client without the cap delivers (and this test fails)
  // rather than reading for ever.
  const mx = await startHostileMx({ ehloLines: floodLines(1000) });
  const dir = await dataWithUsers(["ann@a.test"]);
  // A long backoff: one attempt within the test.
  const a = await serveDomain(dir, "a.test", [
    "--route",
    `example.org=127.0.0.1:${mx.port}`,
    "--queue-min-backoff",
    "3600",
    "--queue-max-backoff",
    "3600",
  ]);
  try {
    await submit(a, "ann@a.test", ["bob@example.org"], "to a hostile MX");
    const [row] = await waitFor("the first attempt", async () => {
      const q = await queueJson(dir);
      return q[0]?.attempts === 1 ? q : undefined;
    });
    assert.equal(row?.recipient, "bob@example.org");
    assert.equal(row?.last_reply, "EHLO mx.a.test: reply longer than 100 lines");
    assert.ok(Date.parse(row!.next_attempt) - Date.now() > 60_000, "retried later");
    assert.equal(mx.accepted.length, 0);
    assert.match(a.log(), /Deferred .*reply="EHLO mx\.a\.test: reply longer than 100 lines"/);

    // The server is unharmed: it takes and delivers the next message.
    await submit(a, "ann@a.test", ["ann@a.test"], "still here");
    const mine = await waitFor("local delivery", async () => {
      const all = await storedMessages(dir, "ann@a.test");
      return all.length === 1 ? all : undefined;
    });
    assert.match(new TextDecoder().decode(mine[0]), /still here/);
  } finally {
    await a.stop();
    await mx.close();
    await Deno.remove(dir, { recursive: true });
  }
});
