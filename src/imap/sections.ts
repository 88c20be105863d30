/**
 * The octets a FETCH section names (RFC 9051 §6.4.5): the whole message, its header or text,
 * a subset of header fields, a part, a part's MIME header, or the header and text of a message
 * inside a message/rfc822 part; and BINARY's decoded content and its size (RFC 3516). Everything
 * is cut out of the stored bytes, never re-encoded.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Partial, Section } from "./fetch_items.ts";
import { findPart, octetString, type Part } from "./message_parts.ts";
import { concatBytes } from "../bytes.ts";

const CRLF = new Uint8Array([0x0d, 0x0a]);
const EMPTY = new Uint8Array(0);

/**
 * A message as FETCH reads it: its bytes and its structure (which a store may read or parse only
 * when first asked for), and, when the store can, a range of its octets read without the rest:
 * a section or a partial of a large message then costs the octets it names.
 */
export interface MessageSource {
  readonly bytes: Uint8Array;
  readonly structure: Part;
  /** Octets START to END (clamped to the message), read alone. */
  readonly range?: (start: number, end: number) => Uint8Array;
}

/** The octets of SECTION of MESSAGE (whose structure is ROOT); empty when there is no such part. */
export function sectionBytes(message: Uint8Array, root: Part, section: Section): Uint8Array {
  return sectionOf({ bytes: message, structure: root }, section);
}

/**
 * The octets of SECTION of MESSAGE, or of PARTIAL of them (RFC 9051 §6.4.5); empty when there is
 * no such part. Only the octets named are read when MESSAGE can read a range, and the whole
 * message needs no structure.
 */
export function sectionOf(message: MessageSource, section: Section, partial?: Partial): Uint8Array {
  if (section.part.length === 0 && section.text === undefined) {
    return cut(message, 0, Infinity, partial);
  }
  const span = sectionSpan(message.structure, section);
  if (!span) return EMPTY;
  if (section.text === "HEADER.FIELDS" || section.text === "HEADER.FIELDS.NOT") {
    const fields = headerFields(
      read(message, span[0], span[1]),
      section.fields ?? [],
      section.text === "HEADER.FIELDS.NOT",
    );
    return partialOf(fields, partial);
  }
  return cut(message, span[0], span[1], partial);
}

/**
 * Where SECTION lies in the message whose structure is ROOT (for HEADER.FIELDS: the header it
 * picks from); undefined when there is no such part.
 */
function sectionSpan(root: Part, section: Section): readonly [number, number] | undefined {
  let entity: Part | undefined = root;
  if (section.part.length > 0) {
    entity = findPart(root, section.part);
    if (!entity) return undefined;
    if (section.text === undefined) return [entity.bodyStart, entity.bodyEnd];
    if (section.text === "MIME") return [entity.headerStart, entity.bodyStart];
    // HEADER, TEXT and HEADER.FIELDS of a part name the message inside a message/rfc822 part.
    entity = entity.message;
    if (!entity) return undefined;
  }
  switch (section.text) {
    case undefined:
      return [entity.headerStart, entity.bodyEnd];
    case "HEADER":
    case "HEADER.FIELDS":
    case "HEADER.FIELDS.NOT":
      return [entity.headerStart, entity.bodyStart];
    case "TEXT":
      return [entity.bodyStart, entity.bodyEnd];
  }
  // MIME of the message itself names nothing (the parser refuses it; a part was handled above).
  return undefined;
}

/** Octets START to END of MESSAGE: read alone when it can, else cut out of its bytes. */
function read(message: MessageSource, start: number, end: number): Uint8Array {
  // The whole message is its bytes, which other items of the same FETCH may want too.
  if (!message.range || (start === 0 && end === Infinity)) {
    return message.bytes.subarray(start, end);
  }
  return message.range(start, end);
}

/** Octets START to END of MESSAGE, or PARTIAL of them (empty when it starts past their end). */
function cut(message: MessageSource, start: number, end: number, partial?: Partial): Uint8Array {
  if (!partial) return read(message, start, end);
  const from = start + partial.start;
  if (from >= end) return EMPTY;
  return read(message, from, Math.min(end, from + partial.count));
}

/**
 * The header's fields named in NAMES (upper-cased), or all but those when NOT, each with its
 * folded lines as sent, then the blank line that ends a header (nothing at all when no field
 * is kept, as Dovecot answers).
 */
export function headerFields(
  header: Uint8Array,
  names: readonly string[],
  not: boolean,
): Uint8Array {
  const wanted = new Set(names.map((n) => n.toUpperCase()));
  const kept: Uint8Array[] = [];
  let i = 0;
  while (i < header.length) {
    // One field: this line and the continuation lines after it.
    let end = i;
    do {
      const lf = header.indexOf(0x0a, end);
      end = lf < 0 ? header.length : lf + 1;
    } while (end < header.length && (header[end] === 0x20 || header[end] === 0x09));
    const line = header.subarray(i, end);
    const colon = line.indexOf(0x3a);
    // The blank line that ends the header is not a field.
    if (colon > 0) {
      const name = octetString(line.subarray(0, colon)).trim().toUpperCase();
      if (wanted.has(name) !== not) kept.push(line);
    }
    i = end;
  }
  // The blank line that ends a header follows the fields; with no fields there is nothing.
  if (kept.length === 0) return EMPTY;
  kept.push(CRLF);
  return concatBytes(kept);
}

/** The octets of PARTIAL (`<start.count>`) of DATA: empty past the end (RFC 9051 §6.4.5). */
export function partialOf(data: Uint8Array, partial: Partial | undefined): Uint8Array {
  if (!partial) return data;
  if (partial.start >= data.length) return EMPTY;
  return data.subarray(partial.start, Math.min(data.length, partial.start + partial.count));
}

/** Why BINARY cannot decode a part: its transfer encoding is unknown (`UNKNOWN-CTE`). */
export class UnknownEncodingError extends Error {
  override readonly name = "UnknownEncodingError";
}

/** BINARY's content of a part, and whether a transfer encoding was undone to get it. */
export interface BinaryContent {
  readonly bytes: Uint8Array;
  readonly decoded: boolean;
}

/**
 * BINARY[part] (RFC 3516 §4.2): the part's body with its Content-Transfer-Encoding undone; the
 * whole message as it is for an empty part, and a multipart's body as it is (as Dovecot does).
 * Undefined when there is no such part.
 */
export function binaryContent(
  message: Uint8Array,
  root: Part,
  part: readonly number[],
): BinaryContent | undefined {
  return binaryOf({ bytes: message, structure: root }, part);
}

/**
 * {@link binaryContent} of MESSAGE, or PARTIAL of it. A part left as it is (and the whole
 * message) is read only where PARTIAL says; a part to decode is read whole, the rest not.
 */
export function binaryOf(
  message: MessageSource,
  part: readonly number[],
  partial?: Partial,
): BinaryContent | undefined {
  if (part.length === 0) return { bytes: cut(message, 0, Infinity, partial), decoded: false };
  const entity = findPart(message.structure, part);
  if (!entity) return undefined;
  const { bodyStart, bodyEnd } = entity;
  switch (transferEncoding(entity)) {
    case "7BIT":
    case "8BIT":
    case "BINARY":
      return { bytes: cut(message, bodyStart, bodyEnd, partial), decoded: false };
    case "BASE64": {
      const body = read(message, bodyStart, bodyEnd);
      const bytes = new Uint8Array(Buffer.from(octetString(body), "base64"));
      return { bytes: partialOf(bytes, partial), decoded: true };
    }
    case "QUOTED-PRINTABLE": {
      const bytes = decodeQuotedPrintable(read(message, bodyStart, bodyEnd));
      return { bytes: partialOf(bytes, partial), decoded: true };
    }
  }
  throw unknownEncoding(entity);
}

/**
 * BINARY.SIZE[part] (RFC 3516 §4.2): the length of {@link binaryOf}'s content, counted in one
 * pass over the encoded octets without building the decoded ones (clients list attachment sizes
 * with it). Undefined when there is no such part; throws UnknownEncodingError where binaryOf
 * does.
 */
export function binarySize(message: MessageSource, part: readonly number[]): number | undefined {
  if (part.length === 0) return message.bytes.length;
  const entity = findPart(message.structure, part);
  if (!entity) return undefined;
  const { bodyStart, bodyEnd } = entity;
  switch (transferEncoding(entity)) {
    case "7BIT":
    case "8BIT":
    case "BINARY":
      // The structure's offsets lie within the message it was parsed from.
      return Math.max(0, bodyEnd - bodyStart);
    case "BASE64":
      return base64Length(read(message, bodyStart, bodyEnd));
    case "QUOTED-PRINTABLE":
      return quotedPrintable(read(message, bodyStart, bodyEnd), undefined);
  }
  throw unknownEncoding(entity);
}

/** The transfer encoding BINARY undoes for ENTITY, upper-cased; a multipart's body is as it is. */
function transferEncoding(entity: Part): string {
  return entity.children ? "7BIT" : entity.encoding.toUpperCase();
}

function unknownEncoding(entity: Part): UnknownEncodingError {
  return new UnknownEncodingError(`Unknown Content-Transfer-Encoding: ${entity.encoding}`);
}

/**
 * How many octets `Buffer.from(octetString(input), "base64")` (binaryOf's decoder) gives: it
 * skips every octet outside the base64 and base64url alphabets (line breaks, spaces, garbage),
 * stops at the first `=`, and makes 3 octets of each 4 characters and 0, 1 or 2 of the 1, 2 or 3
 * left over. A test holds the two equal on random and mangled input.
 */
export function base64Length(input: Uint8Array): number {
  let chars = 0;
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (c === 0x3d) break;
    if (
      (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) ||
      c === 0x2b || c === 0x2f || c === 0x2d || c === 0x5f
    ) chars++;
  }
  return Math.floor(chars / 4) * 3 + Math.max(0, (chars % 4) - 1);
}

/**
 * Quoted-printable decoding (RFC 2045 §6.7): `=XX` is an octet, `=` at a line's end a soft
 * break; malformed escapes are kept as they are, trailing spaces before a line end dropped.
 */
export function decodeQuotedPrintable(input: Uint8Array): Uint8Array {
  const out = new Uint8Array(input.length);
  return out.subarray(0, quotedPrintable(input, out));
}

/**
 * Decodes quoted-printable INPUT into OUT (at least as long as INPUT), or only counts the
 * octets when OUT is undefined, and returns how many: one loop for both, so BINARY.SIZE is
 * always the length of BINARY.
 */
function quotedPrintable(input: Uint8Array, out: Uint8Array | undefined): number {
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
        if (out) out[n] = h * 16 + l;
        n++;
        i += 2;
        continue;
      }
      if (out) out[n] = c;
      n++;
      continue;
    }
    if (c === 0x20 || c === 0x09) {
      // Trailing white space before a line end was added in transport (§6.7 rule 3).
      let j = i + 1;
      while (input[j] === 0x20 || input[j] === 0x09) j++;
      if (j === input.length || input[j] === 0x0d || input[j] === 0x0a) {
        i = j - 1;
        continue;
      }
      // Other white space is kept, the whole run at once: each octet is looked at once, however
      // long the run a sender makes.
      if (out) out.set(input.subarray(i, j), n);
      n += j - i;
      i = j - 1;
      continue;
    }
    if (out) out[n] = c;
    n++;
  }
  return n;
}
