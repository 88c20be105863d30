/**
 * Folders, UIDs, flags and mod-sequences: the rules IMAP relies on (RFC 9051 §2.3.1, RFC 7162),
 * as the SQLite store keeps them, and `mail inbox`'s changes seen as IMAP changes.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { openStore } from "../../src/store/mod.ts";
import { MIGRATIONS } from "../../src/store/schema.ts";
import { message, withStore, withTempDir } from "./_helpers.ts";

const A = "alice@example.org";

Deno.test("folders: delivery gives INBOX ascending UIDs and a new mod-sequence each", () =>
  withStore((store) => {
    store.deliver(message("q1", [A]));
    store.deliver(message("q2", [A]));
    const f = store.folders;
    const { folder, entries } = f.openFolder(A, "INBOX");
    assert.deepEqual(entries.map((e) => e.uid), [1, 2]);
    assert.equal(folder.uidNext, 3);
    assert.ok(entries[1]!.modseq > entries[0]!.modseq);
    assert.equal(folder.highestModseq, entries[1]!.modseq);
    // mail inbox lists INBOX, newest first, as before.
    assert.deepEqual(store.list(A).map((e) => e.messageId), ["q2", "q1"]);
  }));

Deno.test("folders: the default folders, special uses, and names that must not repeat", () =>
  withStore((store) => {
    const f = store.folders;
    f.ensureFolders(A);
    f.ensureFolders(A);
    assert.deepEqual(
      f.folderList(A).map((x) => [x.name, x.specialUse]),
      [["Archive", "\\Archive"], ["Drafts", "\\Drafts"], ["INBOX", null], ["Junk", "\\Junk"], [
        "Sent",
        "\\Sent",
      ], ["Trash", "\\Trash"]],
    );
    assert.throws(() => f.createFolder(A, "Sent", null), /exists/);
    f.createFolder(A, "Projects", null);
    const first = f.folderStatus(A, "Projects").uidValidity;
    f.deleteFolder(A, "Projects");
    f.createFolder(A, "Projects", null);
    // A folder made again never has the UIDVALIDITY of the one it replaces.
    assert.ok(f.folderStatus(A, "Projects").uidValidity > first);
  }));

Deno.test("folders: flags change under a new mod-sequence; UNCHANGEDSINCE refuses changed ones", () =>
  withStore((store) => {
    store.deliver(message("q1", [A]));
    store.deliver(message("q2", [A]));
    const f = store.folders;
    const { folder, entries } = f.openFolder(A, "INBOX");
    const before = folder.highestModseq;
    const r = f.setFolderFlags(folder.id, [1, 2], "add", ["\\Flagged", "$Work"]);
    assert.deepEqual(r.updated.map((e) => e.flags), [["\\Flagged", "$Work"], [
      "\\Flagged",
      "$Work",
    ]]);
    assert.ok(r.updated.every((e) => e.modseq === before + 1));
    // Adding what is there already changes nothing, and takes no mod-sequence.
    const again = f.setFolderFlags(folder.id, [1], "add", ["\\Flagged"]);
    assert.equal(again.updated[0]!.modseq, before + 1);
    const conditional = f.setFolderFlags(folder.id, [1, 2], "add", ["\\Seen"], entries[0]!.modseq);
    assert.deepEqual(conditional.modified, [1, 2]);
    const changes = f.folderChanges(folder.id, before);
    assert.deepEqual(changes.changed.map((e) => e.uid), [1, 2]);
    // \Seen is what mail inbox shows.
    f.setFolderFlags(folder.id, [2], "add", ["\\Seen"]);
    assert.equal(store.list(A).find((e) => e.messageId === "q2")?.seen, true);
  }));

Deno.test("folders: mail inbox's seen and delete are IMAP changes (modseq, expunged UIDs)", () =>
  withStore((store) => {
    store.deliver(message("q1", [A]));
    store.deliver(message("q2", [A]));
    const f = store.folders;
    const { folder } = f.openFolder(A, "INBOX");
    const [newest, oldest] = store.list(A);
    assert.ok(store.setSeen(A, oldest!.id, true));
    assert.ok(store.remove(A, newest!.id));
    const changes = f.folderChanges(folder.id, folder.highestModseq);
    assert.deepEqual(changes.changed.map((e) => [e.uid, e.flags]), [[1, ["\\Seen"]]]);
    assert.deepEqual(changes.expunged, [2]);
    assert.equal(changes.folder.highestModseq, folder.highestModseq + 2);
    // UIDs are never reused.
    store.deliver(message("q3", [A]));
    assert.deepEqual(f.openFolder(A, "INBOX").entries.map((e) => e.uid), [1, 3]);
  }));

Deno.test("folders: APPEND, COPY, MOVE and EXPUNGE keep UIDs, flags and the message once", () =>
  withStore((store) => {
    const f = store.folders;
    f.ensureFolders(A);
    const bytes = new TextEncoder().encode("Subject: draft\r\n\r\nx\r\n");
    const m = message("d1", [A], bytes);
    const appended = f.appendMessage(A, "Drafts", m, ["\\Draft", "\\Seen"]);
    assert.equal(appended.uid, 1);
    const drafts = f.openFolder(A, "Drafts");
    assert.deepEqual(drafts.entries[0]!.flags, ["\\Seen", "\\Draft"]);
    assert.deepEqual(f.folderContent(drafts.folder.id, 1)?.bytes, bytes);
    // Appended mail is not in INBOX.
    assert.equal(store.count(A).total, 0);
    const copied = f.copyMessages(drafts.folder.id, [1], A, "Archive", false);
    assert.deepEqual(copied.target, [1]);
    const moved = f.copyMessages(drafts.folder.id, [1], A, "Trash", true);
    assert.deepEqual([moved.source, moved.target], [[1], [1]]);
    assert.equal(f.folderStatus(A, "Drafts").messages, 0);
    assert.deepEqual(f.folderChanges(drafts.folder.id, drafts.folder.highestModseq).expunged, [1]);
    const trash = f.openFolder(A, "Trash");
    assert.deepEqual(f.expungeMessages(trash.folder.id, [1]), [], "not \\Deleted: kept");
    f.setFolderFlags(trash.folder.id, [1], "add", ["\\Deleted"]);
    assert.deepEqual(f.expungeMessages(trash.folder.id, [1]), [1]);
    // The copy in Archive still holds the message.
    const archive = f.openFolder(A, "Archive");
    assert.deepEqual(f.folderContent(archive.folder.id, 1)?.bytes, bytes);
    assert.throws(() => f.copyMessages(archive.folder.id, [1], A, "Nowhere", false), /No folder/);
  }));

Deno.test("folders: RENAME moves a folder with its children; renaming INBOX moves its mail", () =>
  withStore((store) => {
    const f = store.folders;
    f.ensureFolders(A);
    store.deliver(message("q1", [A]));
    f.createFolder(A, "Work", null);
    f.createFolder(A, "Work/2026", null);
    f.renameFolder(A, "Work", "Jobs");
    const names = f.folderList(A).map((x) => x.name);
    assert.ok(names.includes("Jobs") && names.includes("Jobs/2026") && !names.includes("Work"));
    f.renameFolder(A, "INBOX", "Old mail");
    assert.equal(f.folderStatus(A, "INBOX").messages, 0);
    assert.equal(f.folderStatus(A, "Old mail").messages, 1);
    assert.throws(() => f.renameFolder(A, "Jobs", "Sent"), /exists/);
  }));

Deno.test("folders: migration 4 puts existing mail in INBOX with its order and seen state", () =>
  withTempDir((dir) => {
    // A database as schema 3 left it, with two messages, one seen.
    const db = new DatabaseSync(`${dir}/mail.sqlite`);
    for (const m of MIGRATIONS.slice(0, 3)) db.exec(m);
    db.exec("PRAGMA user_version = 3");
    db.exec("INSERT INTO mailboxes (address, created_at) VALUES ('alice@example.org', 0)");
    db.exec(`INSERT INTO messages (queue_id, sender, size, received_at, body)
      VALUES ('a', '', 1, 0, X'41'), ('b', '', 1, 0, X'42')`);
    db.exec(`INSERT INTO entries (mailbox_id, message_id, seen, received_at)
      VALUES (1, 1, 1, 0), (1, 2, 0, 0)`);
    db.close();
    const store = openStore(dir);
    try {
      const { folder, entries } = store.folders.openFolder(A, "INBOX");
      assert.deepEqual(entries.map((e) => [e.uid, e.flags]), [[1, ["\\Seen"]], [2, []]]);
      assert.equal(folder.uidNext, 3);
      assert.deepEqual(store.count(A), { total: 2, unseen: 1 });
      store.deliver(message("q3", [A]));
      assert.deepEqual(store.folders.openFolder(A, "INBOX").entries.map((e) => e.uid), [1, 2, 3]);
    } finally {
      store.close();
    }
  }));

Deno.test("a new folder's UIDVALIDITY comes from the counter alone, not from a read of every folder", () =>
  withStore((store) => {
    // The counter records every UIDVALIDITY given, so the folders need not be read: reading
    // them made each new mailbox (a catch-all's first mail) cost a pass over every folder.
    // A folder row above the counter cannot happen; planted here, it shows which one is read.
    store.deliver(message("q1", [A]));
    const db = new DatabaseSync(store.path);
    try {
      const counter = (db.prepare(
        "SELECT value FROM counters WHERE name = 'uid_validity'",
      ).get() as { value: number }).value;
      db.prepare("UPDATE folders SET uid_validity = ? WHERE name = 'INBOX'").run(counter + 1000);
      store.deliver(message("q2", ["bob@example.org"]));
      const made = db.prepare(
        "SELECT uid_validity AS v FROM folders f JOIN mailboxes m ON m.id = f.mailbox_id " +
          "WHERE m.address = 'bob@example.org'",
      ).get() as { v: number };
      assert.ok(made.v > counter && made.v < counter + 1000, `${made.v} after ${counter}`);
    } finally {
      db.close();
    }
  }));
