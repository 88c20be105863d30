/**
 * The header fields of a received message as byte ranges, read in one bounded pass (at most
 * {@link MAX_HEADER_BYTES} and {@link MAX_FIELDS}), so that fields can be removed or added
 * while every other byte of the message stays as it came.
 *
 * @module
 */
import { insertBytes, latin1 } from "../bytes.ts";
import { headerSection } from "../header_end.ts";
import { MAX_HEADER_BYTES } from "../mime/mod.ts";

/** Fields looked at; past this, the rest of the header is left alone. */
export const MAX_FIELDS = 1000;

/** One header field: its name in lower case and where it lies, through its final line break. */
export interface HeaderField {
  readonly name: string;
  /** Offset of its first byte in the message. */
  readonly start: number;
  /** Offset just past its last line break. */
  readonly end: number;
}

const LF = 0x0a;
const COLON = 0x3a;
const ENCODER = new TextEncoder();

/**
 * The fields of the header block of CHUNKS (RFC 5322 §2.2: a field continues on lines that
 * begin with white space), in order. A field cut off by the size cap is left out; a line that
 * is not a field (no colon) has the name "".
 */
export function headerFields(chunks: readonly Uint8Array[]): {
  readonly fields: HeaderField[];
  readonly header: Uint8Array;
} {
  const header = headerSection(chunks, MAX_HEADER_BYTES);
  const fields: HeaderField[] = [];
  let start = -1;
  let name = "";
  let i = 0;
  while (i < header.length && fields.length < MAX_FIELDS) {
    const lf = header.indexOf(LF, i);
    if (lf < 0) break; // the last line is cut off (or the message has no body): not whole
    const first = header[i];
    if (first !== 0x20 && first !== 0x09) {
      if (start >= 0) fields.push({ name, start, end: i });
      start = i;
      const colon = header.subarray(i, lf).indexOf(COLON);
      name = colon < 0 ? "" : latin1(header.subarray(i, i + colon)).trim().toLowerCase();
    }
    i = lf + 1;
  }
  // The last field is whole when the empty line that ends the header block (or the end of the
  // message), or the start of another field, follows it.
  const next = header[i];
  const another = next !== undefined && next !== 0x20 && next !== 0x09 && next !== 0x0d;
  if (start >= 0 && fields.length < MAX_FIELDS && (another || ended(chunks, i))) {
    fields.push({ name, start, end: i });
  }
  return { fields, header };
}

/** Whether the message has an empty line (the end of the header block) at OFFSET. */
function ended(chunks: readonly Uint8Array[], offset: number): boolean {
  if (offset >= MAX_HEADER_BYTES) return false;
  const next = byteAt(chunks, offset);
  return next === undefined || next === LF || (next === 0x0d && byteAt(chunks, offset + 1) === LF);
}

function byteAt(chunks: readonly Uint8Array[], offset: number): number | undefined {
  for (const c of chunks) {
    if (offset < c.length) return c[offset];
    offset -= c.length;
  }
  return undefined;
}

/** The text of FIELD's value (after the colon), unfolded; UTF-8 when valid (RFC 6532). */
export function fieldValue(header: Uint8Array, field: HeaderField): string {
  const bytes = header.subarray(field.start, field.end);
  const colon = bytes.indexOf(COLON);
  const raw = bytes.subarray(colon + 1);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch {
    text = latin1(raw);
  }
  return text.replace(/\r?\n/g, "");
}

/**
 * CHUNKS with the byte ranges of FIELDS (in order, not overlapping) left out: views, not
 * copies, and every other byte as it was.
 */
export function withoutFields(
  chunks: readonly Uint8Array[],
  fields: readonly HeaderField[],
): Uint8Array[] {
  if (fields.length === 0) return [...chunks];
  const out: Uint8Array[] = [];
  let at = 0; // offset of the current chunk in the message
  let f = 0;
  for (const chunk of chunks) {
    const end = at + chunk.length;
    let pos = at;
    while (f < fields.length && fields[f]!.end <= pos) f++;
    while (f < fields.length && fields[f]!.start < end) {
      const field = fields[f]!;
      if (field.start > pos) out.push(chunk.subarray(pos - at, field.start - at));
      pos = Math.max(pos, field.end);
      if (field.end > end) break; // it goes on in the next chunk
      f++;
    }
    if (pos < end) out.push(chunk.subarray(pos - at));
    at = end;
  }
  return out;
}

/** CHUNKS with TEXT inserted at OFFSET (a field boundary). */
export function withInserted(
  chunks: readonly Uint8Array[],
  offset: number,
  text: string,
): Uint8Array[] {
  return insertBytes(chunks, offset, ENCODER.encode(text));
}
