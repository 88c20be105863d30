import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { databasePath, openStore, StoreError } from "../../src/store/mod.ts";
import { withTempDir } from "./_helpers.ts";

const isKind = (kind: StoreError["kind"], pattern?: RegExp) => (e: unknown) =>
  e instanceof StoreError && e.kind === kind && (pattern === undefined || pattern.test(e.message));

Deno.test("mustExist on an empty directory is not-found and creates nothing", () =>
  withTempDir((dir) => {
    assert.throws(() => openStore(dir, { mustExist: true }), isKind("not-found", /mail\.sqlite/));
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  }));

Deno.test("a new directory gets mail.sqlite; one an earlier build made keeps its mail.db", () =>
  withTempDir((dir) => {
    const fresh = `${dir}/fresh`;
    const store = openStore(fresh);
    store.addUser("a@example.test", "x");
    store.close();
    assert.equal(databasePath(fresh), `${fresh}/mail.sqlite`);

    // An earlier build's directory: the same database under the old name.
    const old = `${dir}/old`;
    Deno.mkdirSync(old);
    Deno.renameSync(`${fresh}/mail.sqlite`, `${old}/mail.db`);
    assert.equal(databasePath(old), `${old}/mail.db`);
    const reopened = openStore(old);
    try {
      assert.equal(reopened.userExists("a@example.test"), true);
    } finally {
      reopened.close();
    }
    assert.deepEqual([...Deno.readDirSync(old)].map((e) => e.name), ["mail.db"]);
  }));

Deno.test("mustExist on a missing directory is not-found", () =>
  withTempDir((dir) => {
    assert.throws(
      () => openStore(`${dir}/missing`, { mustExist: true }),
      isKind("not-found", /missing/),
    );
    assert.throws(() => Deno.statSync(`${dir}/missing`), Deno.errors.NotFound);
  }));

Deno.test("mustExist opens an existing database", () =>
  withTempDir((dir) => {
    openStore(dir).close();
    const store = openStore(dir, { mustExist: true });
    assert.deepEqual(store.mailboxes(), []);
    store.close();
  }));

Deno.test("a file that is not a database is corrupt, named in the message", () =>
  withTempDir((dir) => {
    Deno.writeTextFileSync(`${dir}/mail.sqlite`, "This is not SQLite.\n".repeat(500));
    assert.throws(
      () => openStore(dir),
      isKind("corrupt", new RegExp(`${dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/mail\\.sqlite`)),
    );
    // Left untouched for the operator to inspect.
    assert.equal(Deno.readTextFileSync(`${dir}/mail.sqlite`), "This is not SQLite.\n".repeat(500));
  }));

Deno.test("a database from a newer program is refused", () =>
  withTempDir((dir) => {
    openStore(dir).close();
    const db = new DatabaseSync(`${dir}/mail.sqlite`);
    db.exec("PRAGMA user_version = 999");
    db.close();
    assert.throws(() => openStore(dir), isKind("corrupt", /newer/));
  }));

Deno.test(
  "an unwritable data directory is an io error",
  { ignore: Deno.build.os === "windows" || Deno.uid() === 0 },
  () =>
    withTempDir((dir) => {
      Deno.chmodSync(dir, 0o500);
      try {
        assert.throws(() => openStore(`${dir}/sub`), isKind("io"));
        assert.throws(() => openStore(dir), isKind("io"));
      } finally {
        Deno.chmodSync(dir, 0o700);
      }
    }),
);

Deno.test("a data directory path that is a file is an io error", () =>
  withTempDir((dir) => {
    Deno.writeTextFileSync(`${dir}/file`, "");
    assert.throws(() => openStore(`${dir}/file`), isKind("io", /file/));
    assert.throws(() => openStore(`${dir}/file/sub`), isKind("io"));
  }));

Deno.test("options are validated", () =>
  withTempDir((dir) => {
    assert.throws(() => openStore(dir, { busyTimeoutMs: -1 }), RangeError);
    assert.throws(() => openStore(dir, { busyTimeoutMs: 1.5 }), RangeError);
  }));
