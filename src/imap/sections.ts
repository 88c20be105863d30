/**
 * The octets a FETCH section names (RFC 9051 §6.4.5): the whole message, its header or text,
 * a subset of header fields, a part, a part's MIME header, or the header and text of a message
 * inside a message/rfc822 part; and BINARY's decoded content (RFC 3516). Everything is cut out
 * of the stored bytes, never re-encoded.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Partial, Section } from "./fetch_items.ts";
import { findPart, octetString, type Part } from "./message_parts.ts";
import { concatBytes } from "../bytes.ts";

const CRLF = new Uint8Array([0x0d, 0x0a]);
const EMPTY = new Uint8Array(0);

/** The octets of SECTION of MESSAGE (whose structure is ROOT); empty when there is no such part. */
export function sectionBytes(message: Uint8Array, root: Part, section: Section): Uint8Array {
  let entity: Part | undefined = root;
  if (section.part.length > 0) {
    entity = findPart(root, section.part);
    if (!entity) return EMPTY;
    if (section.text === undefined) return message.subarray(entity.bodyStart, entity.bodyEnd);
    if (section.text === "MIME") return message.subarray(entity.headerStart, entity.bodyStart);
    // HEADER, TEXT and HEADER.FIELDS of a part name the message inside a message/rfc822 part.
    entity = entity.message;
    if (!entity) return EMPTY;
  }
  switch (section.text) {
    case undefined:
      return message.subarray(entity.headerStart, entity.bodyEnd);
    case "HEADER":
      return message.subarray(entity.headerStart, entity.bodyStart);
    case "TEXT":
      return message.subarray(entity.bodyStart, entity.bodyEnd);
    case "HEADER.FIELDS":
    case "HEADER.FIELDS.NOT":
      return headerFields(
        message.subarray(entity.headerStart, entity.bodyStart),
        section.fields ?? [],
        section.text === "HEADER.FIELDS.NOT",
      );
  }
  // MIME of the message itself names nothing (the parser refuses it; a part was handled above).
  return EMPTY;
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
  if (part.length === 0) return { bytes: message, decoded: false };
  const entity = findPart(root, part);
  if (!entity) return undefined;
  const body = message.subarray(entity.bodyStart, entity.bodyEnd);
  if (entity.children) return { bytes: body, decoded: false };
  switch (entity.encoding.toUpperCase()) {
    case "7BIT":
    case "8BIT":
    case "BINARY":
      return { bytes: body, decoded: false };
    case "BASE64":
      return {
        bytes: new Uint8Array(Buffer.from(octetString(body), "base64")),
        decoded: true,
      };
    case "QUOTED-PRINTABLE":
      return { bytes: decodeQuotedPrintable(body), decoded: true };
  }
  throw new UnknownEncodingError(`Unknown Content-Transfer-Encoding: ${entity.encoding}`);
}

/**
 * Quoted-printable decoding (RFC 2045 §6.7): `=XX` is an octet, `=` at a line's end a soft
 * break; malformed escapes are kept as they are, trailing spaces before a line end dropped.
 */
export function decodeQuotedPrintable(input: Uint8Array): Uint8Array {
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
      // Trailing white space before a line end was added in transport (§6.7 rule 3).
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
