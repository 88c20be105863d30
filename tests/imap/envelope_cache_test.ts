/**
 * What the store backend keeps so that opening a folder and fetching its envelopes reads little:
 * each message's ENVELOPE, encoded at its first FETCH and kept, must be octet for octet what a
 * fresh parse of its header gives, for connections with and without UTF-8; it goes with its
 * message. A folder opened again is what a fresh open reads, whatever changed in between.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { setImmediate } from "node:timers";
import fc from "fast-check";
import { concatBytes } from "../../src/bytes.ts";
import { envelope } from "../../src/imap/envelope.ts";
import { parseHeader, parseStructure } from "../../src/imap/message_parts.ts";
import { encodeItem } from "../../src/imap/response.ts";
import type { Authenticator } from "../../src/server/authenticator.ts";
import { StoreImapBackend } from "../../src/server/imap_backend.ts";
import type { Store } from "../../src/store/mod.ts";
import { EnvelopeMemory } from "../../src/server/envelope_memory.ts";
import { message, withStore } from "../store/_helpers.ts";

const account = { address: "e@example.org" };
const turn = () => new Promise((resolve) => setImmediate(resolve));

function count(store: Store, sql: string): number {
  const db = new DatabaseSync(store.path);
  try {
    return (db.prepare(sql).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** ENVELOPE as the protocol module builds it from the message itself. */
function fresh(bytes: Uint8Array, utf8: boolean): string {
  const s = parseStructure(bytes);
  const out: Uint8Array[] = [];
  encodeItem(envelope(parseHeader(bytes, s.headerStart, s.bodyStart)), { utf8 }, out);
  return new TextDecoder("latin1").decode(concatBytes(out));
}

const latin1 = (b: Uint8Array | undefined) => b && new TextDecoder("latin1").decode(b);
const octets = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** Header fields of every shape ENVELOPE reads: groups, comments, folding, 8-bit, UTF-8. */
const field = fc.oneof(
  fc.constantFrom(
    "From: Ann <ann@example.org>",
    'From: "Doe, J" <j@d.example>, b@c.example (Bee)',
    "To: undisclosed-recipients:;",
    'To: team: a@b.example, "C" <c@d.example>;, e@f.example',
    "Cc: <@route.example,@r2.example:x@y.example>",
    "Reply-To:",
    "Sender: s@example.org",
    "Subject: =?UTF-8?B?w6l0w6k=?=",
    "Subject: caf\xc3\xa9 na\xefve",
    "Subject: folded\r\n  over two lines",
    "Date: Thu, 03 Dec 2026 10:00:00 +0000",
    "In-Reply-To: <a@b>",
    'Message-ID: <m"q\\uote@example.org>',
    'Bcc: "\xc3\xa9t\xc3\xa9" <\xff@x.example>',
    "From: broken <",
    "From: @@@",
    "Subject: \ttab",
  ),
  fc.tuple(
    fc.constantFrom("From", "To", "Cc", "Subject", "Sender", "Reply-To", "Message-ID"),
    fc.string({ unit: "binary", maxLength: 40 }).map((s) =>
      [...new TextEncoder().encode(s)].map((b) => String.fromCharCode(b)).join("")
        .replace(/[\r\n]/g, " ")
    ),
  ).map(([n, v]) => `${n}: ${v}`),
);

Deno.test("a kept ENVELOPE is octet for octet a fresh one, with UTF-8 and without (property)", () =>
  withStore((store) => {
    const backend = new StoreImapBackend(store, {} as Authenticator);
    store.folders.ensureFolders(account.address);
    const { id, uidValidity } = store.folders.openFolder(account.address, "INBOX").folder;
    const bodies: Uint8Array[] = [];
    fc.assert(
      fc.property(fc.array(field, { maxLength: 8 }), (fields) => {
        bodies.push(octets(`${fields.join("\r\n")}\r\n\r\nbody\r\n`));
      }),
      { numRuns: 300 },
    );
    // Some read alone rather than with the others: too large for a batch, or kept in pieces.
    for (const size of [70 * 1024, 300 * 1024]) {
      bodies.splice(
        bodies.length >> 1,
        0,
        octets(`From: Big <big@example.org>\r\nSubject: ${size}\r\n\r\n${"b".repeat(size)}\r\n`),
      );
    }
    bodies.forEach((b, i) => store.deliver(message(`p${i}`, [account.address], b)));
    const uids = store.folders.openFolder(account.address, "INBOX").entries.map((e) => e.uid);
    assert.equal(uids.length, bodies.length);
    // Made at the first FETCH, alternately asked for with and without UTF-8 first.
    uids.forEach((uid, i) => {
      for (const utf8 of i % 2 ? [true, false] : [false, true]) {
        assert.equal(
          latin1(backend.envelope(account, id, uidValidity, uid, utf8)),
          fresh(bodies[i]!, utf8),
        );
      }
    });
    backend.keepNow();
    assert.equal(count(store, "SELECT count(*) AS n FROM message_envelopes"), bodies.length);
    // Then read as kept, by a backend that never made them.
    const later = new StoreImapBackend(store, {} as Authenticator);
    uids.forEach((uid, i) => {
      for (const utf8 of [false, true]) {
        assert.equal(
          latin1(later.envelope(account, id, uidValidity, uid, utf8)),
          fresh(bodies[i]!, utf8),
        );
      }
    });
    // In any order (a FETCH of a set such as 9,3,5), from the store alone.
    const backwards = new StoreImapBackend(store, {} as Authenticator);
    for (let i = uids.length - 1; i >= 0; i -= 3) {
      assert.equal(
        latin1(backwards.envelope(account, id, uidValidity, uids[i]!, true)),
        fresh(bodies[i]!, true),
      );
    }
    // Most are 7-bit: one encoding serves both.
    assert.ok(count(store, "SELECT count(*) AS n FROM message_envelopes WHERE utf8 IS NULL") > 0);
  }));

Deno.test("a kept ENVELOPE goes with its message; one of another version is made again", () =>
  withStore((store) => {
    const backend = new StoreImapBackend(store, {} as Authenticator);
    const to = account.address;
    store.deliver(message("k1", [to], "Subject: one\r\nFrom: a@b.example\r\n\r\nx\r\n"));
    store.deliver(message("k2", [to], "Subject: two\r\nFrom: c@d.example\r\n\r\ny\r\n"));
    const { folder } = store.folders.openFolder(to, "INBOX");
    const envelopeOf = (b: StoreImapBackend, uid: number) =>
      latin1(b.envelope(account, folder.id, folder.uidValidity, uid, false));
    assert.match(envelopeOf(backend, 1)!, /"one"/);
    assert.match(envelopeOf(backend, 2)!, /"two"/);
    assert.equal(envelopeOf(backend, 3), undefined);
    backend.keepNow();
    assert.equal(count(store, "SELECT count(*) AS n FROM message_envelopes"), 2);
    // As if an older build had made it otherwise: it is not used, and replaced.
    const db = new DatabaseSync(store.path);
    db.exec("UPDATE message_envelopes SET version = 0, ascii = X'4E494C' WHERE message_id = 1");
    db.close();
    const later = new StoreImapBackend(store, {} as Authenticator);
    assert.match(envelopeOf(later, 1)!, /"one"/);
    later.keepNow();
    assert.equal(count(store, "SELECT count(*) AS n FROM message_envelopes WHERE version = 0"), 0);
    store.folders.setFolderFlags(folder.id, [1], "add", ["\\Deleted"]);
    store.folders.expungeMessages(folder.id, [1]);
    assert.equal(count(store, "SELECT count(*) AS n FROM message_envelopes"), 1);
    // Gone for a backend that reads the store. One that holds it in memory may still answer,
    // as RFC 9051 §7.5.1 allows until the client is told of the expunge.
    const third = new StoreImapBackend(store, {} as Authenticator);
    assert.equal(envelopeOf(third, 1), undefined);
    assert.match(envelopeOf(third, 2)!, /"two"/);
  }));

Deno.test("a FETCH's ENVELOPEs are written after it, once the server is quiet, without headers", () =>
  withStore(async (store) => {
    const backend = new StoreImapBackend(store, {} as Authenticator);
    const to = account.address;
    for (let i = 1; i <= 3; i++) {
      store.deliver(message(`q${i}`, [to], `Subject: ${i}\r\nFrom: a@b.example\r\n\r\nx\r\n`));
    }
    const { folder } = store.folders.openFolder(to, "INBOX");
    for (let uid = 1; uid <= 3; uid++) {
      assert.ok(backend.envelope(account, folder.id, folder.uidValidity, uid, false));
    }
    // Nothing is written in the turns of the event loop that follow the FETCH's.
    await turn();
    await turn();
    assert.equal(count(store, "SELECT count(*) AS n FROM message_envelopes"), 0);
    // Then, with nothing new to keep for a while, all of them (and no header: none was asked).
    const until = Date.now() + 10_000;
    while (count(store, "SELECT count(*) AS n FROM message_envelopes") < 3 && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(count(store, "SELECT count(*) AS n FROM message_envelopes"), 3);
    assert.equal(count(store, "SELECT count(*) AS n FROM message_headers"), 0);
  }));

Deno.test("a folder opened again is what a fresh open reads, whatever changed (property)", () =>
  withStore(async (store) => {
    const to = account.address;
    store.folders.ensureFolders(to);
    const backend = new StoreImapBackend(store, {} as Authenticator);
    const folderId = store.folders.openFolder(to, "INBOX").folder.id;
    let n = 0;
    const op = fc.oneof(
      fc.constant({ kind: "deliver" as const }),
      fc.record({
        kind: fc.constant("flags" as const),
        pick: fc.nat(),
        mode: fc.constantFrom("add" as const, "remove" as const, "replace" as const),
        flags: fc.subarray(["\\Seen", "\\Deleted", "\\Flagged", "$Label1", "work"]),
      }),
      fc.constant({ kind: "expunge" as const }),
      fc.constant({ kind: "rename" as const }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 12 }), async (ops) => {
        for (const o of ops) {
          const uids = store.folders.openFolder(to, "INBOX").entries.map((e) => e.uid);
          if (o.kind === "deliver") {
            store.deliver(message(`o${n++}`, [to], `Subject: ${n}\r\n\r\n${"z".repeat(n)}\r\n`));
          } else if (o.kind === "flags" && uids.length > 0) {
            const uid = uids[o.pick % uids.length]!;
            store.folders.setFolderFlags(folderId, [uid], o.mode, o.flags);
          } else if (o.kind === "expunge") store.folders.expungeMessages(folderId, uids);
          else if (o.kind === "rename") {
            // Another folder by the name asked for: the one kept must not be answered.
            store.folders.createFolder(to, "Other", null);
            backend.open(account, "Other");
            store.folders.deleteFolder(to, "Other");
            store.folders.createFolder(to, "Other", null);
            const other = backend.open(account, "Other");
            assert.equal(other.list.length, 0);
            store.folders.deleteFolder(to, "Other");
          }
          const again = backend.open(account, "INBOX");
          const first = new StoreImapBackend(store, {} as Authenticator).open(account, "INBOX");
          const plain = (f: typeof again) => ({
            ...f,
            list: f.list.map((m) => ({
              uid: m.uid,
              flags: [...m.flags],
              modseq: m.modseq,
              size: m.size,
              internalDate: m.internalDate.getTime(),
            })),
          });
          assert.deepEqual(plain(again), plain(first));
        }
        await turn();
      }),
      { numRuns: 60 },
    );
  }));

Deno.test("ENVELOPEs in memory stay within their bound, the folders least recently used going first", () => {
  const memory = new EnvelopeMemory(10_000);
  const e = (n: number) => ({ ascii: new Uint8Array(n), utf8: null });
  for (let uid = 1; uid <= 10; uid++) memory.put(1, uid, e(400));
  for (let uid = 1; uid <= 10; uid++) memory.put(2, uid, e(400));
  assert.ok(memory.get(1, 1));
  // Folder 1 was used last: folder 2 goes first when room is needed.
  for (let uid = 1; uid <= 5; uid++) memory.put(3, uid, e(400));
  assert.ok(memory.bytes <= 10_000, `${memory.bytes}`);
  assert.equal(memory.get(2, 1), undefined);
  assert.ok(memory.get(1, 10) && memory.get(3, 5));
  // One folder alone past the bound keeps its most recent entries.
  for (let uid = 1; uid <= 100; uid++) memory.put(4, uid, e(400));
  assert.ok(memory.bytes <= 10_000);
  assert.ok(memory.get(4, 100));
  assert.equal(memory.get(4, 1), undefined);
  // Too large to hold at all: not held.
  memory.put(5, 1, e(20_000));
  assert.equal(memory.get(5, 1), undefined);
});
