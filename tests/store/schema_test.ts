import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { openStore, StoreError } from "../../src/store/mod.ts";
import { MIGRATIONS, SCHEMA_VERSION } from "../../src/store/schema.ts";
import { message, query, storedOctets, withStore, withTempDir } from "./_helpers.ts";

function tables(path: string): string[] {
  const db = new DatabaseSync(path);
  try {
    return (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
      .all() as { name: string }[]).map((r) => r.name);
  } finally {
    db.close();
  }
}

Deno.test("a fresh database gets every migration and WAL mode", () =>
  withTempDir((dir) => {
    const store = openStore(dir);
    try {
      assert.equal(SCHEMA_VERSION, MIGRATIONS.length);
      assert.equal(
        query<{ user_version: number }>(store, "PRAGMA user_version").user_version,
        SCHEMA_VERSION,
      );
      assert.equal(
        query<{ journal_mode: string }>(store, "PRAGMA journal_mode").journal_mode,
        "wal",
      );
      assert.deepEqual(tables(store.path), [
        "counters",
        "entries",
        "expunged",
        "folders",
        "mailboxes",
        "message_chunks",
        "message_envelopes",
        "message_headers",
        // The text index (FTS5) and its own tables.
        "message_text",
        "message_text_config",
        "message_text_data",
        "message_text_docsize",
        "message_text_done",
        "message_text_idx",
        "messages",
        "mta_sts_policies",
        "queue",
        "subscriptions",
        "users",
      ]);
    } finally {
      store.close();
    }
  }));

Deno.test("re-opening is idempotent and keeps the data", () =>
  withTempDir((dir) => {
    const first = openStore(dir);
    first.deliver(message("q1", ["a@example.org"]));
    first.close();
    for (let i = 0; i < 3; i++) {
      const again = openStore(dir);
      try {
        assert.equal(
          query<{ user_version: number }>(again, "PRAGMA user_version").user_version,
          SCHEMA_VERSION,
        );
        assert.equal(again.count("a@example.org").total, 1);
      } finally {
        again.close();
      }
    }
  }));

Deno.test(
  "the data directory is created private",
  { ignore: Deno.build.os === "windows" },
  () =>
    withTempDir((dir) => {
      const store = openStore(`${dir}/nested/data`);
      store.close();
      assert.equal(Deno.statSync(`${dir}/nested/data`).mode! & 0o077, 0);
    }),
);

Deno.test("after the upgrade to schema 3, mail stored in chunks before it still reads", () =>
  withTempDir((dir) => {
    // A database as schema 2 left it: every message's bytes in message_chunks.
    const old = new DatabaseSync(`${dir}/mail.sqlite`);
    old.exec(MIGRATIONS[0]!);
    old.exec(MIGRATIONS[1]!);
    old.exec("PRAGMA user_version = 2");
    old.exec(`
      INSERT INTO mailboxes (id, address, created_at) VALUES (1, 'a@example.org', 0);
      INSERT INTO messages (id, queue_id, sender, size, received_at) VALUES (1, 'old', '', 6, 0);
      INSERT INTO message_chunks VALUES (1, 0, X'6F6C64'), (1, 1, X'2D6F6E');
      INSERT INTO entries (mailbox_id, message_id, received_at) VALUES (1, 1, 0);
    `);
    old.close();
    const store = openStore(dir);
    try {
      store.deliver(message("new", ["a@example.org"], "new one"));
      const [fresh, before] = store.list("a@example.org");
      assert.equal(new TextDecoder().decode(store.read("a@example.org", before!.id)), "old-on");
      assert.equal(new TextDecoder().decode(store.read("a@example.org", fresh!.id)), "new one");
      assert.equal(storedOctets(store), 6 + 7);
      assert.ok(store.remove("a@example.org", before!.id));
      assert.equal(query<{ n: number }>(store, "SELECT count(*) AS n FROM message_chunks").n, 0);
    } finally {
      store.close();
    }
  }));

Deno.test("a message row whose bytes disagree with its size is reported corrupt", () =>
  withStore((store) => {
    store.deliver(message("q1", ["a@example.org"], "twelve bytes"));
    const db = new DatabaseSync(store.path);
    try {
      db.exec("UPDATE messages SET body = X'41'");
    } finally {
      db.close();
    }
    const [entry] = store.list("a@example.org");
    assert.throws(
      () => store.read("a@example.org", entry!.id),
      (e) =>
        e instanceof StoreError && e.kind === "corrupt" && /12 octets but holds 1/.test(e.message),
    );
  }));

Deno.test("after the upgrade to schema 7, every entry has its message's size", () =>
  withTempDir((dir) => {
    // A database as schema 6 left it: sizes only in the messages' rows, no kept ENVELOPEs.
    const first = openStore(dir);
    first.deliver(message("s1", ["a@example.org", "b@example.org"], "Subject: a\r\n\r\nshort\r\n"));
    first.deliver(message("s2", ["a@example.org"], `Subject: b\r\n\r\n${"x".repeat(300)}\r\n`));
    first.close();
    const db = new DatabaseSync(`${dir}/mail.sqlite`);
    db.exec(`DROP TRIGGER message_envelope_gone; DROP TABLE message_envelopes;
      ALTER TABLE entries DROP COLUMN size; PRAGMA user_version = 6`);
    db.close();
    const store = openStore(dir);
    try {
      assert.equal(
        query<{ n: number }>(
          store,
          `SELECT count(*) AS n FROM entries e JOIN messages m ON m.id = e.message_id
            WHERE e.size = m.size`,
        ).n,
        3,
      );
      const { entries } = store.folders.openFolder("a@example.org", "INBOX");
      assert.deepEqual(entries.map((e) => e.size), [21, 316]);
      assert.equal(store.folders.folderStatus("a@example.org", "INBOX").size, 21 + 316);
      // A delivery after it keeps the size with the entry too.
      store.deliver(message("s3", ["a@example.org"], "Subject: c\r\n\r\n\r\n"));
      assert.equal(
        query<{ size: number }>(store, "SELECT size FROM entries ORDER BY id DESC LIMIT 1").size,
        16,
      );
      assert.equal(query<{ n: number }>(store, "SELECT count(*) AS n FROM message_envelopes").n, 0);
    } finally {
      store.close();
    }
  }));
