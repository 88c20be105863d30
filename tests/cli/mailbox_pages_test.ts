/**
 * The walk over a whole mailbox (`mail inbox --json`, `mail export`) while another process
 * delivers and deletes: every entry present throughout is yielded once, none twice.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { mailboxPages } from "../../src/cli/_common.ts";
import type { MailboxEntry } from "../../src/store/mod.ts";

const entry = (id: number): MailboxEntry => ({
  id,
  messageId: `Q${id}`,
  sender: "",
  from: "a@example.test",
  subject: `Message ${id}`,
  date: "",
  size: 1,
  seen: false,
  receivedAt: 0,
});

/** Something another process does between two listing calls. */
type Change = { deliver: number } | { remove: number };

/** A store whose mailbox changes by CHANGES, one batch after each `list` call. */
function changingStore(initial: number, changes: Change[][]) {
  let ids = Array.from({ length: initial }, (_, i) => initial - i); // newest first
  let next = initial + 1;
  let calls = 0;
  return {
    ids: () => ids,
    list(_address: string, page: { offset?: number; limit?: number; before?: number } = {}) {
      const offset = page.offset ?? 0;
      const before = page.before ?? Infinity;
      const result = ids.filter((id) => id < before).slice(offset, offset + (page.limit ?? 50))
        .map(entry);
      for (const change of changes[calls++] ?? []) {
        if ("deliver" in change) {
          for (let i = 0; i < change.deliver; i++) ids = [next++, ...ids];
        } else if (ids.length > 0) {
          // Removes the entry at that position (taken modulo the mailbox size).
          ids = ids.filter((_, i) => i !== change.remove % ids.length);
        }
      }
      return result;
    },
  };
}

function walk(store: ReturnType<typeof changingStore>, pageSize: number): number[] {
  return [...mailboxPages(store, "a@example.test", pageSize)].flat().map((e) => e.id);
}

Deno.test("mailboxPages: an unchanging mailbox, page by page", () => {
  for (const n of [0, 1, 9, 10, 11, 25]) {
    const ids = walk(changingStore(n, []), 10);
    assert.deepEqual(ids, Array.from({ length: n }, (_, i) => n - i), `${n} entries`);
  }
  assert.throws(() => [...mailboxPages(changingStore(3, []), "a", 1)], RangeError);
});

Deno.test("mailboxPages: deliveries and removals between pages", () => {
  // 30 entries, pages of 10: after the first page, 5 newer entries are delivered; after the
  // second, 12 entries above the walk's position are removed (more than a page).
  const store = changingStore(30, [
    [{ deliver: 5 }],
    Array.from({ length: 12 }, () => ({ remove: 0 })),
  ]);
  const ids = walk(store, 10);
  assert.deepEqual(ids, Array.from({ length: 30 }, (_, i) => 30 - i));
});

Deno.test("mailboxPages: never a repeat, never a miss of an entry that stayed (property)", () => {
  const change = fc.oneof(
    fc.record({ deliver: fc.integer({ min: 1, max: 4 }) }),
    fc.record({ remove: fc.nat(60) }),
  );
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 60 }),
      fc.integer({ min: 2, max: 12 }),
      fc.array(fc.array(change, { maxLength: 15 }), { maxLength: 30 }),
      (initial, pageSize, changes) => {
        const store = changingStore(initial, changes);
        const before = new Set(store.ids());
        const ids = walk(store, pageSize);
        const after = new Set(store.ids());
        assert.equal(new Set(ids).size, ids.length, "no repeats");
        assert.ok(ids.every((id, i) => i === 0 || id < ids[i - 1]!), "newest first");
        const got = new Set(ids);
        for (const id of before) {
          if (after.has(id)) assert.ok(got.has(id), `entry ${id} was there throughout`);
        }
        for (const id of ids) {
          assert.ok(before.has(id) || id > Math.max(0, ...before), `entry ${id} exists`);
        }
      },
    ),
    { numRuns: 500 },
  );
});
