/**
 * SEARCH BODY and TEXT through the store's text index give exactly what the scan of decoded
 * text gives, on random MIME messages (encodings, charsets, alternatives, attachments, nested
 * messages) and random terms; the index is filled on first use and then only with what is new.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { DatabaseSync } from "node:sqlite";
import fc from "fast-check";
import type { Authenticator } from "../../src/server/authenticator.ts";
import { StoreImapBackend } from "../../src/server/imap_backend.ts";
import { searchableText, textHas } from "../../src/server/message_text.ts";
import type { Store } from "../../src/store/mod.ts";
import { message, withStore } from "../store/_helpers.ts";

const WORDS = [
  "Needle",
  "hay",
  "straße",
  "ΣΟΦΙΑ",
  "çà",
  "İstanbul",
  "日本語",
  "😀",
  "x\u0000y",
  "a=b",
];
const text = fc.array(
  fc.oneof(fc.constantFrom(...WORDS), fc.string({ maxLength: 4 })),
  { maxLength: 8 },
).map((w) => w.join(" "));

function qp(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) {
    out += b >= 33 && b <= 126 && b !== 61
      ? String.fromCharCode(b)
      : `=${b.toString(16).toUpperCase().padStart(2, "0")}`;
    if (out.length - out.lastIndexOf("\n") > 70) out += "=\r\n";
  }
  return out;
}

type Leaf = { kind: "text"; subtype: string; charset: string; cte: string; content: string } | {
  kind: "binary";
};
type Entity = Leaf | { kind: "multi"; parts: Entity[] } | { kind: "message"; inner: Entity };

const leaf: fc.Arbitrary<Leaf> = fc.oneof(
  fc.record({
    kind: fc.constant("text" as const),
    subtype: fc.constantFrom("plain", "html"),
    charset: fc.constantFrom("utf-8", "iso-8859-1", "x-unknown", ""),
    cte: fc.constantFrom("7bit", "8bit", "quoted-printable", "base64", "x-weird"),
    content: text,
  }),
  fc.constant({ kind: "binary" as const }),
);
const entity: fc.Arbitrary<Entity> = fc.letrec<{ e: Entity }>((tie) => ({
  e: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    fc.record({
      kind: fc.constant("multi" as const),
      parts: fc.array(tie("e"), { minLength: 0, maxLength: 3 }),
    }),
    fc.record({ kind: fc.constant("message" as const), inner: tie("e") }),
  ),
})).e;

let boundaries = 0;

/** The entity's header lines and body, as octets in a Latin-1 string. */
function render(e: Entity, subject: string): [string, string] {
  if (e.kind === "binary") {
    return ["Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64", "AAEC"];
  }
  if (e.kind === "multi") {
    const b = `b${++boundaries}`;
    const parts = e.parts.map((p) => {
      const [h, body] = render(p, subject);
      return `--${b}\r\n${h}\r\n\r\n${body}\r\n`;
    });
    return [`Content-Type: multipart/mixed; boundary="${b}"`, `${parts.join("")}--${b}--`];
  }
  if (e.kind === "message") {
    const [h, body] = render(e.inner, subject);
    return ["Content-Type: message/rfc822", `Subject: inner ${subject}\r\n${h}\r\n\r\n${body}`];
  }
  const bytes = e.charset === "iso-8859-1"
    ? Buffer.from(e.content.replace(/[^\u0000-\u00ff]/g, "?"), "latin1")
    : Buffer.from(e.content, "utf8");
  const body = e.cte === "base64"
    ? bytes.toString("base64").replace(/.{76}/g, "$&\r\n")
    : e.cte === "quoted-printable"
    ? qp(bytes)
    : bytes.toString("latin1");
  const charset = e.charset ? `; charset=${e.charset}` : "";
  return [
    `Content-Type: text/${e.subtype}${charset}\r\nContent-Transfer-Encoding: ${e.cte}`,
    body,
  ];
}

function mime(e: Entity, subject: string): Uint8Array {
  const [h, body] = render(e, subject);
  const head = `From: a@example.org\r\nSubject: ${subject}\r\nMIME-Version: 1.0\r\n${h}`;
  return new Uint8Array(Buffer.from(`${head}\r\n\r\n${body}\r\n`, "latin1"));
}

const account = { address: "" };
let run = 0;

function fill(store: Store, messages: readonly Uint8Array[]) {
  const address = `s${++run}@example.org`;
  messages.forEach((m, i) => store.deliver(message(`s${run}m${i}`, [address], m)));
  const { folder, entries } = store.folders.openFolder(address, "INBOX");
  return { address, folderId: folder.id, uids: entries.map((e) => e.uid) };
}

function backendOf(store: Store): StoreImapBackend {
  // searchText and content never log anyone in.
  return new StoreImapBackend(store, {} as Authenticator);
}

Deno.test("SEARCH BODY/TEXT: the index finds exactly what the scan of decoded text finds", () =>
  withStore(async (store) => {
    const backend = backendOf(store);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(entity, text), { minLength: 1, maxLength: 4 }),
        fc.array(
          fc.record({
            where: fc.constantFrom("body" as const, "text" as const),
            value: fc.oneof(fc.constantFrom(...WORDS), text, fc.string({ maxLength: 5 })),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        async (specs, terms) => {
          const messages = specs.map(([e, subject]) =>
            mime(e, Buffer.from(subject).toString("latin1"))
          );
          const { folderId, uids } = fill(store, messages);
          const texts = uids.map((uid) => {
            const c = backend.content(account, folderId, uid)!;
            return searchableText(c.bytes, c.structure);
          });
          // Words of the messages in another case, so that many terms match something.
          const cut = texts.flatMap((t) => [t.body.slice(3, 9).toUpperCase(), t.text.slice(5, 11)]);
          const all = [...terms, ...cut.map((value) => ({ where: "body" as const, value }))];
          for (const t of all) {
            const found = await backend.searchText(account, folderId, uids, [t]);
            const expected = uids.filter((_, i) => textHas(texts[i]!, t.where, t.value));
            assert.deepEqual(found, expected, JSON.stringify(t));
          }
          // Once the index has caught up, it answers all of it.
          await backend.whenIndexed();
          for (const t of all) {
            const found = await backend.searchText(account, folderId, uids, [t]);
            const expected = uids.filter((_, i) => textHas(texts[i]!, t.where, t.value));
            assert.deepEqual(found, expected, `indexed: ${JSON.stringify(t)}`);
          }
          // Several terms at once: every one must match.
          const both = await backend.searchText(account, folderId, uids, all.slice(0, 3));
          const expected = uids.filter((_, i) =>
            all.slice(0, 3).every((t) => textHas(texts[i]!, t.where, t.value))
          );
          assert.deepEqual(both, expected);
        },
      ),
      { seed: 916, numRuns: 150 },
    );
  }));

Deno.test("SEARCH BODY/TEXT: the first search reads the folder and indexes it after; later ones add what is new", () =>
  withStore(async (store) => {
    const backend = backendOf(store);
    const bodies = ["alpha needle", "beta", "gamma NEEDLE"].map((b) =>
      new TextEncoder().encode(`Subject: s\r\n\r\n${b}\r\n`)
    );
    const { address, folderId, uids } = fill(store, bodies);
    const done = () => {
      const db = new DatabaseSync(store.path);
      try {
        return (db.prepare("SELECT count(*) AS n FROM message_text_done").get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    const before = done();
    const term = [{ where: "body" as const, value: "needle" }];
    assert.deepEqual(await backend.searchText(account, folderId, uids, term), [1, 3]);
    await backend.whenIndexed();
    assert.equal(done() - before, 3);
    // Only the UIDs asked about are answered.
    assert.deepEqual(await backend.searchText(account, folderId, [2, 3], term), [3]);
    store.deliver(message("late", [address], "Subject: s\r\n\r\none more needle\r\n"));
    // The new message is read by this search, and indexed after it.
    assert.deepEqual(await backend.searchText(account, folderId, [1, 2, 3, 4], term), [1, 3, 4]);
    await backend.whenIndexed();
    assert.equal(done() - before, 4);
  }));
