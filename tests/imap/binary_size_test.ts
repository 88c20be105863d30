/**
 * BINARY.SIZE (RFC 3516 §4.2) is the length of what BINARY returns, counted from the encoded
 * octets without decoding them: equal to the decoder's length on every body (correct, mangled
 * or garbage) in every transfer encoding, the same answers for every fixture, and no decoded
 * octets built on the way.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import fc from "fast-check";
import { concatBytes, latin1 } from "../../src/bytes.ts";
import { contentItem, type MessageContent } from "../../src/imap/fetch_data.ts";
import { parseStructure } from "../../src/imap/message_parts.ts";
import { atom } from "../../src/imap/response.ts";
import {
  base64Length,
  binaryContent,
  binarySize,
  decodeQuotedPrintable,
  UnknownEncodingError,
} from "../../src/imap/sections.ts";

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** A single-part message whose body is BODY in transfer encoding CTE. */
function singlePart(cte: string, body: Uint8Array): MessageContent {
  const head = ascii(`Subject: s\r\nContent-Transfer-Encoding: ${cte}\r\n\r\n`);
  const bytes = new Uint8Array(head.length + body.length);
  bytes.set(head);
  bytes.set(body, head.length);
  return { bytes, structure: parseStructure(bytes) };
}

/** What binarySize says, or UNKNOWN-CTE. */
function size(message: MessageContent, part: readonly number[]): number | string | undefined {
  try {
    return binarySize(message, part);
  } catch (e) {
    if (e instanceof UnknownEncodingError) return "UNKNOWN-CTE";
    throw e;
  }
}

/** The length of what binaryContent decodes, or UNKNOWN-CTE. */
function decodedLength(
  message: MessageContent,
  part: readonly number[],
): number | string | undefined {
  try {
    return binaryContent(message.bytes, message.structure, part)?.bytes.length;
  } catch (e) {
    if (e instanceof UnknownEncodingError) return "UNKNOWN-CTE";
    throw e;
  }
}

/** Octets that break encodings: padding, blanks, line ends of both kinds, bad escapes, junk. */
const MANGLES = [
  "=",
  "==",
  "===",
  " ",
  "\t",
  "  \t",
  "\r\n",
  "\n",
  "\r",
  "=\r\n",
  "=\n",
  "=\r",
  "= \r\n",
  "=G",
  "=4",
  "=4g",
  "=ab",
  "=AB",
  "=3D",
  " \r\n",
  "\t\n",
  "!",
  "*",
  ".",
  "\x00",
  "\x7f",
  "\x80",
  "\xe9",
  "\xff",
  "-",
  "_",
  "+",
  "/",
  "A",
  "ab",
].map(ascii);

/** Edits of an encoded body: an insertion of a mangle or a random octet, or a deletion. */
const edit = fc.oneof(
  fc.record({ at: fc.nat(), insert: fc.constantFrom(...MANGLES) }),
  fc.record({ at: fc.nat(), insert: fc.uint8Array({ minLength: 1, maxLength: 3 }) }),
  fc.record({ at: fc.nat(), remove: fc.integer({ min: 1, max: 4 }) }),
);
type Edit = { at: number; insert: Uint8Array } | { at: number; remove: number };

function mangle(encoded: Uint8Array, edits: readonly Edit[]): Uint8Array {
  let out = encoded;
  for (const e of edits) {
    const at = out.length === 0 ? 0 : e.at % (out.length + 1);
    const keep = "insert" in e ? e.insert : new Uint8Array(0);
    const skip = "remove" in e ? e.remove : 0;
    const next = new Uint8Array(at + keep.length + Math.max(0, out.length - at - skip));
    next.set(out.subarray(0, at));
    next.set(keep, at);
    next.set(out.subarray(at + skip), at + keep.length);
    out = next;
  }
  return out;
}

/** Lines of at most WIDTH characters, each ended by EOL (or SOFT before it, for QP). */
function wrap(text: string, width: number, eol: string, soft = ""): string {
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += width) lines.push(text.slice(i, i + width));
  return lines.join(soft + eol) + (text.length > 0 && soft === "" ? eol : "");
}

const base64Body = fc.record({
  data: fc.uint8Array({ maxLength: 300 }),
  url: fc.boolean(),
  unpadded: fc.boolean(),
  width: fc.integer({ min: 1, max: 100 }),
  eol: fc.constantFrom("\r\n", "\n", " ", ""),
  edits: fc.array(edit, { maxLength: 6 }),
});

function base64Encoded(b: {
  data: Uint8Array;
  url: boolean;
  unpadded: boolean;
  width: number;
  eol: string;
  edits: Edit[];
}): Uint8Array {
  let text = Buffer.from(b.data).toString(b.url ? "base64url" : "base64");
  if (b.unpadded) text = text.replace(/=+$/, "");
  return mangle(ascii(wrap(text, b.width, b.eol)), b.edits);
}

/**
 * Quoted-printable (RFC 2045 §6.7) of DATA: octets other than printable ASCII as `=XX`, in lines
 * of at most WIDTH characters (an escape is never split) ended by a soft break `=` EOL.
 */
function qpEncode(data: Uint8Array, literalBlanks: boolean, width: number, eol: string): string {
  const lines: string[] = [];
  let line = "";
  for (const o of data) {
    const printable = (o >= 0x21 && o <= 0x7e && o !== 0x3d) ||
      (literalBlanks && (o === 0x20 || o === 0x09));
    const token = printable
      ? String.fromCharCode(o)
      : `=${o.toString(16).toUpperCase().padStart(2, "0")}`;
    if (line.length > 0 && line.length + token.length > width) {
      lines.push(line);
      line = "";
    }
    line += token;
  }
  lines.push(line);
  return lines.join(`=${eol}`);
}

const qpBody = fc.record({
  data: fc.uint8Array({ maxLength: 300 }),
  literalBlanks: fc.boolean(),
  width: fc.integer({ min: 3, max: 76 }),
  eol: fc.constantFrom("\r\n", "\n"),
  edits: fc.array(edit, { maxLength: 6 }),
});

Deno.test("binary size: base64 is counted as Buffer.from decodes it, on any octets", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (raw) => {
      assert.equal(base64Length(raw), Buffer.from(latin1(raw), "base64").length);
    }),
    { numRuns: 3000 },
  );
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(...MANGLES), { maxLength: 40 }),
      (pieces) => {
        const raw = concatBytes(pieces);
        assert.equal(base64Length(raw), Buffer.from(latin1(raw), "base64").length);
      },
    ),
    { numRuns: 3000 },
  );
});

Deno.test("binary size: base64 part, encoded right and then mangled, is as long as BINARY", () => {
  fc.assert(
    fc.property(base64Body, (b) => {
      const message = singlePart("base64", base64Encoded(b));
      const decoded = decodedLength(message, [1]);
      assert.equal(size(message, [1]), decoded);
      // Unmangled, it is the data encoded.
      if (b.edits.length === 0 && b.eol !== " ") assert.equal(decoded, b.data.length);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("binary size: quoted-printable part, encoded right and then mangled, is as long as BINARY", () => {
  fc.assert(
    fc.property(qpBody, (b) => {
      const encoded = qpEncode(b.data, b.literalBlanks, b.width, b.eol);
      const message = singlePart("quoted-printable", mangle(ascii(encoded), b.edits));
      const decoded = decodedLength(message, [1]);
      assert.equal(size(message, [1]), decoded);
      // Unmangled, with no literal blank that a soft break could leave at a line's end (they
      // are dropped there, §6.7 rule 3), it is the data encoded.
      if (b.edits.length === 0 && !b.literalBlanks) assert.equal(decoded, b.data.length);
    }),
    { numRuns: 2000 },
  );
  // And on octets that are no quoted-printable at all.
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.constantFrom(...MANGLES), fc.uint8Array({ maxLength: 4 })), {
        maxLength: 40,
      }),
      (pieces) => {
        const body = concatBytes(pieces);
        const message = singlePart("Quoted-Printable", body);
        assert.equal(size(message, [1]), decodedLength(message, [1]));
      },
    ),
    { numRuns: 2000 },
  );
});

/** The quoted-printable decoder as it was before the size shared its loop: the oracle. */
function decodeQuotedPrintableBefore(input: Uint8Array): Uint8Array {
  const out = new Uint8Array(input.length);
  let n = 0;
  const hex = (c: number) =>
    c >= 0x30 && c <= 0x39
      ? c - 0x30
      : c >= 0x41 && c <= 0x46
      ? c - 55
      : c >= 0x61 && c <= 0x66
      ? c - 87
      : -1;
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (c === 0x3d) {
      const a = input[i + 1];
      if (a === 0x0a) {
        i += 1;
        continue;
      }
      if (a === 0x0d && input[i + 2] === 0x0a) {
        i += 2;
        continue;
      }
      const h = a === undefined ? -1 : hex(a);
      const l = input[i + 2] === undefined ? -1 : hex(input[i + 2]!);
      if (h >= 0 && l >= 0) {
        out[n++] = h * 16 + l;
        i += 2;
        continue;
      }
      out[n++] = c;
      continue;
    }
    if ((c === 0x20 || c === 0x09)) {
      let j = i;
      while (input[j] === 0x20 || input[j] === 0x09) j++;
      if (j === input.length || input[j] === 0x0d || input[j] === 0x0a) {
        i = j - 1;
        continue;
      }
    }
    out[n++] = c;
  }
  return out.subarray(0, n);
}

Deno.test("binary size: the quoted-printable decoder decodes as it did before sharing its loop", () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.constantFrom(...MANGLES), fc.uint8Array({ maxLength: 4 })), {
        maxLength: 60,
      }),
      (pieces) => {
        const body = concatBytes(pieces);
        assert.deepEqual(decodeQuotedPrintable(body), decodeQuotedPrintableBefore(body));
      },
    ),
    { numRuns: 3000 },
  );
});

Deno.test("binary size: a long run of blanks in quoted-printable is looked at once, not once per blank", () => {
  // 4 MiB of blanks, then a letter: all kept. Scanning the run again from each blank took
  // minutes (quadratic); this finishes at once.
  const body = new Uint8Array(4 << 20).fill(0x20);
  body[body.length - 1] = 0x78;
  const message = singlePart("quoted-printable", body);
  assert.equal(size(message, [1]), body.length);
  assert.deepEqual(decodeQuotedPrintable(body), body);
});

Deno.test("binary size: identity encodings, multiparts, missing parts and unknown encodings answer as BINARY does", () => {
  const body = ascii("caf\xe9 =41 \x00\r\nline  \r\n");
  for (const cte of ["7bit", "8bit", "binary", "BINARY", "7BIT"]) {
    const message = singlePart(cte, body);
    assert.equal(size(message, [1]), body.length, cte);
    assert.equal(size(message, [1]), decodedLength(message, [1]), cte);
  }
  for (const cte of ["x-uuencode", "base-64", "", "quoted printable"]) {
    const message = singlePart(cte, body);
    assert.equal(decodedLength(message, [1]), cte === "" ? body.length : "UNKNOWN-CTE", cte);
    assert.equal(size(message, [1]), decodedLength(message, [1]), cte);
  }
  const multipart = ascii(
    'Content-Type: multipart/mixed; boundary="b"\r\nContent-Transfer-Encoding: base64\r\n\r\n' +
      "--b\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--b\r\n" +
      "Content-Type: multipart/alternative; boundary=c\r\n\r\n--c\r\n\r\nx\r\n--c--\r\n" +
      "--b--\r\n",
  );
  const message = { bytes: multipart, structure: parseStructure(multipart) };
  for (const part of [[], [1], [2], [2, 1], [3], [1, 1], [2, 2], [2, 1, 1]]) {
    assert.equal(size(message, part), decodedLength(message, part), part.join("."));
  }
  assert.equal(size(message, []), multipart.length);
  assert.equal(size(message, [1]), 5);
  assert.equal(size(message, [3]), undefined);
});

/** The fixtures, as stored (CRLF) and as written (bare LF where the file has it). */
function fixtures(): [string, Uint8Array][] {
  const out: [string, Uint8Array][] = [];
  for (const sub of ["mime", "imap"]) {
    const dir = new URL(`../fixtures/${sub}/`, import.meta.url);
    for (const e of [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".eml"))) {
      const raw = Deno.readFileSync(new URL(e.name, dir));
      out.push([`${sub}/${e.name}`, raw]);
      out.push([`${sub}/${e.name} (CRLF)`, ascii(latin1(raw).replace(/\r?\n/g, "\r\n"))]);
    }
  }
  return out.sort(([a], [b]) => a.localeCompare(b));
}

/** Every part number up to three levels deep, 1 to 4 at each (most name nothing). */
const PARTS: number[][] = [[]];
for (const a of [1, 2, 3, 4]) {
  PARTS.push([a]);
  for (const b of [1, 2, 3, 4]) {
    PARTS.push([a, b]);
    for (const c of [1, 2, 3, 4]) PARTS.push([a, b, c]);
  }
}

Deno.test("binary size: FETCH BINARY.SIZE answers the length of FETCH BINARY for every part of every fixture", () => {
  let counted = 0;
  for (const [name, bytes] of fixtures()) {
    const message = { bytes, structure: parseStructure(bytes) };
    for (const part of PARTS) {
      const label = `${name} ${part.join(".")}`;
      let binary: number | string;
      try {
        const pair = contentItem(message, { kind: "BINARY[]", part, peek: true })!;
        binary = (pair[1] as { literal: Uint8Array }).literal.length;
      } catch (e) {
        if (!(e instanceof UnknownEncodingError)) throw e;
        binary = "UNKNOWN-CTE";
      }
      let answer: number | string;
      try {
        const pair = contentItem(message, { kind: "BINARY.SIZE", part })!;
        assert.deepEqual(pair[0], atom(`BINARY.SIZE[${part.join(".")}]`));
        answer = (pair[1] as { number: number }).number;
      } catch (e) {
        if (!(e instanceof UnknownEncodingError)) throw e;
        answer = "UNKNOWN-CTE";
      }
      assert.equal(answer, binary, label);
      if (typeof answer === "number" && answer > 0) counted++;
    }
  }
  assert.ok(counted > 100, `only ${counted} parts with content`);
});

Deno.test("binary size: FETCH BINARY.SIZE of a base64 or quoted-printable part builds no decoded octets", () => {
  const data = new Uint8Array(3000).map((_, i) => (i * 7) & 0xff);
  const b64 = singlePart("base64", ascii(wrap(Buffer.from(data).toString("base64"), 76, "\r\n")));
  const qp = singlePart("quoted-printable", ascii(qpEncode(data, true, 75, "\r\n")));
  const expected = [decodedLength(b64, [1]), decodedLength(qp, [1])];
  // Neither decoder may run while BINARY.SIZE is answered: base64 decodes through Buffer.from,
  // quoted-printable into a new Uint8Array as long as the body.
  const calls: string[] = [];
  const from = Buffer.from;
  const Bytes = globalThis.Uint8Array;
  const Spy = function (...args: unknown[]) {
    calls.push(`new Uint8Array(${typeof args[0] === "number" ? args[0] : typeof args[0]})`);
    return Reflect.construct(Bytes, args, new.target);
  };
  Spy.prototype = Bytes.prototype;
  Buffer.from = ((...args: Parameters<typeof Buffer.from>) => {
    calls.push("Buffer.from");
    return from.apply(Buffer, args);
  }) as typeof Buffer.from;
  globalThis.Uint8Array = Spy as unknown as Uint8ArrayConstructor;
  let sizes: unknown[];
  try {
    sizes = [b64, qp].map((m) => contentItem(m, { kind: "BINARY.SIZE", part: [1] })![1]);
  } finally {
    Buffer.from = from;
    globalThis.Uint8Array = Bytes;
  }
  assert.deepEqual(calls, []);
  assert.deepEqual(sizes, expected.map((n) => ({ number: n })));
  assert.deepEqual(expected, [3000, 3000]);
});
