/**
 * The store backend's answer to "what changed since N" is shared by the sessions that ask it in
 * the same turn (a delivery wakes every client idling on the folder), and a change made through
 * the backend is never hidden by a shared answer.
 */
import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import type { Authenticator } from "../../src/server/authenticator.ts";
import { StoreImapBackend } from "../../src/server/imap_backend.ts";
import { message, withStore } from "../store/_helpers.ts";

const account = { address: "c@example.org" };

Deno.test("changes: sessions asking with the same mod-sequence in one turn cost one query", () =>
  withStore(async (store) => {
    const backend = new StoreImapBackend(store, {} as Authenticator);
    store.deliver(message("c1", [account.address]));
    const { folder } = store.folders.openFolder(account.address, "INBOX");
    const before = folder.highestModseq;
    store.deliver(message("c2", [account.address]));
    let queries = 0;
    const real = store.folders.folderChanges.bind(store.folders);
    store.folders.folderChanges = (id, modseq) => {
      queries++;
      return real(id, modseq);
    };
    const answers = Array.from({ length: 100 }, () => backend.changes(account, folder.id, before));
    assert.equal(queries, 1);
    assert.ok(answers.every((a) => a.changed.map((m) => m.uid).join() === "2"));
    // The next turn asks the store again: a change made by another process is news then.
    await new Promise((resolve) => setImmediate(resolve));
    backend.changes(account, folder.id, before);
    assert.equal(queries, 2);
  }));

Deno.test("changes: a change made through the backend is in the next answer, in the same turn", () =>
  withStore(async (store) => {
    const backend = new StoreImapBackend(store, {} as Authenticator);
    store.deliver(message("d1", [account.address]));
    const { folder } = store.folders.openFolder(account.address, "INBOX");
    const seen = folder.highestModseq;
    assert.deepEqual(backend.changes(account, folder.id, seen).changed, []);
    await backend.store(account, folder.id, [1], "add", ["\\Flagged"]);
    const after = backend.changes(account, folder.id, seen);
    assert.deepEqual(after.changed.map((m) => [m.uid, m.flags]), [[1, ["\\Flagged"]]]);
    await backend.store(account, folder.id, [1], "add", ["\\Deleted"]);
    await backend.expunge(account, folder.id, [1]);
    assert.deepEqual(backend.changes(account, folder.id, seen).expunged, [1]);
  }));
