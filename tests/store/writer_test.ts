/** The store's writer thread: what it commits is in the database, durably, when it answers. */
import assert from "node:assert/strict";
import { StoreError } from "../../src/store/mod.ts";
import { StoreWriter } from "../../src/store/writer.ts";
import { message, withStore } from "./_helpers.ts";

Deno.test("writer thread: a batch is committed before its promise resolves, bytes exact", () =>
  withStore(async (store, dir) => {
    const writer = await StoreWriter.start(dir);
    try {
      const body = new Uint8Array(300_000);
      for (let i = 0; i < body.length; i++) body[i] = (i * 7) % 256;
      const expected = body.slice();
      const batch = [
        message("w1", ["a@example.org"], body),
        message("w2", ["a@example.org", "b@example.org"]),
      ];
      const results = await writer.deliverMany(batch);
      assert.deepEqual(results, [undefined, undefined]);
      // Whole buffers are moved to the thread, not copied.
      assert.equal(body.byteLength, 0);
      // Read on this thread's own connection: committed, not merely queued.
      const entries = store.list("a@example.org");
      assert.deepEqual(entries.map((e) => e.messageId), ["w2", "w1"]);
      assert.deepEqual(store.read("a@example.org", entries[1]!.id), expected);
      assert.equal(store.list("b@example.org").length, 1);
    } finally {
      await writer.close();
    }
  }));

Deno.test("writer thread: a message that fails fails alone, as a StoreError with its kind", () =>
  withStore(async (store, dir) => {
    const writer = await StoreWriter.start(dir);
    try {
      store.addUser("alice@example.org", "x");
      const results = await writer.deliverMany([
        message("ok1", ["alice@example.org"], undefined, { createMailboxes: false }),
        message("bad", ["nobody@example.org"], undefined, { createMailboxes: false }),
        message("ok1", ["alice@example.org"]), // the same id again
      ]);
      assert.equal(results[0], undefined);
      assert.ok(results[1] instanceof StoreError, String(results[1]));
      assert.equal(results[1].kind, "no-mailbox");
      assert.ok(results[2] instanceof StoreError, String(results[2]));
      assert.equal(results[2].kind, "exists");
      assert.deepEqual(store.list("alice@example.org").map((e) => e.messageId), ["ok1"]);
    } finally {
      await writer.close();
    }
  }));

Deno.test("writer thread: close() waits for the batches in flight", () =>
  withStore(async (store, dir) => {
    const writer = await StoreWriter.start(dir);
    const pending = Array.from(
      { length: 20 },
      (_, i) => writer.deliverMany([message(`c${i}`, ["a@example.org"])]),
    );
    await writer.close();
    for (const results of await Promise.all(pending)) assert.deepEqual(results, [undefined]);
    assert.equal(store.count("a@example.org").total, 20);
    await assert.rejects(
      writer.deliverMany([message("late", ["a@example.org"])]),
      StoreError,
    );
  }));

Deno.test("writer thread: a data directory without a database is refused with a StoreError", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mail-writer-" });
  try {
    await assert.rejects(StoreWriter.start(dir), (err) => {
      assert.ok(err instanceof StoreError);
      assert.equal(err.kind, "not-found");
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
