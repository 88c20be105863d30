import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { SQL } from "../../src/store/sql.ts";
import { message, query, storedOctets, withStore } from "./_helpers.ts";

const A = "a@example.org";
const B = "b@example.org";

Deno.test("list is newest first, paginates, and count matches", () =>
  withStore((store) => {
    for (let i = 1; i <= 7; i++) store.deliver(message(`q${i}`, [A]));
    store.deliver(message("other", [B]));

    assert.deepEqual(store.list(A).map((e) => e.messageId), [
      "q7",
      "q6",
      "q5",
      "q4",
      "q3",
      "q2",
      "q1",
    ]);
    assert.deepEqual(store.list(A, { limit: 3 }).map((e) => e.messageId), ["q7", "q6", "q5"]);
    assert.deepEqual(store.list(A, { offset: 3, limit: 3 }).map((e) => e.messageId), [
      "q4",
      "q3",
      "q2",
    ]);
    assert.deepEqual(store.list(A, { offset: 6, limit: 3 }).map((e) => e.messageId), ["q1"]);
    assert.deepEqual(store.list(A, { offset: 7 }), []);
    assert.deepEqual(store.count(A), { total: 7, unseen: 7 });
    assert.deepEqual(store.list("nobody@example.org"), []);
    assert.deepEqual(store.count("nobody@example.org"), { total: 0, unseen: 0 });
    assert.throws(() => store.list(A, { offset: -1 }), RangeError);
  }));

Deno.test("list defaults to 50 entries", () =>
  withStore((store) => {
    for (let i = 0; i < 60; i++) store.deliver(message(`q${i}`, [A]));
    assert.equal(store.list(A).length, 50);
  }));

Deno.test("entries belong to their mailbox only", () =>
  withStore((store) => {
    store.deliver(message("q1", [A]));
    const [entry] = store.list(A);
    assert.ok(entry);
    assert.equal(store.entry(B, entry.id), undefined);
    assert.equal(store.read(B, entry.id), undefined);
    assert.equal(store.setSeen(B, entry.id, true), false);
    assert.equal(store.remove(B, entry.id), false);
    assert.equal(store.entry(A, entry.id + 1000), undefined);
    assert.equal(store.count(A).total, 1);
  }));

Deno.test("setSeen sets and clears the flag and updates the unseen count", () =>
  withStore((store) => {
    store.deliver(message("q1", [A, B]));
    store.deliver(message("q2", [A]));
    const [newest, oldest] = store.list(A);
    assert.ok(newest && oldest);
    assert.equal(store.setSeen(A, oldest.id, true), true);
    assert.equal(store.entry(A, oldest.id)?.seen, true);
    assert.deepEqual(store.count(A), { total: 2, unseen: 1 });
    // Per mailbox: B's entry for the same message is still unseen.
    assert.deepEqual(store.count(B), { total: 1, unseen: 1 });
    assert.equal(store.setSeen(A, oldest.id, true), true);
    assert.equal(store.setSeen(A, oldest.id, false), true);
    assert.deepEqual(store.count(A), { total: 2, unseen: 2 });
    assert.equal(store.setSeen(A, 999_999, true), false);
  }));

Deno.test("remove keeps a message while another entry refers to it, then deletes it", () =>
  withStore((store) => {
    store.deliver(message("q1", [A, B], "shared body"));
    const a = store.list(A)[0]!;
    const b = store.list(B)[0]!;
    const messages = () => query<{ n: number }>(store, "SELECT count(*) AS n FROM messages").n;

    assert.equal(store.remove(A, a.id), true);
    assert.equal(store.remove(A, a.id), false);
    assert.equal(store.entry(A, a.id), undefined);
    assert.equal(messages(), 1);
    assert.equal(storedOctets(store), "shared body".length);
    assert.equal(new TextDecoder().decode(store.read(B, b.id)), "shared body");

    assert.equal(store.remove(B, b.id), true);
    assert.equal(messages(), 0);
    assert.equal(storedOctets(store), 0);
    // The queue id is free again once the message is gone.
    store.deliver(message("q1", [A]));
    assert.equal(store.count(A).total, 1);
  }));

Deno.test("read paths use indexes, never a table scan or a sort", () =>
  withStore((store) => {
    const db = new DatabaseSync(store.path);
    try {
      const names = [
        "list",
        "count",
        "entry",
        "entryMessage",
        "messageContent",
        "chunks",
        "entryInFolder",
        "inboxOf",
        "messageReferenced",
      ] as const;
      for (const name of names) {
        const plan = (db.prepare(`EXPLAIN QUERY PLAN ${SQL[name]}`).all() as { detail: string }[])
          .map((r) => r.detail).join("\n");
        // Every table access is a SEARCH on a key or index (https://www.sqlite.org/eqp.html).
        assert.doesNotMatch(plan, /^SCAN (?!CONSTANT ROW)/m, `${name}:\n${plan}`);
        assert.doesNotMatch(plan, /TEMP B-TREE/, `${name}:\n${plan}`);
      }
    } finally {
      db.close();
    }
  }));

Deno.test("reads are right in a mailbox of 100,000 messages", () =>
  withStore((store) => {
    // Filled directly, in one transaction: 100,000 durable deliveries would take minutes.
    const db = new DatabaseSync(store.path);
    try {
      db.exec("BEGIN");
      db.exec("INSERT INTO mailboxes (address, created_at) VALUES ('a@example.org', 0)");
      db.exec(`INSERT INTO folders (mailbox_id, name, uid_validity, uid_next, highest_modseq)
        VALUES (1, 'INBOX', 1, 100001, 1)`);
      const msg = db.prepare(
        "INSERT INTO messages (queue_id, sender, size, received_at) VALUES (?, '', 1, 0)",
      );
      const chunk = db.prepare("INSERT INTO message_chunks VALUES (?, 0, X'41')");
      const entry = db.prepare(
        "INSERT INTO entries (mailbox_id, message_id, received_at, folder_id, uid) VALUES (1, ?1, 0, 1, ?1)",
      );
      for (let i = 1; i <= 100_000; i++) {
        msg.run(`q${i}`);
        chunk.run(i);
        entry.run(i);
      }
      db.exec("COMMIT");
    } finally {
      db.close();
    }

    // Correctness at scale only: speed belongs in benchmarks, and the query plans are checked
    // (no scans, no sorts) in a test of their own.
    assert.equal(store.list(A, { limit: 50 })[0]?.messageId, "q100000");
    assert.equal(store.list(A, { offset: 99_950, limit: 50 }).at(-1)?.messageId, "q1");
    assert.deepEqual(store.count(A), { total: 100_000, unseen: 100_000 });
    assert.equal(store.entry(A, 50_000)?.messageId, "q50000");
    assert.deepEqual(store.read(A, 50_000), new Uint8Array([0x41]));
  }, { synchronous: "NORMAL" }));
