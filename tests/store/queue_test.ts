import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { SQL } from "../../src/store/sql.ts";
import { MIGRATIONS } from "../../src/store/schema.ts";
import { openStore } from "../../src/store/mod.ts";
import { message, query, storedOctets, withStore } from "./_helpers.ts";

const count = (store: Parameters<typeof query>[0], table: string) =>
  query<{ n: number }>(store, `SELECT count(*) AS n FROM ${table}`).n;

Deno.test("deliver queues remote recipients in the same transaction, due at arrival", () =>
  withStore((store) => {
    const at = 1_700_000_000_000;
    store.deliver(message("q1", ["a@example.org"], undefined, {
      receivedAt: at,
      relay: ["x@Remote.test", "y@remote.test", "x@Remote.test"],
    }));
    const rows = store.queueList();
    assert.deepEqual(rows.map((r) => [r.recipient, r.domain, r.attempts, r.nextAttempt]), [
      ["x@Remote.test", "remote.test", 0, at],
      ["y@remote.test", "remote.test", 0, at],
    ]);
    assert.equal(rows[0]!.messageId, "q1");
    assert.equal(rows[0]!.sender, "sender@example.org");
    assert.deepEqual(store.queueDue(at - 1, 10), []);
    assert.equal(store.queueDue(at, 10).length, 2);
    assert.equal(store.queueDue(at, 1).length, 1);
    assert.equal(store.queueNextDue(at - 1), at);
    assert.equal(store.queueNextDue(at), undefined);
    const bytes = store.messageBytes(rows[0]!.messageRowId);
    assert.equal(new TextDecoder().decode(bytes), "Subject: q1\r\n\r\nHello\r\n");
  }));

Deno.test("a message with only remote recipients is stored; none at all is refused", () =>
  withStore((store) => {
    store.deliver(message("q1", [], undefined, { relay: ["x@remote.test"] }));
    assert.equal(count(store, "messages"), 1);
    assert.equal(count(store, "entries"), 0);
    assert.throws(() => store.deliver(message("q2", [], undefined, { relay: [] })), TypeError);
  }));

Deno.test("a failed insert of queue rows stores nothing (one transaction)", () =>
  withStore((store) => {
    assert.throws(() =>
      store.deliver(message("q1", ["nobody@example.org"], undefined, {
        createMailboxes: false,
        relay: ["x@remote.test"],
      }))
    );
    assert.equal(count(store, "messages"), 0);
    assert.equal(count(store, "queue"), 0);
  }));

Deno.test("settle: defer, finish, warn and store notices in one transaction", () =>
  withStore((store) => {
    store.deliver(message("q1", [], undefined, { relay: ["x@r.test", "y@r.test", "z@r.test"] }));
    const [x, y, z] = store.queueList();
    assert.ok(x && y && z);
    store.settle({
      finished: [x.id],
      deferred: [{ id: y.id, nextAttempt: 42, lastReply: "451 later" }, {
        id: z.id,
        nextAttempt: 43,
        lastReply: "452 later",
      }],
      warned: [z.id],
      notices: [message("dsn1", ["sender@example.org"], "Subject: bounce\r\n\r\nx\r\n", {
        sender: "",
      })],
    });
    const rows = store.queueList();
    assert.deepEqual(
      rows.map((r) => [r.recipient, r.attempts, r.nextAttempt, r.lastReply, r.warned]),
      [
        ["y@r.test", 1, 42, "451 later", false],
        ["z@r.test", 1, 43, "452 later", true],
      ],
    );
    assert.equal(store.list("sender@example.org")[0]?.messageId, "dsn1");
    // The original is still referenced by two rows.
    assert.equal(count(store, "messages"), 2);
    store.settle({ finished: [y.id, z.id] });
    assert.deepEqual(store.queueList(), []);
    // Collected once no row and no entry refers to it; the notice stays.
    assert.equal(count(store, "messages"), 1);
    assert.equal(storedOctets(store), "Subject: bounce\r\n\r\nx\r\n".length);
  }));

Deno.test("a failing notice rolls the whole settlement back", () =>
  withStore((store) => {
    store.deliver(message("q1", [], undefined, { relay: ["x@r.test"] }));
    const [x] = store.queueList();
    assert.throws(() =>
      store.settle({
        finished: [x!.id],
        notices: [message("q1", ["s@example.org"])], // a duplicate queue id
      })
    );
    assert.equal(store.queueList().length, 1);
  }));

Deno.test("a message is kept while a mailbox entry or a queue row refers to it", () =>
  withStore((store) => {
    store.deliver(message("q1", ["a@example.org"], undefined, { relay: ["x@r.test"] }));
    const [entry] = store.list("a@example.org");
    assert.ok(store.remove("a@example.org", entry!.id));
    assert.equal(count(store, "messages"), 1);
    const [row] = store.queueList();
    assert.ok(store.queueDelete(row!.id));
    assert.equal(store.queueDelete(row!.id), false);
    assert.equal(count(store, "messages"), 0);
    assert.equal(storedOctets(store), 0);
  }));

Deno.test("retry makes one row or every row due now", () =>
  withStore((store) => {
    store.deliver(message("q1", [], undefined, { relay: ["x@r.test", "y@r.test"] }));
    const [x, y] = store.queueList();
    store.settle({
      deferred: [{ id: x!.id, nextAttempt: 5000, lastReply: "a" }, {
        id: y!.id,
        nextAttempt: 6000,
        lastReply: "b",
      }],
    });
    assert.equal(store.queueRetry(100, x!.id), 1);
    assert.equal(store.queueEntry(x!.id)?.nextAttempt, 100);
    assert.equal(store.queueRetry(100, 9999), 0);
    assert.equal(store.queueRetry(200), 1);
    assert.deepEqual(store.queueList().map((r) => r.nextAttempt), [100, 200]);
  }));

Deno.test("the poll uses the queue_due index", () =>
  withStore((store) => {
    const db = new DatabaseSync(store.path);
    try {
      const plan = db.prepare(`EXPLAIN QUERY PLAN ${SQL.queueDue}`).all({ now: 0, limit: 1 })
        .map((r) => String((r as { detail: string }).detail)).join("\n");
      assert.match(plan, /queue_due/);
      assert.doesNotMatch(plan, /TEMP B-TREE/);
      const next = db.prepare(`EXPLAIN QUERY PLAN ${SQL.queueNextDue}`).all({ now: 0 })
        .map((r) => String((r as { detail: string }).detail)).join("\n");
      assert.match(next, /queue_due/);
    } finally {
      db.close();
    }
  }));

Deno.test("a version 1 database gains the queue and keeps its mail", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mail-store-test-" });
  try {
    const db = new DatabaseSync(`${dir}/mail.sqlite`);
    db.exec(MIGRATIONS[0]!);
    db.exec("PRAGMA user_version = 1");
    db.exec(`INSERT INTO messages (queue_id, sender, size, received_at) VALUES ('old', '', 0, 1)`);
    db.close();
    const store = openStore(dir);
    try {
      assert.equal(count(store, "messages"), 1);
      assert.deepEqual(store.queueList(), []);
      store.deliver(message("new", [], undefined, { relay: ["x@r.test"] }));
      assert.equal(store.queueList().length, 1);
    } finally {
      store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
