/**
 * A section or a partial FETCH reads only the octets it names (RFC 9051 §6.4.5): through a
 * message that can read a range, every section form and partial answers octet for octet as
 * from the whole message, the whole message is never read for them, and a 10 MiB message in
 * the store gives `BODY[]<0.1024>` from a few KiB of reads instead of 10 MiB.
 */
import assert from "node:assert/strict";
import { concatBytes } from "../../src/bytes.ts";
import { Cursor } from "../../src/imap/cursor.ts";
import { contentItem, type MessageContent } from "../../src/imap/fetch_data.ts";
import { parseFetchItems } from "../../src/imap/fetch_items.ts";
import { octetString, parseStructure, type Part } from "../../src/imap/message_parts.ts";
import { encodeItem } from "../../src/imap/response.ts";
import { UnknownEncodingError } from "../../src/imap/sections.ts";
import type { Authenticator } from "../../src/server/authenticator.ts";
import { StoreImapBackend } from "../../src/server/imap_backend.ts";
import { message, split, withStore } from "../store/_helpers.ts";
import { countingStore } from "../_helpers/counting_store.ts";

const SECTIONS = [
  "",
  "HEADER",
  "TEXT",
  "HEADER.FIELDS (From Subject)",
  "HEADER.FIELDS.NOT (From)",
  "1",
  "1.MIME",
  "2",
  "2.MIME",
  "1.1",
  "1.2",
  "2.HEADER",
  "2.TEXT",
  "2.HEADER.FIELDS (Subject)",
  "2.1",
  "3",
  "9",
];
const PARTIALS = ["", "<0.10>", "<5.20>", "<100.1000000>", "<0.1>", "<999999.5>"];
const PARTS = ["", "1", "2", "1.1", "3"];

/** Every item tried: each section and BINARY part, whole and in partials, and BINARY.SIZE. */
const ITEMS = [
  ...SECTIONS.flatMap((s) => PARTIALS.map((p) => `BODY.PEEK[${s}]${p}`)),
  ...PARTS.flatMap((s) => PARTIALS.map((p) => `BINARY.PEEK[${s}]${p}`)),
  ...PARTS.map((s) => `BINARY.SIZE[${s}]`),
];

function wire(content: MessageContent, itemText: string): string {
  const [item] = parseFetchItems(new Cursor(new TextEncoder().encode(itemText)));
  try {
    const out: Uint8Array[] = [];
    const pair = contentItem(content, item!);
    if (!pair) return "none";
    encodeItem(pair[0], { utf8: false }, out);
    out.push(new Uint8Array([0x20]));
    encodeItem(pair[1], { utf8: false }, out);
    return octetString(concatBytes(out));
  } catch (e) {
    if (e instanceof UnknownEncodingError) return "UNKNOWN-CTE";
    throw e;
  }
}

/** A message that reads ranges, and counts what it was asked for. */
class Ranged implements MessageContent {
  wholeReads = 0;
  structureReads = 0;
  octetsRead = 0;
  constructor(readonly whole: Uint8Array, readonly parsed: Part) {}
  get bytes(): Uint8Array {
    this.wholeReads++;
    return this.whole;
  }
  get structure(): Part {
    this.structureReads++;
    return this.parsed;
  }
  range(start: number, end: number): Uint8Array {
    const bytes = this.whole.slice(start, end);
    this.octetsRead += bytes.length;
    return bytes;
  }
}

function fixtures(): [string, Uint8Array][] {
  const out: [string, Uint8Array][] = [];
  for (const sub of ["mime", "imap"]) {
    const dir = new URL(`../fixtures/${sub}/`, import.meta.url);
    for (const e of [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".eml"))) {
      const raw = octetString(Deno.readFileSync(new URL(e.name, dir)));
      out.push([e.name, Uint8Array.from(raw.replace(/\r?\n/g, "\r\n"), (c) => c.charCodeAt(0))]);
    }
  }
  return out.sort(([a], [b]) => a.localeCompare(b));
}

Deno.test("partial fetch: every section and partial read as a range answers as from the whole message", () => {
  for (const [name, bytes] of fixtures()) {
    const structure = parseStructure(bytes);
    for (const item of ITEMS) {
      const expected = wire({ bytes, structure }, item);
      const ranged = new Ranged(bytes, structure);
      assert.equal(wire(ranged, item), expected, `${name} ${item}`);
      // Only BODY[] and BINARY[] of the whole message, without a partial, take its bytes.
      const whole = item === "BODY.PEEK[]" || item === "BINARY.PEEK[]" ||
        item === "BINARY.SIZE[]";
      assert.equal(ranged.wholeReads, whole ? 1 : 0, `${name} ${item}`);
      // The whole message, in part or whole, needs no structure.
      if (/^(BODY\.PEEK|BINARY\.PEEK)\[\]/.test(item)) {
        assert.equal(ranged.structureReads, 0, `${name} ${item}`);
      }
      // A partial of a part left as it is reads what it answers, no more.
      if (/^BODY\.PEEK\[(|TEXT|\d(\.\d)*(\.MIME|\.HEADER|\.TEXT)?)\]</.test(item)) {
        const literal = /\{(\d+)\}\r\n/.exec(expected);
        assert.equal(ranged.octetsRead, Number(literal![1]), `${name} ${item}`);
      }
    }
  }
});

const account = { address: "big@example.org" };

/** 10 MiB: a text part, then an 8bit part of random octets, as SMTP hands it over (64 KiB reads). */
function bigMessage(): Uint8Array {
  const head = new TextEncoder().encode(
    "Subject: big\r\nFrom: a@b.example\r\nMIME-Version: 1.0\r\n" +
      'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n\r\nhello\r\n--b\r\n' +
      "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
  );
  const tail = new TextEncoder().encode("\r\n--b--\r\n");
  const out = new Uint8Array(10 * 1024 * 1024);
  out.set(head);
  let seed = 0x9e3779b9;
  for (let i = head.length; i < out.length - tail.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    out[i] = 0x20 + ((seed >>> 16) % 0x5e);
  }
  out.set(tail, out.length - tail.length);
  return out;
}

Deno.test("partial fetch: BODY[]<0.1024> of a 10 MiB message reads a few KiB of it, not all", () =>
  withStore(async (store) => {
    const bytes = bigMessage();
    store.deliver(message("big1", [account.address], bytes, { chunks: split(bytes, 65536) }));
    const c = countingStore(store);
    const backend = new StoreImapBackend(c.store, {} as Authenticator);
    const { folder } = store.folders.openFolder(account.address, "INBOX");
    const fetch = (item: string) => wire(backend.content(account, folder.id, 1, false)!, item);
    const literal = (from: number, to: number) => {
      const data = bytes.subarray(from, to);
      return `{${data.length}}\r\n${octetString(data)}`;
    };
    // Across piece boundaries (pieces are up to 256 KiB), at the end and past it.
    const ranges: [number, number][] = [[0, 1024], [262_000, 5000], [10 * 1024 * 1024 - 10, 100]];
    for (const [start, count] of ranges) {
      c.reset();
      assert.equal(
        fetch(`BODY.PEEK[]<${start}.${count}>`),
        `BODY[]<${start}> ${literal(start, start + count)}`,
      );
      assert.ok(c.seen.largest <= count, `read ${c.seen.largest} octets for ${count}`);
    }
    assert.equal(fetch(`BODY.PEEK[]<${bytes.length}.10>`), `BODY[]<${bytes.length}> {0}\r\n`);
    // A section needs the structure: parsed from the whole message once, then kept.
    const structure = parseStructure(bytes);
    const part2 = structure.children![1]!;
    assert.equal(
      fetch("BINARY.PEEK[2]<1000.24>"),
      `BINARY[2]<1000> ${literal(part2.bodyStart + 1000, part2.bodyStart + 1024)}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 0));
    c.reset();
    assert.equal(
      fetch("BODY.PEEK[TEXT]<0.100>"),
      `BODY[TEXT]<0> ${literal(structure.bodyStart, structure.bodyStart + 100)}`,
    );
    assert.equal(fetch("BODY.PEEK[1]"), "BODY[1] {5}\r\nhello");
    assert.ok(c.seen.largest < 64 * 1024, `read ${c.seen.largest} octets`);
    // The whole message is still the stored one, octet for octet.
    const all = backend.content(account, folder.id, 1, false)!;
    assert.deepEqual(all.bytes, bytes);
  }));

Deno.test("partial fetch: the header of a large message is read without its body", () =>
  withStore(async (store) => {
    const bytes = bigMessage();
    // A second one whose header is longer than the first read of a header (64 KiB).
    const fields = Array.from({ length: 1200 }, (_, i) => `X-Field-${i}: ${"v".repeat(60)}\r\n`);
    const longHead = new TextEncoder().encode(`Subject: long\r\n${fields.join("")}\r\n`);
    const long = new Uint8Array(longHead.length + 1024 * 1024).fill(0x61);
    long.set(longHead);
    const to = account.address;
    store.deliver(message("big1", [to], bytes, { chunks: split(bytes, 65536) }));
    store.deliver(message("long1", [to], long, { chunks: split(long, 65536) }));
    const c = countingStore(store);
    const backend = new StoreImapBackend(c.store, {} as Authenticator);
    const { folder } = store.folders.openFolder(to, "INBOX");
    const structure = parseStructure(bytes);
    c.reset();
    const header = backend.content(account, folder.id, 1, true)!;
    assert.deepEqual(header.bytes, bytes.subarray(0, structure.bodyStart));
    assert.ok(c.seen.largest <= 64 * 1024, `read ${c.seen.largest} octets`);
    assert.deepEqual(
      backend.content(account, folder.id, 2, true)!.bytes,
      long.subarray(0, longHead.length),
    );
    await new Promise((resolve) => setTimeout(resolve, 0));
  }));
