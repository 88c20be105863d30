/** Before migrations change an existing database, a copy is made next to it (VACUUM INTO). */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { backupBeforeMigrate, backupPath } from "../../src/store/backup.ts";
import { MIGRATIONS, SCHEMA_VERSION, schemaVersion } from "../../src/store/schema.ts";
import { openStore } from "../../src/store/mod.ts";
import { deliver, stored, trickyMessages, withTempDir } from "./_helpers.ts";

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
