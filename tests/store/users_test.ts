import assert from "node:assert/strict";
import { StoreError } from "../../src/store/mod.ts";
import { message, withStore } from "./_helpers.ts";

Deno.test("users: add, exists, hash, set hash, list, remove", () =>
  withStore((store) => {
    const before = Date.now();
    store.addUser("b@example.org", "hash-b");
    store.addUser("a@example.org", "hash-a");
    assert.equal(store.userExists("a@example.org"), true);
    assert.equal(store.userExists("c@example.org"), false);
    assert.equal(store.mailboxExists("a@example.org"), true);
    assert.equal(store.passwordHash("a@example.org"), "hash-a");
    assert.equal(store.passwordHash("c@example.org"), undefined);

    assert.equal(store.setPasswordHash("a@example.org", "hash-a2"), true);
    assert.equal(store.passwordHash("a@example.org"), "hash-a2");
    assert.equal(store.setPasswordHash("c@example.org", "x"), false);

    const users = store.listUsers();
    assert.deepEqual(users.map((u) => u.address), ["a@example.org", "b@example.org"]);
    assert.ok(users.every((u) => u.createdAt >= before && u.createdAt <= Date.now()));
    assert.ok(users.every((u) => !("passwordHash" in u)));

    assert.equal(store.removeUser("b@example.org"), true);
    assert.equal(store.removeUser("b@example.org"), false);
    assert.equal(store.userExists("b@example.org"), false);
    assert.deepEqual(store.listUsers().map((u) => u.address), ["a@example.org"]);
  }));

Deno.test("adding an existing user fails with exists", () =>
  withStore((store) => {
    store.addUser("a@example.org", "one");
    assert.throws(
      () => store.addUser("a@example.org", "two"),
      (e) => e instanceof StoreError && e.kind === "exists",
    );
    assert.equal(store.passwordHash("a@example.org"), "one");
  }));

Deno.test("removing a user keeps the mailbox readable; re-adding reuses it", () =>
  withStore((store) => {
    store.addUser("a@example.org", "h");
    store.deliver(message("q1", ["a@example.org"], "kept", { createMailboxes: false }));
    store.removeUser("a@example.org");

    assert.equal(store.mailboxExists("a@example.org"), true);
    assert.deepEqual(store.mailboxes(), ["a@example.org"]);
    const [entry] = store.list("a@example.org");
    assert.ok(entry);
    assert.equal(new TextDecoder().decode(store.read("a@example.org", entry.id)), "kept");

    store.addUser("a@example.org", "h2");
    assert.equal(store.count("a@example.org").total, 1);
  }));

Deno.test("a catch-all mailbox can become a user's", () =>
  withStore((store) => {
    store.deliver(message("q1", ["a@example.org"]));
    store.addUser("a@example.org", "h");
    assert.equal(store.userExists("a@example.org"), true);
    assert.equal(store.count("a@example.org").total, 1);
  }));
