/** Group commit: one transaction for the deliveries of one event-loop turn, each with its own outcome. */
import assert from "node:assert/strict";
import { type BatchSink, GroupCommitter } from "../../src/server/group_commit.ts";
import type { NewMessage } from "../../src/store/mod.ts";
import { openStore, StoreError } from "../../src/store/mod.ts";
import { withStore } from "../store/_helpers.ts";
import { LocalBackend, type MailSink } from "../../src/server/local_backend.ts";
import type { Delivery } from "../../src/smtp/session.ts";
import { MemorySink } from "../_helpers/memory_sink.ts";
import { until } from "../_helpers/clock.ts";

const message = (id: string, recipients: string[]): NewMessage => ({
  id,
  sender: "s@remote.test",
  recipients,
  chunks: [new TextEncoder().encode(`Subject: ${id}\r\n\r\nx\r\n`)],
  size: new TextEncoder().encode(`Subject: ${id}\r\n\r\nx\r\n`).length,
  summary: { from: "", subject: id, date: "", messageId: "" },
  receivedAt: 0,
  createMailboxes: false,
});

Deno.test("group commit: deliveries of one turn share one batch; each settles with its own outcome", async () => {
  const batches: string[][] = [];
  const sink: BatchSink = {
    deliverMany(ms) {
      batches.push(ms.map((m) => m.id));
      return ms.map((m) => (m.id === "bad" ? new Error("no mailbox") : undefined));
    },
  };
  const c = new GroupCommitter(sink);
  const results = await Promise.allSettled([
    c.deliver(message("a", ["x@example.test"])),
    c.deliver(message("bad", ["x@example.test"])),
    c.deliver(message("b", ["x@example.test"])),
  ]);
  assert.deepEqual(batches, [["a", "bad", "b"]]);
  assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
  // A later delivery is a new batch.
  await c.deliver(message("c", ["x@example.test"]));
  assert.deepEqual(batches.at(-1), ["c"]);
});

Deno.test("group commit: a failed transaction rejects every delivery in it", async () => {
  const c = new GroupCommitter({
    deliverMany() {
      throw new Error("disk full");
    },
  });
  const results = await Promise.allSettled([
    c.deliver(message("a", [])),
    c.deliver(message("b", [])),
  ]);
  assert.deepEqual(results.map((r) => r.status), ["rejected", "rejected"]);
});

Deno.test("store.deliverMany: one message failing is undone alone", () =>
  withStore((store) => {
    store.addUser("alice@example.test", "x");
    const results = store.deliverMany([
      message("M1", ["alice@example.test"]),
      message("M2", ["nobody@example.test"]), // no mailbox, createMailboxes false
      message("M3", ["alice@example.test"]),
    ]);
    assert.equal(results[0], undefined);
    assert.ok(results[1] instanceof StoreError && results[1].kind === "no-mailbox");
    assert.equal(results[2], undefined);
    assert.deepEqual(store.list("alice@example.test").map((e) => e.messageId).sort(), ["M1", "M3"]);
    assert.equal(store.mailboxExists("nobody@example.test"), false);
  }));

Deno.test("store.deliverMany: a batch of one has the same outcomes without a savepoint", () =>
  withStore((store) => {
    store.addUser("alice@example.test", "x");
    assert.deepEqual(store.deliverMany([message("M1", ["alice@example.test"])]), [undefined]);
    // Its own failure is its result, not an exception, and undoes all of it.
    const [err] = store.deliverMany([message("M2", ["alice@example.test", "nobody@example.test"])]);
    assert.ok(err instanceof StoreError && err.kind === "no-mailbox");
    assert.deepEqual(store.list("alice@example.test").map((e) => e.messageId), ["M1"]);
    // A queue id already stored is the message's failure too.
    const [dup] = store.deliverMany([message("M1", ["alice@example.test"])]);
    assert.ok(dup instanceof StoreError);
    assert.deepEqual(store.list("alice@example.test").map((e) => e.messageId), ["M1"]);
  }));

Deno.test("store.deliverManyAsync: the same outcomes, committed for every other reader once it resolves", () =>
  withStore(async (store, dir) => {
    store.addUser("alice@example.test", "x");
    const results = await store.deliverManyAsync([
      message("M1", ["alice@example.test"]),
      message("M2", ["nobody@example.test"]),
      message("M3", ["alice@example.test"]),
    ]);
    assert.equal(results[0], undefined);
    assert.ok(results[1] instanceof StoreError && results[1].kind === "no-mailbox");
    assert.equal(results[2], undefined);
    // A second connection (another process, as `mail inbox` is) sees the commit.
    const reader = openStore(dir);
    try {
      assert.deepEqual(reader.list("alice@example.test").map((e) => e.messageId).sort(), [
        "M1",
        "M3",
      ]);
    } finally {
      reader.close();
    }
    // Later synchronous writes still work on the connection.
    store.deliver(message("M4", ["alice@example.test"]));
    assert.equal(store.count("alice@example.test").total, 3);
  }));

Deno.test("store.deliverManyAsync: a failed sync of the log fails the batch and every later write", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mail-gc-" });
  let fail = true;
  const store = openStore(dir, {
    syncLog: (file) => (fail ? Promise.reject(new Error("Input/output error")) : file.syncData()),
  });
  try {
    store.addUser("alice@example.test", "x");
    await assert.rejects(
      store.deliverManyAsync([message("M1", ["alice@example.test"])]),
      (e: unknown) => e instanceof StoreError && e.kind === "io" && /restarted/.test(e.message),
    );
    // Even once the disk answers again: a sync that failed may have lost pages for good.
    fail = false;
    await assert.rejects(
      store.deliverManyAsync([message("M2", ["alice@example.test"])]),
      (e: unknown) => e instanceof StoreError && e.kind === "io",
    );
    assert.throws(
      () => store.deliver(message("M3", ["alice@example.test"])),
      (e: unknown) => e instanceof StoreError && e.kind === "io",
    );
  } finally {
    store.close();
  }
  // After a restart: the failed batch was committed (its sender, told 451, may send it again);
  // nothing after it was.
  const reopened = openStore(dir);
  try {
    assert.deepEqual(reopened.list("alice@example.test").map((e) => e.messageId), ["M1"]);
    reopened.deliver(message("M4", ["alice@example.test"]));
  } finally {
    reopened.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("group commit: deliveries that arrive during a commit form the next batch, settled only after it", async () => {
  const batches: string[][] = [];
  const commits: PromiseWithResolvers<(Error | undefined)[]>[] = [];
  const sink: BatchSink = {
    deliverMany(ms) {
      batches.push(ms.map((m) => m.id));
      const commit = Promise.withResolvers<(Error | undefined)[]>();
      commits.push(commit);
      return commit.promise;
    },
  };
  const c = new GroupCommitter(sink);
  const settled: string[] = [];
  const track = (id: string) =>
    c.deliver(message(id, ["x@example.test"])).then(() => settled.push(id));
  const first = track("a");
  // Let the first batch start; it stays uncommitted until its promise resolves.
  await until(() => commits.length > 0, "the first batch");
  const later = [track("b"), track("c")];
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(batches, [["a"]], "one batch at a time");
  assert.deepEqual(settled, [], "nothing settles before its commit");
  commits[0]!.resolve([undefined]);
  await first;
  await until(() => commits.length >= 2, "the second batch");
  assert.deepEqual(batches, [["a"], ["b", "c"]]);
  assert.deepEqual(settled, ["a"]);
  commits[1]!.resolve([undefined, new Error("no mailbox")]);
  const results = await Promise.allSettled(later);
  assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected"]);
  assert.deepEqual(settled, ["a", "b"]);
});

Deno.test("local backend: a lone client's message is committed at once, in place; with others about, it joins a group commit", async () => {
  const calls: string[] = [];
  const disk = Promise.withResolvers<void>();
  const sink = new MemorySink(["x@example.test"]);
  const store: MailSink = {
    userExists: (a) => sink.userExists(a),
    deliver(m) {
      calls.push(`deliver ${m.id}`);
      sink.deliver(m);
    },
    deliverMany(ms) {
      calls.push(`deliverMany ${ms.map((m) => m.id)}`);
      return ms.map(() => undefined);
    },
    async deliverManyAsync(ms) {
      calls.push(`deliverManyAsync ${ms.map((m) => m.id)}`);
      await disk.promise;
      return ms.map(() => undefined);
    },
  };
  let others = false;
  const backend = new LocalBackend(
    store,
    { domains: ["example.test"], catchAll: false },
    undefined,
    undefined,
    () => others,
  );
  const delivery = (id: string): Delivery => ({
    id,
    sender: "s@remote.test",
    recipients: ["x@example.test"],
    params: { smtputf8: false },
    chunks: [new TextEncoder().encode("Subject: s\r\n\r\nx\r\n")],
    size: 16,
    receivedAt: new Date(0),
  });

  const alone = backend.deliver(delivery("a"));
  assert.ok(!(alone instanceof Promise), "committed before deliver returned");
  assert.deepEqual(calls, ["deliver a"]);

  others = true;
  const shared = [backend.deliver(delivery("b")), backend.deliver(delivery("c"))];
  assert.ok(shared.every((p) => p instanceof Promise));
  await until(() => calls.length >= 2, "the group commit");
  // While that batch waits for the disk, even a lone client waits its turn: a message is never
  // committed, nor its 250 sent, ahead of one that finished before it.
  others = false;
  const queued = backend.deliver(delivery("d"));
  assert.ok(queued instanceof Promise, "the committer is busy, so the lone message queues");
  disk.resolve();
  await Promise.all([...shared, queued]);
  assert.deepEqual(calls, ["deliver a", "deliverManyAsync b,c", "deliverMany d"]);
});
