/**
 * The in-memory IMAP backend the session tests stand on (tests/_helpers/memory_imap.ts): it
 * must keep the model of src/imap/backend.ts exactly, or the session tests prove nothing.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type Account,
  DEFAULT_FOLDERS,
  type FolderChanges,
  ImapBackendError,
  type MessageMeta,
} from "../../src/imap/backend.ts";
import { MemoryImapBackend } from "../_helpers/memory_imap.ts";

const alice: Account = { address: "alice" };
const bob: Account = { address: "bob" };
const enc = new TextEncoder();
const msg = (subject: string, body = "Hello\r\n") =>
  enc.encode(`From: a@example.test\r\nSubject: ${subject}\r\n\r\n${body}`);
const date = new Date(Date.UTC(2026, 0, 1));

/** Lets queued microtasks (watch listeners) run. */
const drain = () => new Promise<void>((resolve) => queueMicrotask(() => queueMicrotask(resolve)));

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ImapBackendError) return e.code;
    throw e;
  }
  throw new Error("Expected an ImapBackendError");
}

/** Synchronous answers (the backend is built without `async`). */
function sync<T>(v: T | Promise<T>): T {
  assert.ok(!(v instanceof Promise), "Expected a synchronous answer");
  return v as T;
}

function backend() {
  const b = new MemoryImapBackend();
  const inbox = b.folderId("alice", "INBOX");
  return { b, inbox };
}

function append(b: MemoryImapBackend, folder: string, flags: string[] = [], who = alice) {
  return sync(b.append(who, folder, msg("x"), flags, date));
}

Deno.test("memory backend: every account has the default folders, subscribed, apart", () => {
  const b = new MemoryImapBackend();
  for (const who of [alice, bob]) {
    const folders = sync(b.folders(who));
    assert.deepEqual(
      folders.map((f) => [f.name, f.specialUse, f.subscribed]),
      [...DEFAULT_FOLDERS].map(([n, u]) => [n, u, true]).sort((x, y) =>
        String(x[0]) < String(y[0]) ? -1 : 1
      ),
    );
  }
  // UIDVALIDITY differs between every folder of the backend.
  const validities = new Set<number>();
  for (const who of [alice, bob]) {
    for (const [name] of DEFAULT_FOLDERS) validities.add(sync(b.status(who, name)).uidValidity);
  }
  assert.equal(validities.size, DEFAULT_FOLDERS.length * 2);
  // Bob's folder is not Alice's to read.
  const bobInbox = b.folderId("bob", "INBOX");
  assert.equal(code(() => b.changes(alice, bobInbox, 0)), "NONEXISTENT");
  assert.equal(code(() => b.content(alice, bobInbox, 1, false)), "NONEXISTENT");
});

Deno.test("memory backend: authenticate checks the fixed table, names in any case", () => {
  const b = new MemoryImapBackend();
  assert.deepEqual(sync(b.authenticate("Alice", "pw", "127.0.0.1")), { address: "alice" });
  assert.equal(sync(b.authenticate("alice", "PW", "127.0.0.1")), undefined);
  assert.equal(sync(b.authenticate("carol", "pw", "127.0.0.1")), undefined);
  const c = new MemoryImapBackend({ users: { "Carol@Example.Test": "s3cret" } });
  assert.deepEqual(sync(c.authenticate("carol@example.test", "s3cret", "x")), {
    address: "carol@example.test",
  });
});

Deno.test("memory backend: appends take ascending UIDs and a mod-sequence each", () => {
  const { b } = backend();
  const s0 = sync(b.status(alice, "INBOX"));
  assert.deepEqual(
    { ...s0, uidValidity: 0 },
    {
      uidValidity: 0,
      uidNext: 1,
      messages: 0,
      unseen: 0,
      deleted: 0,
      size: 0,
      highestModseq: 1,
    },
  );
  assert.deepEqual(append(b, "INBOX"), { uidValidity: s0.uidValidity, uid: 1 });
  assert.deepEqual(append(b, "inbox", ["\\Seen"]), { uidValidity: s0.uidValidity, uid: 2 });
  append(b, "INBOX", ["\\Deleted", "\\Seen"]);
  const s = sync(b.status(alice, "INBOX"));
  assert.equal(s.uidNext, 4);
  assert.equal(s.messages, 3);
  assert.equal(s.unseen, 1);
  assert.equal(s.deleted, 1);
  assert.equal(s.size, 3 * msg("x").length);
  assert.equal(s.highestModseq, 4);
  const opened = sync(b.open(alice, "INBOX"));
  assert.deepEqual(opened.list.map((m) => [m.uid, m.modseq, m.flags]), [
    [1, 2, []],
    [2, 3, ["\\Seen"]],
    [3, 4, ["\\Deleted", "\\Seen"]],
  ]);
  assert.equal(opened.list[0]!.size, msg("x").length);
  assert.deepEqual(opened.list[0]!.internalDate, date);
  assert.equal(code(() => b.append(alice, "Nope", msg("x"), [], date)), "TRYCREATE");
  assert.equal(code(() => b.status(alice, "Nope")), "NONEXISTENT");
  assert.equal(code(() => b.open(alice, "Nope")), "NONEXISTENT");
});

Deno.test("memory backend: APPEND keeps its own copy of the bytes", () => {
  const { b, inbox } = backend();
  const bytes = msg("original");
  b.append(alice, "INBOX", bytes, [], date);
  bytes.fill(0x41);
  const c = sync(b.content(alice, inbox, 1, false))!;
  assert.match(new TextDecoder().decode(c.bytes), /original/);
});

Deno.test("memory backend: UIDs are never reused, not even after expunging the last", () => {
  const { b, inbox } = backend();
  append(b, "INBOX");
  append(b, "INBOX", ["\\Deleted"]);
  assert.deepEqual(sync(b.expunge(alice, inbox, [1, 2])), [2]);
  assert.deepEqual(append(b, "INBOX").uid, 3);
  assert.deepEqual(sync(b.open(alice, "INBOX")).list.map((m) => m.uid), [1, 3]);
});

Deno.test("memory backend: a folder created again under an old name has a new UIDVALIDITY", () => {
  const { b } = backend();
  sync(b.createFolder(alice, "Work"));
  const first = sync(b.status(alice, "Work")).uidValidity;
  sync(b.deleteFolder(alice, "Work"));
  sync(b.createFolder(alice, "Work"));
  assert.notEqual(sync(b.status(alice, "Work")).uidValidity, first);
});

Deno.test("memory backend: CREATE and DELETE refuse what they must", () => {
  const { b } = backend();
  assert.equal(code(() => b.createFolder(alice, "Sent")), "ALREADYEXISTS");
  assert.equal(code(() => b.createFolder(alice, "inbox")), "ALREADYEXISTS");
  assert.equal(code(() => b.createFolder(alice, "a//b")), "CANNOT");
  assert.equal(code(() => b.createFolder(alice, "")), "CANNOT");
  assert.equal(code(() => b.createFolder(alice, "bad\u0001name")), "CANNOT");
  assert.equal(code(() => b.deleteFolder(alice, "INBOX")), "CANNOT");
  assert.equal(code(() => b.deleteFolder(alice, "Nope")), "NONEXISTENT");
  sync(b.createFolder(alice, "Receipts", "\\Archive"));
  const f = sync(b.folders(alice)).find((x) => x.name === "Receipts")!;
  assert.deepEqual(f, { name: "Receipts", specialUse: "\\Archive", subscribed: false });
});

Deno.test("memory backend: STORE changes flags under one new mod-sequence", async () => {
  const { b, inbox } = backend();
  for (let i = 0; i < 3; i++) append(b, "INBOX");
  let woken = 0;
  b.watch(alice, inbox, () => woken++);
  const r = sync(b.store(alice, inbox, [1, 3, 99], "add", ["\\seen", "Work"]));
  assert.deepEqual(r.modified, []);
  assert.deepEqual(r.updated.map((m) => [m.uid, m.flags, m.modseq]), [
    [1, ["\\Seen", "Work"], 5],
    [3, ["\\Seen", "Work"], 5],
  ]);
  assert.equal(woken, 0, "listeners run after the change, not inside it");
  await drain();
  assert.equal(woken, 1);

  // Nothing changes: the messages are reported as they are, no mod-sequence is taken.
  const same = sync(b.store(alice, inbox, [1], "add", ["work"]));
  assert.deepEqual(same.updated.map((m) => [m.uid, m.flags, m.modseq]), [[
    1,
    ["\\Seen", "Work"],
    5,
  ]]);
  await drain();
  assert.equal(woken, 1);
  assert.equal(sync(b.status(alice, "INBOX")).highestModseq, 5);

  // Keywords compare case-insensitively and keep their first spelling; system flags come first.
  const replaced = sync(b.store(alice, inbox, [2], "replace", ["Later", "\\Flagged", "WORK"]));
  assert.deepEqual(replaced.updated[0]!.flags, ["\\Flagged", "Work", "Later"]);
  const removed = sync(b.store(alice, inbox, [1], "remove", ["WORK", "\\Draft"]));
  assert.deepEqual(removed.updated[0]!.flags, ["\\Seen"]);
  // \Recent and unknown system flags are not kept.
  const odd = sync(b.store(alice, inbox, [3], "add", ["\\Recent", "\\Bogus"]));
  assert.deepEqual(odd.updated[0]!.flags, ["\\Seen", "Work"]);
  // Keywords once seen stay in the folder's FLAGS.
  assert.deepEqual(sync(b.open(alice, "INBOX")).keywords, ["Work", "Later"]);
});

Deno.test("memory backend: UNCHANGEDSINCE leaves newer messages alone and names them", () => {
  const { b, inbox } = backend();
  append(b, "INBOX"); // modseq 2
  append(b, "INBOX"); // modseq 3
  const r = sync(b.store(alice, inbox, [1, 2], "add", ["\\Flagged"], 2));
  assert.deepEqual(r.modified, [2]);
  assert.deepEqual(r.updated.map((m) => [m.uid, m.modseq]), [[1, 4]]);
  // UNCHANGEDSINCE 0 fails for every message (RFC 7162 §3.1.3).
  const zero = sync(b.store(alice, inbox, [1, 2], "add", ["\\Seen"], 0));
  assert.deepEqual(zero.modified, [1, 2]);
  assert.deepEqual(zero.updated, []);
});

Deno.test("memory backend: changes() tells what changed and what was expunged after a modseq", () => {
  const { b, inbox } = backend();
  for (let i = 0; i < 4; i++) append(b, "INBOX"); // modseq 2..5
  const before = sync(b.open(alice, "INBOX")).highestModseq;
  b.store(alice, inbox, [2], "add", ["\\Deleted", "\\Seen"]); // 6
  b.store(alice, inbox, [3], "add", ["\\Deleted"]); // 7
  b.expunge(alice, inbox, [2, 3]); // 8
  append(b, "INBOX"); // 9, uid 5
  const c = sync(b.changes(alice, inbox, before));
  assert.deepEqual(c.expunged, [2, 3]);
  assert.deepEqual(c.changed.map((m) => [m.uid, m.modseq]), [[5, 9]]);
  assert.equal(c.highestModseq, 9);
  assert.equal(c.uidNext, 6);
  const c7 = sync(b.changes(alice, inbox, 7));
  assert.deepEqual(c7.expunged, [2, 3]);
  assert.deepEqual(sync(b.changes(alice, inbox, 8)).expunged, []);
  assert.deepEqual(sync(b.changes(alice, inbox, 9)), {
    highestModseq: 9,
    uidNext: 6,
    changed: [],
    expunged: [],
  });
});

Deno.test("memory backend: EXPUNGE removes only the given messages that have \\Deleted", () => {
  const { b, inbox } = backend();
  append(b, "INBOX", ["\\Deleted"]);
  append(b, "INBOX");
  append(b, "INBOX", ["\\Deleted"]);
  assert.deepEqual(sync(b.expunge(alice, inbox, [1, 2])), [1]);
  assert.deepEqual(sync(b.expunge(alice, inbox, [1, 2])), []);
  const s = sync(b.status(alice, "INBOX"));
  assert.equal(s.highestModseq, 5, "an expunge of nothing takes no mod-sequence");
  assert.deepEqual(sync(b.expunge(alice, inbox, [3])), [3]);
});

Deno.test("memory backend: COPY and MOVE give COPYUID data; MOVE expunges the source", async () => {
  const { b, inbox } = backend();
  append(b, "INBOX", ["\\Seen", "Work"]);
  append(b, "INBOX");
  append(b, "INBOX", ["\\Flagged"]);
  const archive = sync(b.status(alice, "Archive"));
  const copied = sync(b.copy(alice, inbox, [3, 1, 77], "Archive"));
  assert.deepEqual(copied, {
    uidValidity: archive.uidValidity,
    sourceUids: [1, 3],
    targetUids: [1, 2],
  });
  const a = sync(b.open(alice, "Archive"));
  assert.deepEqual(a.list.map((m) => [m.uid, m.flags]), [[1, ["\\Seen", "Work"]], [2, [
    "\\Flagged",
  ]]]);
  assert.deepEqual(a.keywords, ["Work"]);
  assert.equal(a.highestModseq, 2, "one copy, one mod-sequence");
  assert.equal(code(() => b.copy(alice, inbox, [1], "Nope")), "TRYCREATE");
  assert.equal(code(() => b.move(alice, inbox, [1], "Nope")), "TRYCREATE");
  assert.equal(sync(b.status(alice, "INBOX")).messages, 3, "a failed MOVE moves nothing");

  let woken = 0;
  b.watch(alice, inbox, () => woken++);
  const moved = sync(b.move(alice, inbox, [2, 3], "Archive"));
  assert.deepEqual(moved.sourceUids, [2, 3]);
  assert.deepEqual(moved.targetUids, [3, 4]);
  assert.deepEqual(sync(b.open(alice, "INBOX")).list.map((m) => m.uid), [1]);
  assert.deepEqual(sync(b.changes(alice, inbox, 4)).expunged, [2, 3]);
  await drain();
  assert.equal(woken, 1);
  // The content moved along.
  const archiveId = b.folderId("alice", "Archive");
  assert.ok(sync(b.content(alice, archiveId, 4, false)));
  assert.equal(sync(b.content(alice, inbox, 3, false)), undefined);
});

Deno.test("memory backend: RENAME moves children, keeps id, UIDVALIDITY and subscriptions' names", () => {
  const { b } = backend();
  sync(b.createFolder(alice, "Work"));
  sync(b.createFolder(alice, "Work/2026"));
  sync(b.createFolder(alice, "Workshop"));
  sync(b.subscribe(alice, "Work/2026", true));
  const id = b.folderId("alice", "Work");
  const validity = sync(b.status(alice, "Work")).uidValidity;
  append(b, "Work");
  sync(b.renameFolder(alice, "Work", "Jobs/Old"));
  const names = sync(b.folders(alice)).map((f) => f.name);
  assert.ok(names.includes("Jobs"), "superiors are created (RFC 9051 §6.3.6)");
  assert.ok(names.includes("Jobs/Old"));
  assert.ok(names.includes("Jobs/Old/2026"));
  assert.ok(names.includes("Workshop"), "a sibling with the same prefix stays");
  assert.ok(!names.includes("Work") && !names.includes("Work/2026"));
  assert.equal(b.folderId("alice", "Jobs/Old"), id);
  assert.equal(sync(b.status(alice, "Jobs/Old")).uidValidity, validity);
  assert.equal(sync(b.status(alice, "Jobs/Old")).messages, 1);
  // The subscription stays with its name, which no folder has now (as in Dovecot).
  const subscribed = sync(b.folders(alice)).filter((f) => f.subscribed).map((f) => f.name);
  assert.ok(!subscribed.includes("Jobs/Old/2026"));
  assert.ok(sync(b.subscriptions(alice)).includes("Work/2026"));
  assert.equal(code(() => b.renameFolder(alice, "Nope", "X")), "NONEXISTENT");
  assert.equal(code(() => b.renameFolder(alice, "Workshop", "Sent")), "ALREADYEXISTS");
  assert.equal(code(() => b.renameFolder(alice, "Jobs", "Jobs/Inner")), "CANNOT");
  assert.equal(code(() => b.renameFolder(alice, "Jobs", "inbox")), "CANNOT");
});

Deno.test("memory backend: renaming INBOX moves its messages and leaves INBOX and its children", async () => {
  const { b, inbox } = backend();
  sync(b.createFolder(alice, "INBOX/Lists"));
  append(b, "INBOX", ["\\Seen"]);
  append(b, "INBOX");
  const before = sync(b.status(alice, "INBOX"));
  let woken = 0;
  b.watch(alice, inbox, () => woken++);
  sync(b.renameFolder(alice, "inbox", "Old Mail"));
  const after = sync(b.status(alice, "INBOX"));
  assert.equal(after.messages, 0);
  assert.equal(after.uidValidity, before.uidValidity);
  assert.equal(after.uidNext, 3, "INBOX's UIDs are not reused");
  assert.deepEqual(sync(b.changes(alice, inbox, before.highestModseq)).expunged, [1, 2]);
  await drain();
  assert.equal(woken, 1);
  const moved = sync(b.open(alice, "Old Mail"));
  assert.deepEqual(moved.list.map((m) => [m.uid, m.flags]), [[1, ["\\Seen"]], [2, []]]);
  assert.notEqual(moved.uidValidity, before.uidValidity);
  assert.ok(sync(b.folders(alice)).some((f) => f.name === "INBOX/Lists"));
});

Deno.test("memory backend: DELETE expunges the folder's messages and tells its watchers", async () => {
  const { b } = backend();
  sync(b.createFolder(alice, "Tmp"));
  const id = b.folderId("alice", "Tmp");
  append(b, "Tmp");
  append(b, "Tmp");
  let woken = 0;
  b.watch(alice, id, () => woken++);
  sync(b.deleteFolder(alice, "Tmp"));
  await drain();
  assert.equal(woken, 1);
  // A session that still has it selected learns that everything is gone.
  assert.deepEqual(sync(b.changes(alice, id, 0)).expunged, [1, 2]);
  assert.equal(sync(b.content(alice, id, 1, false)), undefined);
  assert.equal(code(() => b.store(alice, id, [1], "add", ["\\Seen"])), "NONEXISTENT");
  assert.equal(code(() => b.status(alice, "Tmp")), "NONEXISTENT");
});

Deno.test("memory backend: SUBSCRIBE needs no folder; subscriptions outlive DELETE", () => {
  const { b } = backend();
  sync(b.subscribe(alice, "Ghost", true));
  assert.ok(!sync(b.folders(alice)).some((f) => f.name === "Ghost"));
  assert.ok(sync(b.subscriptions(alice)).includes("Ghost"));
  sync(b.createFolder(alice, "Ghost"));
  assert.ok(sync(b.folders(alice)).find((f) => f.name === "Ghost")!.subscribed);
  sync(b.deleteFolder(alice, "Ghost"));
  sync(b.createFolder(alice, "Ghost"));
  assert.ok(sync(b.folders(alice)).find((f) => f.name === "Ghost")!.subscribed);
  sync(b.subscribe(alice, "Ghost", false));
  assert.ok(!sync(b.folders(alice)).find((f) => f.name === "Ghost")!.subscribed);
});

Deno.test("memory backend: content() parses once; the header alone when asked", () => {
  const { b, inbox } = backend();
  append(b, "INBOX");
  const whole = sync(b.content(alice, inbox, 1, false))!;
  assert.deepEqual(whole.bytes, msg("x"));
  const header = sync(b.content(alice, inbox, 1, true))!;
  assert.equal(header.structure, whole.structure, "the structure is parsed once and kept");
  assert.equal(
    new TextDecoder().decode(header.bytes),
    "From: a@example.test\r\nSubject: x\r\n\r\n",
  );
  assert.equal(header.structure.bodyStart, header.bytes.length);
  assert.equal(sync(b.content(alice, inbox, 2, false)), undefined);
  // A copy shares the parsed structure; its bytes are the same.
  b.copy(alice, inbox, [1], "Archive");
  const copy = sync(b.content(alice, b.folderId("alice", "Archive"), 1, false))!;
  assert.equal(copy.structure, whole.structure);
});

Deno.test("memory backend: searchText is case-insensitive substring search, every term", () => {
  const { b, inbox } = backend();
  b.append(alice, "INBOX", msg("Invoice 42", "Please pay the Ünïcode bill\r\n"), [], date);
  b.append(alice, "INBOX", msg("Hello", "nothing to see\r\n"), [], date);
  b.append(alice, "INBOX", msg("invoice again", "PAY now\r\n"), [], date);
  const q = (uids: number[], ...terms: [("body" | "text"), string][]) =>
    sync(b.searchText(alice, inbox, uids, terms.map(([where, value]) => ({ where, value }))));
  assert.deepEqual(q([1, 2, 3], ["body", "pay"]), [1, 3]);
  assert.deepEqual(q([1, 2, 3], ["body", "invoice"]), [], "BODY does not look at the header");
  assert.deepEqual(q([1, 2, 3], ["text", "INVOICE"]), [1, 3]);
  assert.deepEqual(q([1, 2, 3], ["text", "invoice"], ["body", "bill"]), [1]);
  assert.deepEqual(q([1, 2, 3], ["body", "üNÏCODE"]), [1]);
  assert.deepEqual(q([2, 3], ["body", "pay"]), [3], "only the UIDs given");
  assert.deepEqual(q([1, 2, 3, 9], ["text", "subject"]), [1, 2, 3]);
});

Deno.test("memory backend: watch() stops when told; no-op changes wake nobody", async () => {
  const { b, inbox } = backend();
  const calls: string[] = [];
  const stopA = b.watch(alice, inbox, () => calls.push("a"));
  b.watch(alice, inbox, () => calls.push("b"));
  assert.equal(b.watchers(inbox), 2);
  append(b, "INBOX");
  await drain();
  assert.deepEqual(calls, ["a", "b"]);
  stopA();
  assert.equal(b.watchers(inbox), 1);
  append(b, "Sent");
  b.expunge(alice, inbox, [1]); // not \Deleted: no change
  await drain();
  assert.deepEqual(calls, ["a", "b"]);
  b.deliver("alice", "INBOX", "Subject: y\r\n\r\nz\r\n");
  await drain();
  assert.deepEqual(calls, ["a", "b", "b"]);
});

Deno.test("memory backend: async mode answers with promises, and refuses with rejections", async () => {
  const b = new MemoryImapBackend({ async: true });
  const r = b.append(alice, "INBOX", msg("x"), [], date);
  assert.ok(r instanceof Promise);
  assert.equal((await r).uid, 1);
  const p = b.status(alice, "Nope");
  assert.ok(p instanceof Promise);
  await assert.rejects(p, (e) => e instanceof ImapBackendError && e.code === "NONEXISTENT");
});

/** Applies CHANGES to a client's copy of the list, as a session would. */
function replay(list: readonly MessageMeta[], changes: FolderChanges): MessageMeta[] {
  const gone = new Set(changes.expunged);
  const byUid = new Map(list.filter((m) => !gone.has(m.uid)).map((m) => [m.uid, m]));
  for (const m of changes.changed) byUid.set(m.uid, m);
  return [...byUid.values()].sort((a, b) => a.uid - b.uid);
}

type Op =
  | { op: "append"; flags: string[] }
  | { op: "store"; uids: number[]; mode: "add" | "remove" | "replace"; flags: string[] }
  | { op: "expunge"; uids: number[] }
  | { op: "move"; uids: number[] }
  | { op: "snapshot" };

const flagArb = fc.subarray(["\\Seen", "\\Deleted", "\\Flagged", "Work", "later"]);
const uidsArb = fc.array(fc.integer({ min: 1, max: 12 }), { maxLength: 4 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant("append" as const), flags: flagArb }),
  fc.record({
    op: fc.constant("store" as const),
    uids: uidsArb,
    mode: fc.constantFrom("add" as const, "remove" as const, "replace" as const),
    flags: flagArb,
  }),
  fc.record({ op: fc.constant("expunge" as const), uids: uidsArb }),
  fc.record({ op: fc.constant("move" as const), uids: uidsArb }),
  fc.record({ op: fc.constant("snapshot" as const) }),
);

Deno.test("memory backend: property: a snapshot plus changes() is the folder now; UIDs and modseqs only grow", () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
      const { b, inbox } = backend();
      const snapshots = [sync(b.open(alice, "INBOX"))];
      let lastUid = 0;
      let lastModseq = snapshots[0]!.highestModseq;
      for (const o of ops) {
        if (o.op === "append") {
          const { uid } = append(b, "INBOX", o.flags);
          assert.ok(uid > lastUid);
          lastUid = uid;
        } else if (o.op === "store") b.store(alice, inbox, o.uids, o.mode, o.flags);
        else if (o.op === "expunge") b.expunge(alice, inbox, o.uids);
        else if (o.op === "move") b.move(alice, inbox, o.uids, "Archive");
        else snapshots.push(sync(b.open(alice, "INBOX")));
        const now = sync(b.open(alice, "INBOX"));
        assert.ok(now.highestModseq >= lastModseq);
        lastModseq = now.highestModseq;
        const uids = now.list.map((m) => m.uid);
        assert.ok(uids.every((u, i) => i === 0 || u > uids[i - 1]!), "ascending UIDs");
        assert.ok(uids.every((u) => u < now.uidNext));
        assert.ok(now.list.every((m) => m.modseq <= now.highestModseq && m.modseq > 0));
      }
      const now = sync(b.open(alice, "INBOX"));
      for (const snap of snapshots) {
        const changes = sync(b.changes(alice, inbox, snap.highestModseq));
        assert.deepEqual(replay(snap.list, changes), now.list);
        assert.equal(changes.highestModseq, now.highestModseq);
      }
    }),
    { numRuns: 300 },
  );
});

Deno.test("memory backend: with notify false, changes are there but nobody is woken", async () => {
  const b = new MemoryImapBackend({ notify: false });
  const inbox = b.folderId("alice", "INBOX");
  let woken = 0;
  b.watch(alice, inbox, () => woken++);
  b.deliver("alice", "INBOX", "Subject: x\r\n\r\ny\r\n");
  await drain();
  assert.equal(woken, 0);
  assert.deepEqual(sync(b.changes(alice, inbox, 1)).changed.map((m) => m.uid), [1]);
});

Deno.test("memory backend: afterNextChanges runs once, after the answer is computed", () => {
  const { b, inbox } = backend();
  b.afterNextChanges(() => b.deliver("alice", "INBOX", "Subject: late\r\n\r\nx\r\n"));
  const first = sync(b.changes(alice, inbox, 1));
  assert.deepEqual(first.changed, [], "the answer does not include the change made after it");
  assert.deepEqual(sync(b.changes(alice, inbox, 1)).changed.map((m) => m.uid), [1]);
  assert.equal(sync(b.status(alice, "INBOX")).messages, 1, "and the hook ran only once");
});

Deno.test("memory backend: late mode does the work in a later event-loop turn", async () => {
  const b = new MemoryImapBackend({ async: "late" });
  let done = false;
  const p = Promise.resolve(b.append(alice, "INBOX", msg("x"), [], date)).then((r) => {
    done = true;
    return r;
  });
  for (let i = 0; i < 5; i++) await Promise.resolve();
  assert.equal(done, false, "microtasks alone do not get it done");
  assert.equal((await p).uid, 1);
  assert.equal((await b.status(alice, "INBOX")).messages, 1);
  await assert.rejects(
    Promise.resolve(b.open(alice, "Nope")),
    (e) => e instanceof ImapBackendError && e.code === "NONEXISTENT",
  );
});
