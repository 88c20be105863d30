/**
 * The text index (src/store/fts.ts): for every term it takes, it finds exactly the messages a
 * case-insensitive substring scan finds (random text full of the characters that trip trigram
 * tokenizers and case folding); it refuses the terms it could get wrong; a message's rows go
 * with the message; a database made before the index gets it.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import fc from "fast-check";
import { foldText, indexable, openStore, type Store, type TextWhere } from "../../src/store/mod.ts";
import { DERIVED_MIGRATION } from "../../src/store/derived.ts";
import { MIGRATIONS } from "../../src/store/schema.ts";
import { message, withStore, withTempDir } from "./_helpers.ts";

/** Characters that are easy to get wrong: case pairs that change length, NUL, U+FFFD, quotes. */
const TRICKY = [
  "a",
  "B",
  "b",
  "σ",
  "Σ",
  "ς",
  "İ",
  "i",
  "ı",
  "I",
  "ß",
  "ẞ",
  "\u0000",
  "\ufffd",
  "\ufffe",
  "\uffff",
  '"',
  "'",
  "*",
  ":",
  " ",
  "\r",
  "\n",
  "é",
  "É",
  "😀",
  "\u0301",
  "ǅ",
  "Ω",
  "K",
];
const tricky = fc.string({ unit: fc.constantFrom(...TRICKY), maxLength: 40 });
const term = fc.string({ unit: fc.constantFrom(...TRICKY), minLength: 0, maxLength: 6 });

/** The scan the index must equal: TEXT is the header, a line break, and the body. */
function scan(head: string, body: string, where: TextWhere, t: string): boolean {
  const text = where === "body" ? body : `${head}\n${body}`;
  return foldText(text).includes(foldText(t));
}

let run = 0;

/** Delivers N messages to a fresh address; returns its INBOX's id and the entries' messages. */
function freshFolder(store: Store, n: number) {
  const address = `u${++run}@example.org`;
  for (let i = 0; i < n; i++) store.deliver(message(`r${run}m${i}`, [address]));
  const { folder, entries } = store.folders.openFolder(address, "INBOX");
  return { address, folderId: folder.id, entries };
}

Deno.test("text index: finds every message a case-insensitive scan finds, exactly those for three characters", () =>
  withStore((store) => {
    const exactOrNot = { exact: 0, inexact: 0 };
    fc.assert(
      fc.property(
        fc.array(fc.tuple(tricky, tricky), { minLength: 1, maxLength: 5 }),
        fc.array(fc.tuple(term, fc.constantFrom<TextWhere>("body", "text")), {
          minLength: 1,
          maxLength: 8,
        }),
        (docs, terms) => {
          const { folderId, entries } = freshFolder(store, docs.length);
          store.folders.saveDerived({
            texts: docs.map(([head, body], i) => ({
              messageId: entries[i]!.messageId,
              head,
              body,
            })),
          });
          // Terms cut from the texts too, in another case, so that many of them match.
          // and with the characters the tokenizer drops or merges taken out or swapped.
          const cut = docs.flatMap(([h, b]) => [
            h.slice(1, 5).toUpperCase(),
            b.slice(2, 7),
            b.slice(0, 6).replaceAll("\u0000", ""),
            h.slice(0, 6).replaceAll(/[\u0000\ufffe\uffff]/g, "\ufffd"),
          ]);
          const all = [...terms, ...cut.map((c) => [c, "text"] as const)];
          for (const [t, where] of all) {
            const found = store.folders.searchIndexedText(folderId, where, t);
            if (!indexable(t, where)) {
              assert.equal(found, undefined);
              continue;
            }
            const expected = entries.filter((_, i) => scan(docs[i]![0], docs[i]![1], where, t))
              .map((e) => e.uid);
            const why = JSON.stringify({ t, where, docs });
            // Every message that holds the term is found; exactly those when the index says so.
            assert.ok(expected.every((u) => found!.uids.includes(u)), why);
            if (found!.exact) assert.deepEqual(found!.uids, expected, why);
            else exactOrNot.inexact++;
            if (found!.exact) exactOrNot.exact++;
          }
        },
      ),
      { seed: 1605, numRuns: 300 },
    );
    // Both kinds of answer were put to the test.
    assert.ok(exactOrNot.exact > 50 && exactOrNot.inexact > 50, JSON.stringify(exactOrNot));
  }));

Deno.test("text index: the terms it refuses are those it could answer wrongly", () => {
  assert.equal(indexable("ab", "body"), false, "two characters have no trigram");
  assert.equal(indexable("a😀", "body"), false, "two code points, three UTF-16 units");
  assert.equal(indexable("abc", "body"), true);
  assert.equal(indexable("a\u0000bc", "body"), false, "the tokenizer drops NUL");
  assert.equal(indexable("a\uffffbc", "text"), false, "read as U+FFFD");
  assert.equal(indexable("ab\ncd", "text"), false, "could span the header and the body");
  assert.equal(indexable("ab\ncd", "body"), true);
  assert.equal(indexable("\ud800abc", "body"), false, "not well-formed");
});

Deno.test("text index: a term of the index finds only messages of its folder", () =>
  withStore((store) => {
    const a = freshFolder(store, 2);
    const b = freshFolder(store, 1);
    store.folders.saveDerived({
      texts: [
        { messageId: a.entries[0]!.messageId, head: "Subject: x", body: "the Needle here" },
        { messageId: a.entries[1]!.messageId, head: "Subject: NEEDLE", body: "nothing" },
        { messageId: b.entries[0]!.messageId, head: "", body: "needle" },
      ],
    });
    const uids = (folderId: number, where: TextWhere, t: string) =>
      store.folders.searchIndexedText(folderId, where, t)?.uids;
    assert.deepEqual(uids(a.folderId, "body", "needle"), [1]);
    assert.deepEqual(uids(a.folderId, "text", "neEDle"), [1, 2]);
    assert.deepEqual(uids(b.folderId, "text", "needle"), [1]);
    assert.deepEqual(store.folders.searchIndexedText(a.folderId, "body", "NEE"), {
      uids: [1],
      exact: true,
    });
    // Every trigram of "needle" but not the word: a candidate, for the caller to check.
    const c = freshFolder(store, 1);
    store.folders.saveDerived({
      texts: [
        { messageId: c.entries[0]!.messageId, head: "", body: "eedle neede" },
      ],
    });
    assert.deepEqual(store.folders.searchIndexedText(c.folderId, "body", "needle"), {
      uids: [1],
      exact: false,
    });
    assert.equal(uids(a.folderId, "text", "ne"), undefined);
  }));

Deno.test("text index: what is not indexed is listed, a batch at a time, and indexed once", () =>
  withStore((store) => {
    const a = freshFolder(store, 5);
    const f = store.folders;
    assert.deepEqual(f.unindexedMessages(a.folderId, 0, 3, 1 << 20).map((m) => m.messageId), [
      a.entries[0]!.messageId,
      a.entries[1]!.messageId,
      a.entries[2]!.messageId,
    ]);
    // The byte bound stops a batch early, but never before its first message.
    assert.equal(f.unindexedMessages(a.folderId, 0, 5, 1).length, 1);
    const first = a.entries[0]!.messageId;
    f.saveDerived({ texts: [{ messageId: first, head: "", body: "once only" }] });
    // A second session indexing the same message changes nothing (no duplicate rows).
    f.saveDerived({ texts: [{ messageId: first, head: "", body: "twice" }] });
    assert.deepEqual(f.searchIndexedText(a.folderId, "body", "once")?.uids, [1]);
    assert.deepEqual(f.searchIndexedText(a.folderId, "body", "twice")?.uids, []);
    assert.equal(f.unindexedMessages(a.folderId, 0, 10, 1 << 20).length, 4);
    // After a UID: the ones above it only.
    assert.deepEqual(f.unindexedMessages(a.folderId, 3, 10, 1 << 20).map((m) => m.uid), [4, 5]);
  }));

Deno.test("text index: a message's rows go with it; one gone before indexing is skipped", () =>
  withStore((store) => {
    const a = freshFolder(store, 2);
    const f = store.folders;
    const [one, two] = a.entries;
    f.saveDerived({ texts: [{ messageId: one!.messageId, head: "", body: "doomed words" }] });
    f.setFolderFlags(a.folderId, [1, 2], "add", ["\\Deleted"]);
    f.expungeMessages(a.folderId, [1, 2]);
    // Indexed after its message was expunged (a search racing an EXPUNGE): nothing is kept.
    f.saveDerived({ texts: [{ messageId: two!.messageId, head: "", body: "late words" }] });
    const db = new DatabaseSync(store.path);
    try {
      const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
      assert.equal(count("SELECT count(*) AS n FROM message_text_done"), 0);
      assert.equal(
        count(`SELECT count(*) AS n FROM message_text WHERE message_text MATCH '"wor"'`),
        0,
      );
    } finally {
      db.close();
    }
  }));

Deno.test("text index: a database of schema 4 gets the index, empty, and its mail is listed", () =>
  withTempDir((dir) => {
    const store = openStore(dir);
    store.deliver(message("old1", ["a@example.org"]));
    store.close();
    // Back to the schema before the index, as an older build left it.
    const db = new DatabaseSync(`${dir}/mail.sqlite`);
    db.exec(`DROP TRIGGER message_text_gone; DROP TABLE message_text_done;
      DROP TABLE message_text; DROP TRIGGER message_header_gone; DROP TABLE message_headers;
      DROP TABLE mta_sts_policies; DROP TRIGGER message_envelope_gone;
      DROP TABLE message_envelopes; ALTER TABLE entries DROP COLUMN size; PRAGMA user_version = ${
      MIGRATIONS.indexOf(DERIVED_MIGRATION)
    }`);
    db.close();
    const again = openStore(dir);
    try {
      const { folder } = again.folders.openFolder("a@example.org", "INBOX");
      assert.equal(again.folders.unindexedMessages(folder.id, 0, 10, 1 << 20).length, 1);
      assert.deepEqual(again.folders.searchIndexedText(folder.id, "body", "hello")?.uids, []);
    } finally {
      again.close();
    }
  }));
