/**
 * Subscriptions in the store, as in Dovecot 2.3: names kept apart from folders, so that DELETE
 * and RENAME leave a subscribed name subscribed (RFC 9051 §6.3.7) and LIST (SUBSCRIBED) shows
 * it \NonExistent (RFC 5258 §3.1); the default folders are subscribed, a CREATEd one is not; an
 * older database's subscriptions are carried over. Then `mail serve` driven by Python's imaplib:
 * LIST (SUBSCRIBED) and LSUB of a deleted folder's name, and LSUB "" % of a subscribed child
 * (RFC 3501 §6.3.9); and the bound on how many names an account keeps subscribed.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { python } from "../_helpers/python.ts";
import { startLiveServer } from "../_helpers/live_server.ts";
import { LineSocket } from "../_helpers/smtp_socket.ts";
import { TEST_PASSWORD } from "../_helpers/session_peer.ts";
import { MAX_SUBSCRIPTIONS } from "../../src/imap/session_folders.ts";
import type { Authenticator } from "../../src/server/authenticator.ts";
import { StoreImapBackend } from "../../src/server/imap_backend.ts";
import { SUBSCRIPTIONS_MIGRATION } from "../../src/store/folders.ts";
import { openStore } from "../../src/store/mod.ts";
import { MIGRATIONS } from "../../src/store/schema.ts";
import { message, withStore, withTempDir } from "../store/_helpers.ts";

const DEFAULTS = ["Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"];

Deno.test("subscriptions: by name, outliving DELETE and RENAME; a CREATEd folder is not subscribed", () =>
  withStore(async (store) => {
    const backend = new StoreImapBackend(store, {} as Authenticator);
    const alice = { address: "alice@example.org" };
    store.folders.ensureFolders(alice.address);
    assert.deepEqual(await backend.subscriptions(alice), DEFAULTS);
    await backend.createFolder(alice, "Ghost");
    assert.equal((await backend.folders(alice)).find((f) => f.name === "Ghost")?.subscribed, false);
    await backend.subscribe(alice, "Ghost", true);
    await backend.subscribe(alice, "Ghost", true);
    assert.equal((await backend.folders(alice)).find((f) => f.name === "Ghost")?.subscribed, true);
    await backend.deleteFolder(alice, "Ghost");
    assert.ok(!(await backend.folders(alice)).some((f) => f.name === "Ghost"));
    assert.deepEqual(await backend.subscriptions(alice), [...DEFAULTS, "Ghost"].sort());
    // Made again, it is subscribed again.
    await backend.createFolder(alice, "Ghost");
    assert.equal((await backend.folders(alice)).find((f) => f.name === "Ghost")?.subscribed, true);
    // RENAME: the old name stays subscribed, the new one is not.
    await backend.createFolder(alice, "Old");
    await backend.createFolder(alice, "Old/Kid");
    await backend.subscribe(alice, "Old/Kid", true);
    await backend.renameFolder(alice, "Old", "New");
    const folders = await backend.folders(alice);
    assert.equal(folders.find((f) => f.name === "New/Kid")?.subscribed, false);
    assert.ok((await backend.subscriptions(alice)).includes("Old/Kid"));
    // UNSUBSCRIBE of any name.
    await backend.subscribe(alice, "Old/Kid", false);
    await backend.subscribe(alice, "Never", false);
    assert.deepEqual(await backend.subscriptions(alice), [...DEFAULTS, "Ghost"].sort());
    // A mailbox made by a delivery has its INBOX subscribed; one made by `mail user add`, all
    // its default folders.
    store.deliver(message("s1", ["bob@example.org"]));
    assert.deepEqual(await backend.subscriptions({ address: "bob@example.org" }), ["INBOX"]);
    store.addUser("carol@example.org", "a long enough password");
    assert.deepEqual(await backend.subscriptions({ address: "carol@example.org" }), DEFAULTS);
  }));

Deno.test("subscriptions: a database from before the subscriptions table keeps its folders' ones", () =>
  withTempDir((dir) => {
    const first = openStore(dir);
    first.folders.ensureFolders("alice@example.org");
    first.folders.createFolder("alice@example.org", "Lists", null);
    first.close();
    // As the migration before found it: the folders' own column says which are subscribed.
    const db = new DatabaseSync(`${dir}/mail.sqlite`);
    db.exec(`DROP TABLE subscriptions;
      UPDATE folders SET subscribed = CASE WHEN name IN ('Junk', 'Lists') THEN 0 ELSE 1 END;
      PRAGMA user_version = ${MIGRATIONS.indexOf(SUBSCRIPTIONS_MIGRATION)}`);
    db.close();
    const store = openStore(dir);
    try {
      assert.deepEqual(
        store.folders.subscriptions("alice@example.org"),
        ["Archive", "Drafts", "INBOX", "Sent", "Trash"],
      );
    } finally {
      store.close();
    }
  }));

const CLIENT = `
import imaplib, sys, json
port, password = int(sys.argv[1]), sys.argv[2]
m = imaplib.IMAP4("127.0.0.1", port)
m.login("alice@example.test", password)
out = {}
def lines(typ, data):
    return [typ] + [d.decode() for d in data if d]
def command(name, *args):
    typ, data = m._simple_command(name, *args)
    return lines(typ, m._untagged_response(typ, data, name)[1])
out["create"] = m.create("Ghost")[0]
out["subscribe"] = m.subscribe("Ghost")[0]
out["delete"] = m.delete("Ghost")[0]
out["subscribed"] = command("LIST", "(SUBSCRIBED)", '""', "G*")
out["lsub"] = lines(*m.lsub('""', "G*"))
out["missing"] = m.subscribe("Nope")[0]
out["create2"] = m.create("Work/2026")[0]
m.subscribe("Work/2026")
out["lsub_percent"] = lines(*m.lsub('""', "W%"))
out["recursive"] = command("LIST", "(SUBSCRIBED RECURSIVEMATCH)", '""', "W%")
m.logout()
print(json.dumps(out))
`;

Deno.test("subscriptions: imaplib against mail serve sees a deleted folder's name and a subscribed child's parent", async () => {
  const live = await startLiveServer({ allowInsecureAuth: true }, undefined, undefined, {
    imap: true,
  });
  try {
    const r = await python(CLIENT, [String(live.imapPort), TEST_PASSWORD]);
    assert.equal(r.code, 0, r.err);
    const out = JSON.parse(r.out);
    assert.equal(out.create, "OK");
    assert.equal(out.subscribe, "OK");
    assert.equal(out.delete, "OK");
    assert.deepEqual(out.subscribed, ["OK", '(\\NonExistent \\Subscribed) "/" Ghost']);
    assert.deepEqual(out.lsub, ["OK", '(\\Noselect \\Subscribed) "/" Ghost']);
    assert.equal(out.missing, "NO");
    assert.deepEqual(out.lsub_percent, ["OK", '(\\Noselect) "/" Work']);
    assert.deepEqual(out.recursive, ["OK", '() "/" Work ("CHILDINFO" ("SUBSCRIBED"))']);
  } finally {
    await live.close();
  }
});

Deno.test("subscriptions: at most MAX_SUBSCRIPTIONS names; then SUBSCRIBE is refused with [LIMIT]", async () => {
  const live = await startLiveServer({ allowInsecureAuth: true }, undefined, undefined, {
    imap: true,
  });
  try {
    // Names of folders long gone fill the list (made here at once, in one transaction).
    const db = new DatabaseSync(live.store.path);
    db.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
      INSERT OR IGNORE INTO subscriptions (mailbox_id, name)
      SELECT m.id, 'Gone/' || n.i FROM mailboxes m, n WHERE m.address = 'alice@example.test'`);
    db.close();
    const s = await LineSocket.connect(live.imapPort);
    await s.readLine();
    const command = async (tag: string, line: string) => {
      await s.send(`${tag} ${line}\r\n`);
      for (;;) {
        const l = await s.readLine();
        if (l === undefined) throw new Error("Closed");
        if (l.startsWith(`${tag} `)) return l;
      }
    };
    assert.match(await command("a1", `LOGIN alice@example.test ${TEST_PASSWORD}`), /^a1 OK/);
    assert.ok(live.store.folders.subscriptions("alice@example.test").length > MAX_SUBSCRIPTIONS);
    assert.equal(await command("a2", "CREATE Work"), "a2 OK CREATE completed");
    assert.equal(await command("a3", "SUBSCRIBE Work"), "a3 NO [LIMIT] Too many subscriptions");
    // A name subscribed already may be subscribed again; one unsubscribed makes no room here.
    assert.equal(await command("a4", "SUBSCRIBE INBOX"), "a4 OK SUBSCRIBE completed");
    assert.equal(await command("a5", "UNSUBSCRIBE Gone/1"), "a5 OK UNSUBSCRIBE completed");
    assert.equal(await command("a6", "SUBSCRIBE Work"), "a6 NO [LIMIT] Too many subscriptions");
    s.close();
  } finally {
    await live.close();
  }
});
