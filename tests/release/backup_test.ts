/** Before migrations change an existing database, a whole copy is made next to it. */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { backupBeforeMigrate, backupPath } from "../../src/store/backup.ts";
import { MIGRATIONS, SCHEMA_VERSION, schemaVersion } from "../../src/store/schema.ts";
import { openStore } from "../../src/store/mod.ts";
import { deliver, stored, trickyMessages, withTempDir } from "./_helpers.ts";
import { mail } from "../_helpers/mail_process.ts";

const backups = async (dir: string) =>
  (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).filter((n) =>
    /^mail\.(sqlite|db)\.bak-/.test(n)
  ).sort();

Deno.test("backup file name: schema version and UTC time", () => {
  assert.equal(
    backupPath("/d/mail.sqlite", 1, new Date(Date.UTC(2026, 10, 28, 12, 6, 48, 216))),
    "/d/mail.sqlite.bak-schema1-20261128T120648Z",
  );
});

Deno.test("backupBeforeMigrate: copies a database with pending migrations, nothing else", async () => {
  await withTempDir(async (dir) => {
    deliver(dir, "a@example.test", trickyMessages());
    const path = join(dir, "mail.sqlite");
    const db = new DatabaseSync(path);
    try {
      // Up to date: nothing to do.
      assert.equal(backupBeforeMigrate(db, path), undefined);
      // A newer program with one more migration: a copy first.
      const now = new Date(Date.UTC(2027, 0, 2, 3, 4, 5));
      const made = backupBeforeMigrate(db, path, SCHEMA_VERSION + 1, now);
      assert.equal(made, join(dir, `mail.sqlite.bak-schema${SCHEMA_VERSION}-20270102T030405Z`));
      // Twice in the same second (two processes starting at once): the one copy stands.
      assert.equal(backupBeforeMigrate(db, path, SCHEMA_VERSION + 1, now), made);
    } finally {
      db.close();
    }
    assert.deepEqual(await backups(dir), [
      `mail.sqlite.bak-schema${SCHEMA_VERSION}-20270102T030405Z`,
    ]);
    // The copy is a whole, readable store with the same mail.
    const copy = join(dir, "copy");
    await Deno.mkdir(copy);
    await Deno.copyFile(join(dir, (await backups(dir))[0]!), join(copy, "mail.sqlite"));
    assert.deepEqual(stored(copy, "a@example.test"), stored(dir, "a@example.test"));
  });
});

Deno.test("backupBeforeMigrate: a new (empty) database is not backed up", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "mail.sqlite");
    const db = new DatabaseSync(path);
    try {
      assert.equal(schemaVersion(db), 0);
      assert.equal(backupBeforeMigrate(db, path), undefined);
    } finally {
      db.close();
    }
    assert.deepEqual(await backups(dir), []);
  });
});

Deno.test({
  name: "openStore on a database an older version wrote (as mail.db): backup, then migrations",
  // Needs a schema with more than one migration to have an "older" database to open.
  ignore: SCHEMA_VERSION < 2,
  async fn() {
    await withTempDir(async (dir) => {
      const path = join(dir, "mail.db");
      const old = new DatabaseSync(path);
      old.exec(MIGRATIONS[0]!);
      old.exec("PRAGMA user_version = 1");
      old.exec("INSERT INTO users VALUES ('a@example.test', 'x', 1)");
      old.close();
      openStore(dir).close();
      const [made] = await backups(dir);
      assert.match(made ?? "", /^mail\.db\.bak-schema1-\d{8}T\d{6}Z$/);
      const copy = new DatabaseSync(join(dir, made!), { readOnly: true });
      try {
        assert.equal(schemaVersion(copy), 1);
        assert.deepEqual(
          { ...copy.prepare("SELECT address FROM users").get() },
          { address: "a@example.test" },
        );
      } finally {
        copy.close();
      }
      // Opening again (now current) makes no further copy.
      openStore(dir).close();
      assert.equal((await backups(dir)).length, 1);
    });
  },
});

Deno.test("an upgrade under the binary's own permissions: backup, migrations, the old mail reads", async () => {
  // Deno refuses SQLite's ATTACH (and so VACUUM INTO) without --allow-all: this runs `mail` with
  // exactly the permissions of the compiled binary, which the in-process tests above do not.
  await withTempDir(async (dir) => {
    const path = join(dir, "mail.sqlite");
    // Schema 2, as the release before this one left it: the bytes in message_chunks.
    const old = new DatabaseSync(path);
    old.exec("PRAGMA journal_mode = WAL");
    old.exec(MIGRATIONS[0]!);
    old.exec(MIGRATIONS[1]!);
    old.exec("PRAGMA user_version = 2");
    // The last commit stays in the write-ahead log (this connection stays open, and never
    // checkpoints): the backup must hold it all the same.
    old.exec("PRAGMA wal_autocheckpoint = 0");
    old.exec(`
      INSERT INTO mailboxes (id, address, created_at) VALUES (1, 'a@example.test', 0);
      INSERT INTO messages (id, queue_id, sender, size, received_at, hdr_subject)
        VALUES (1, 'old', '', 26, 0, 'Before');
      INSERT INTO message_chunks VALUES (1, 0, CAST('Subject: Before' AS BLOB)),
        (1, 1, CAST(char(13, 10, 13, 10) || 'kept!' || char(13, 10) AS BLOB));
      INSERT INTO entries (mailbox_id, message_id, received_at) VALUES (1, 1, 0);
    `);
    try {
      assert.ok(Deno.statSync(`${path}-wal`).size > 0);
      const listed = await mail(["inbox", "a@example.test", "--data", dir]);
      assert.equal(listed.code, 0, listed.err);
      assert.match(listed.out, /Before/);
      const shown = await mail(["inbox", "a@example.test", "1", "--raw", "--data", dir]);
      assert.equal(shown.out, "Subject: Before\r\n\r\nkept!\r\n");
    } finally {
      old.close();
    }
    const [made, ...more] = await backups(dir);
    assert.deepEqual(more, []);
    assert.match(made ?? "", /^mail\.sqlite\.bak-schema2-\d{8}T\d{6}Z$/);
    const copy = new DatabaseSync(join(dir, made!), { readOnly: true });
    try {
      assert.equal(schemaVersion(copy), 2);
      assert.deepEqual({ ...copy.prepare("SELECT count(*) AS n FROM message_chunks").get() }, {
        n: 2,
      });
    } finally {
      copy.close();
    }
  });
});

Deno.test("a backup that cannot be made consistent is not made, and nothing is migrated", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "mail.sqlite");
    const old = new DatabaseSync(path);
    old.exec("PRAGMA journal_mode = WAL");
    old.exec("PRAGMA wal_autocheckpoint = 0");
    old.exec(MIGRATIONS[0]!);
    old.exec(MIGRATIONS[1]!);
    old.exec("PRAGMA user_version = 2");
    // A reader in the middle of a read transaction pins the write-ahead log: it cannot be
    // folded into the file, so the file alone is not the whole database.
    const reader = new DatabaseSync(path);
    reader.exec("BEGIN");
    reader.prepare("SELECT count(*) FROM users").get();
    try {
      assert.throws(
        () => openStore(dir, { busyTimeoutMs: 20 }),
        (e) => e instanceof Error && /Cannot back up .* stayed busy/.test(e.message),
      );
      assert.deepEqual(await backups(dir), []);
      assert.equal(schemaVersion(old), 2);
    } finally {
      reader.exec("COMMIT");
      reader.close();
    }
    // Once the reader is done, the upgrade goes ahead.
    openStore(dir).close();
    assert.equal(schemaVersion(old), SCHEMA_VERSION);
    assert.equal((await backups(dir)).length, 1);
    old.close();
  });
});
