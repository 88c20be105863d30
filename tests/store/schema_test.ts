import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { openStore } from "../../src/store/sqlite_store.ts";
import { MIGRATIONS, SCHEMA_VERSION } from "../../src/store/schema.ts";
import { message, query, withTempDir } from "./_helpers.ts";

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
        "entries",
        "mailboxes",
        "message_chunks",
        "messages",
        "queue",
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
