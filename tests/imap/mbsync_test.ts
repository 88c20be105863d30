/**
 * A full two-way sync of an account with a local Maildir by mbsync (Debian's isync), an
 * independent client in C that keeps its own record of UIDs and UIDVALIDITY: every folder down
 * (nested ones too), local flag changes, deletions, new messages and a new folder back up, the
 * server's news down again, and a last run that finds nothing to do.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startLiveServer } from "../_helpers/live_server.ts";
import { TEST_PASSWORD } from "../_helpers/session_peer.ts";
import { CA_FILE, deliver, fixtureTls, runClient } from "../_helpers/imap_clients.ts";
import type { Store } from "../../src/store/mod.ts";

const ADDRESS = "alice@example.test";

/**
 * mbsync's configuration: STARTTLS with the fixture certificate as the CA (mbsync checks the
 * name against Host, and the certificate names localhost), every folder, both ways.
 */
function config(dir: string, port: number): string {
  return `IMAPAccount mail
Host localhost
Port ${port}
User ${ADDRESS}
Pass ${TEST_PASSWORD}
SSLType STARTTLS
CertificateFile ${CA_FILE}
Timeout 60

IMAPStore far
Account mail

MaildirStore near
Path ${dir}/mail/
Inbox ${dir}/mail/INBOX
SubFolders Verbatim

Channel all
Far :far:
Near :near:
Patterns *
Create Both
Remove Both
Expunge Both
SyncState *
`;
}

/** One message of the Maildir: its folder, the server's UID for it (from mbsync's state), flags and text. */
interface Local {
  readonly folder: string;
  readonly path: string;
  readonly uid: number | undefined;
  readonly flags: string;
  readonly text: string;
}

/**
 * mbsync's record of a folder (its .mbsyncstate): the server's UIDVALIDITY, and for each local
 * message (by the Maildir's own UID, in its file name) the server's UID.
 */
async function syncState(path: string): Promise<{ uidValidity: number; far: Map<number, number> }> {
  const text = await Deno.readTextFile(join(path, ".mbsyncstate"));
  const far = new Map<number, number>();
  for (const [, f, n] of text.matchAll(/^(\d+) (\d+) /gm)) far.set(Number(n), Number(f));
  return { uidValidity: Number(/^FarUidValidity (\d+)$/m.exec(text)?.[1]), far };
}

/** Every message in the Maildir under ROOT (new/ and cur/ of each folder, nested ones too). */
async function maildir(root: string, folder = ""): Promise<Local[]> {
  const out: Local[] = [];
  const here = join(root, folder);
  const state = folder ? await syncState(here).catch(() => undefined) : undefined;
  for await (const e of Deno.readDir(here)) {
    if (!e.isDirectory) continue;
    if (e.name === "new" || e.name === "cur") {
      for await (const m of Deno.readDir(join(here, e.name))) {
        const path = join(here, e.name, m.name);
        const near = Number(/,U=(\d+)/.exec(m.name)?.[1]);
        out.push({
          folder,
          path,
          uid: state?.far.get(near),
          flags: /:2,([A-Z]*)$/.exec(m.name)?.[1] ?? "",
          // mbsync marks what it copies with a header of its own, X-TUID, to find it again
          // after an interrupted run; it is not part of the message.
          text: (await Deno.readTextFile(path)).replace(/^X-TUID: .*\n/m, ""),
        });
      }
    } else if (e.name !== "tmp") {
      out.push(...await maildir(root, folder ? `${folder}/${e.name}` : e.name));
    }
  }
  return out.sort((a, b) => `${a.folder} ${a.uid}`.localeCompare(`${b.folder} ${b.uid}`));
}

/** What the server keeps in FOLDER: UID, flags (sorted) and the message as text. */
function server(store: Store, folder: string) {
  const { folder: row, entries } = store.folders.openFolder(ADDRESS, folder);
  return entries.map((e) => ({
    uid: e.uid,
    flags: [...e.flags].sort(),
    text: new TextDecoder().decode(store.folders.folderContent(row.id, e.uid)!.bytes),
  }));
}

const lf = (s: string) => s.replaceAll("\r\n", "\n");

/** A server message without the X-TUID header mbsync adds to what it uploads. */
const withoutTuid = <T extends { text: string }>(m: T): T => ({
  ...m,
  text: m.text.replace(/^X-TUID: .*\r\n/m, ""),
});

Deno.test("mbsync: a two-way sync of every folder with a local Maildir, and back", async () => {
  const live = await startLiveServer({}, fixtureTls(), undefined, { imap: true });
  const dir = await Deno.makeTempDir({ prefix: "mail-mbsync-" });
  const root = join(dir, "mail");
  const store = live.store;
  try {
    await Deno.mkdir(root);
    await Deno.writeTextFile(join(dir, "mbsyncrc"), config(dir, live.imapPort));
    const sync = async (what: string) => {
      // HOME: mbsync must not read or write anything of the user running the tests.
      const r = await runClient("mbsync", ["--config", join(dir, "mbsyncrc"), "--all"], {
        env: { HOME: dir },
        package: "isync",
      });
      assert.equal(r.code, 0, `mbsync (${what}) failed:\n${r.out}\n${r.err}`);
    };

    // The server: three messages in INBOX, one flagged, one moved to Archive, one copied into
    // a nested folder.
    await deliver(live.port, ADDRESS, "Subject: alpha\r\n\r\nfirst\r\n");
    await deliver(live.port, ADDRESS, "Subject: beta\r\n\r\nsecond\r\n.dot\r\n");
    await deliver(live.port, ADDRESS, "Subject: gamma\r\n\r\nthird\r\n");
    const inbox = store.folders.openFolder(ADDRESS, "INBOX").folder;
    store.folders.setFolderFlags(inbox.id, [1], "add", ["\\Flagged"]);
    store.folders.copyMessages(inbox.id, [3], ADDRESS, "Archive", true);
    store.folders.createFolder(ADDRESS, "Projects", null);
    store.folders.createFolder(ADDRESS, "Projects/Work", null);
    store.folders.copyMessages(inbox.id, [2], ADDRESS, "Projects/Work", false);
    const before = server(store, "INBOX");

    // 1. Down: every folder, each message as the server has it (Maildir keeps LF line ends).
    await sync("first");
    let local = await maildir(root);
    const folders = new Set<string>();
    for await (const e of Deno.readDir(root)) if (e.isDirectory) folders.add(e.name);
    for (const f of ["INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive", "Projects"]) {
      assert.ok(folders.has(f), `${f} not synced: ${[...folders]}`);
    }
    const summary = (ls: Local[]) => ls.map((m) => `${m.folder} ${m.uid} ${m.flags}`);
    assert.deepEqual(summary(local), [
      "Archive 1 ",
      "INBOX 1 F",
      "INBOX 2 ",
      "Projects/Work 1 ",
    ]);
    for (const m of local) {
      const there = server(store, m.folder).find((s) => s.uid === m.uid)!;
      assert.equal(m.text, lf(there.text), `${m.folder} ${m.uid}`);
    }
    assert.match(local.find((m) => m.folder === "Archive")!.text, /Subject: gamma/);
    // mbsync keeps each folder's UIDVALIDITY: it is the server's.
    for (const f of store.folders.folderList(ADDRESS)) {
      if (f.name === "Projects") continue;
      assert.equal((await syncState(join(root, f.name))).uidValidity, f.uidValidity, f.name);
    }
    // mbsync only read: nothing changed on the server.
    assert.deepEqual(server(store, "INBOX"), before);

    // 2. Up: read and flagged, one trashed, one deleted, a new message, a new folder.
    const [alpha, beta] = local.filter((m) => m.folder === "INBOX");
    await Deno.rename(alpha!.path, alpha!.path.replace(/:2,F$/, ":2,FS").replace("/new/", "/cur/"));
    await Deno.rename(beta!.path, beta!.path.replace(/:2,$/, ":2,T").replace("/new/", "/cur/"));
    await Deno.remove(local.find((m) => m.folder === "Archive")!.path);
    await Deno.writeTextFile(
      join(root, "INBOX", "new", "1700000000.local1.host"),
      "Subject: written here\nFrom: alice@example.test\n\nOffline.\n.leading dot\n",
    );
    for (const sub of ["cur", "new", "tmp"]) {
      await Deno.mkdir(join(root, "Local", sub), { recursive: true });
    }
    await Deno.writeTextFile(
      join(root, "Local", "cur", "1700000001.local2.host:2,S"),
      "Subject: kept locally\n\nIn a folder of my own.\n",
    );
    await sync("second");

    assert.deepEqual(server(store, "INBOX").map((m) => [m.uid, m.flags]), [
      [1, ["\\Flagged", "\\Seen"]],
      // Trashed locally: \Deleted, then expunged (Expunge Both).
      [4, []],
    ]);
    const written = server(store, "INBOX")[1]!;
    // Back as CRLF, and as written, but for mbsync's X-TUID (it adds one to what it uploads,
    // whether or not the server answers APPENDUID, as ours did).
    assert.equal(
      withoutTuid(written).text,
      "Subject: written here\r\nFrom: alice@example.test\r\n\r\nOffline.\r\n.leading dot\r\n",
    );
    assert.deepEqual(server(store, "Archive"), []);
    assert.deepEqual(server(store, "Local").map(withoutTuid), [{
      uid: 1,
      flags: ["\\Seen"],
      text: "Subject: kept locally\r\n\r\nIn a folder of my own.\r\n",
    }]);
    assert.equal(server(store, "Projects/Work").length, 1);
    // The message only trashed in INBOX is still in Projects/Work.
    assert.match(server(store, "Projects/Work")[0]!.text, /Subject: beta/);

    // 3. Down again: a new delivery and a flag set on the server.
    await deliver(live.port, ADDRESS, "Subject: delta\r\n\r\nfourth\r\n");
    store.folders.setFolderFlags(inbox.id, [4], "add", ["\\Answered"]);
    await sync("third");
    local = await maildir(root);
    assert.deepEqual(summary(local.filter((m) => m.folder === "INBOX")), [
      "INBOX 1 FS",
      "INBOX 4 R",
      "INBOX 5 ",
    ]);
    assert.equal(
      local.find((m) => m.folder === "INBOX" && m.uid === 5)!.text,
      lf(server(store, "INBOX")[2]!.text),
    );
    assert.deepEqual(summary(local.filter((m) => m.folder === "Local")), ["Local 1 S"]);

    // 4. Nothing left to do: the server's mod-sequences and the Maildir stay as they are.
    const modseqs = () =>
      store.folders.folderList(ADDRESS).map((f) =>
        `${f.name} ${store.folders.folderStatus(ADDRESS, f.name).highestModseq}`
      );
    const was = modseqs();
    await sync("fourth");
    assert.deepEqual(modseqs(), was);
    assert.deepEqual((await maildir(root)).map((m) => m.path), local.map((m) => m.path));
  } finally {
    await live.close();
    await Deno.remove(dir, { recursive: true });
  }
});
