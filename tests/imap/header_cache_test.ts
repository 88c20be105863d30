/**
 * FETCH of header items (ENVELOPE, RFC822.HEADER, BODY[HEADER], BODY[HEADER.FIELDS …]) reads
 * the header alone once it is kept, and answers octet for octet as from the whole message; the
 * header and the structure are kept once, and go with their message.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { concatBytes } from "../../src/bytes.ts";
import { Cursor } from "../../src/imap/cursor.ts";
import { contentItem } from "../../src/imap/fetch_data.ts";
import { parseFetchItems } from "../../src/imap/fetch_items.ts";
import { encodeItem } from "../../src/imap/response.ts";
import type { Authenticator } from "../../src/server/authenticator.ts";
import { StoreImapBackend } from "../../src/server/imap_backend.ts";
import type { Store } from "../../src/store/mod.ts";
import { message, withStore } from "../store/_helpers.ts";

const HEADER_ITEMS = [
  "ENVELOPE",
  "RFC822.HEADER",
  "BODY.PEEK[HEADER]",
  "BODY.PEEK[HEADER.FIELDS (From Subject X-Missing)]",
  "BODY.PEEK[HEADER.FIELDS.NOT (From Subject)]",
  "BODY.PEEK[HEADER]<5.20>",
];

const account = { address: "" };

function count(store: Store, sql: string): number {
  const db = new DatabaseSync(store.path);
  try {
    return (db.prepare(sql).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

function wire(content: Parameters<typeof contentItem>[0], itemText: string): string {
  const [item] = parseFetchItems(new Cursor(new TextEncoder().encode(itemText)));
  const out: Uint8Array[] = [];
  for (const i of contentItem(content, item!) ?? []) encodeItem(i, { utf8: false }, out);
  return new TextDecoder("latin1").decode(concatBytes(out));
}

Deno.test("header items from the kept header are octet for octet those from the whole message", () =>
  withStore((store) => {
    const backend = new StoreImapBackend(store, {} as Authenticator);
    const dir = new URL("../fixtures/mime/", import.meta.url);
    const files = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".eml"))
      .map((e) => e.name).sort();
    const to = "h@example.org";
    files.forEach((name, i) => {
      const raw = new TextDecoder("latin1").decode(Deno.readFileSync(new URL(name, dir)));
      const bytes = Uint8Array.from(raw.replace(/\r?\n/g, "\r\n"), (c) => c.charCodeAt(0));
      store.deliver(message(`h${i}`, [to], bytes));
    });
    const { folder, entries } = store.folders.openFolder(to, "INBOX");
    assert.equal(count(store, "SELECT count(*) AS n FROM message_headers"), 0);
    const full = entries.map((e) => backend.content(account, folder.id, e.uid, false)!);
    // The first header FETCH reads the whole message, and keeps its header (written once the server is quiet).
    const first = entries.map((e) => backend.content(account, folder.id, e.uid, true)!);
    backend.keepNow();
    assert.equal(count(store, "SELECT count(*) AS n FROM message_headers"), files.length);
    const kept = entries.map((e) => backend.content(account, folder.id, e.uid, true)!);
    entries.forEach((_, i) => {
      // Only the header is read: up to and with the blank line.
      assert.equal(kept[i]!.bytes.length, full[i]!.structure.bodyStart, files[i]);
      for (const item of HEADER_ITEMS) {
        const expected = wire(full[i]!, item);
        assert.equal(wire(first[i]!, item), expected, `${files[i]} ${item}`);
        assert.equal(wire(kept[i]!, item), expected, `${files[i]} ${item}`);
      }
    });
  }));

Deno.test("a kept header and structure go with their message; a message gone has no content", () =>
  withStore((store) => {
    const backend = new StoreImapBackend(store, {} as Authenticator);
    const to = "g@example.org";
    store.deliver(message("g1", [to], "Subject: one\r\nFrom: a@b.example\r\n\r\nbody\r\n"));
    const { folder } = store.folders.openFolder(to, "INBOX");
    backend.content(account, folder.id, 1, true);
    // The structure is parsed when first needed, and kept.
    backend.content(account, folder.id, 1, false)!.structure;
    backend.keepNow();
    assert.equal(count(store, "SELECT count(*) AS n FROM message_headers"), 1);
    assert.equal(
      count(store, "SELECT count(*) AS n FROM messages WHERE structure IS NOT NULL"),
      1,
    );
    store.folders.setFolderFlags(folder.id, [1], "add", ["\\Deleted"]);
    store.folders.expungeMessages(folder.id, [1]);
    assert.equal(count(store, "SELECT count(*) AS n FROM message_headers"), 0);
    assert.equal(backend.content(account, folder.id, 1, true), undefined);
    assert.equal(backend.content(account, folder.id, 1, false), undefined);
  }));
