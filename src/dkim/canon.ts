/**
 * DKIM's "relaxed" canonicalization (RFC 6376 §3.4.2, §3.4.4), over bytes: header fields are
 * handled as binary strings (one character per byte), so UTF-8 header fields (RFC 6532) are
 * signed exactly as they travel.
 *
 * @module
 */

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;

/** One header field as it appears in the message: its name and its whole text, folds and all. */
export interface HeaderField {
  /** The field name, lower-case. */
  readonly key: string;
  /** The field as written, as a binary string, without its final CRLF. */
  readonly raw: string;
}

/** Where the header section of a message ends and its body begins. */
export interface SplitMessage {
  readonly header: Uint8Array;
  /** The body (after the empty line), empty when there is none. */
  readonly body: Uint8Array;
}

/**
 * Splits MESSAGE at the empty line that ends its header section (RFC 5322 §2.1). A message
 * without one is all header.
 */
export function splitMessage(message: Uint8Array): SplitMessage {
  let lineStart = 0;
  for (let i = message.indexOf(LF); i >= 0; i = message.indexOf(LF, i + 1)) {
    const len = i - lineStart;
    if (len === 0 || (len === 1 && message[lineStart] === CR)) {
      return { header: message.subarray(0, lineStart), body: message.subarray(i + 1) };
    }
    lineStart = i + 1;
  }
  return { header: message, body: message.subarray(message.length) };
}

/** A binary string of BYTES (Latin-1: byte n is code point n). */
export function binary(bytes: Uint8Array): string {
  let s = "";
  // In slices: String.fromCharCode takes its arguments on the stack.
  for (let i = 0; i < bytes.length; i += 8192) {
    s += String.fromCharCode(...bytes.subarray(i, Math.min(i + 8192, bytes.length)));
  }
  return s;
}

/** The bytes of the binary string S. */
export function fromBinary(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

/**
 * The header fields of HEADER (the header section, as {@link splitMessage} gives it), in
 * order. A line that starts with white space continues the field before it; text before the
 * first field or without a colon is not a field and is skipped.
 */
export function parseHeader(header: Uint8Array): HeaderField[] {
  const text = binary(header);
  const fields: HeaderField[] = [];
  const lines = text.split(/\r?\n/);
  let current: string | undefined;
  const flush = () => {
    if (current === undefined) return;
    const colon = current.indexOf(":");
    if (colon > 0) {
      fields.push({
        key: current.slice(0, colon).replace(/[ \t]+$/, "").toLowerCase(),
        raw: current,
      });
    }
    current = undefined;
  };
  for (const line of lines) {
    if (line === "") continue;
    if ((line.startsWith(" ") || line.startsWith("\t")) && current !== undefined) {
      current += "\r\n" + line;
    } else {
      flush();
      current = line;
    }
  }
  flush();
  return fields;
}

/**
 * RFC 6376 §3.4.2: the name in lower case, folds removed, runs of white space made one space,
 * none at the ends of the value or around the colon; followed by CRLF unless LAST.
 */
export function relaxedHeader(raw: string, last = false): string {
  const colon = raw.indexOf(":");
  const name = raw.slice(0, colon).replace(/[ \t]+$/, "").toLowerCase();
  const value = raw.slice(colon + 1).replace(/\r?\n/g, "").replace(/[ \t]+/g, " ").trim();
  return `${name}:${value}${last ? "" : "\r\n"}`;
}

/**
 * The relaxed canonical form of BODY (RFC 6376 §3.4.4): white space at the ends of lines
 * removed, other runs of it made one space, empty lines at the end removed, and a non-empty
 * body ending with CRLF. Linear in the body, one pass.
 */
export function relaxedBody(body: Uint8Array): Uint8Array {
  // The canonical form is never longer than the body plus a final CRLF.
  const out = new Uint8Array(body.length + 2);
  let n = 0;
  /** White space seen on this line and not yet written (it becomes one space before text). */
  let space = false;
  /** Whether this line has text. */
  let text = false;
  /** Empty lines not yet written: only written if text follows them. */
  let empty = 0;
  for (let i = 0; i < body.length; i++) {
    const b = body[i]!;
    if (b === SP || b === HTAB) {
      space = true;
    } else if (b === CR && body[i + 1] === LF) {
      i++;
      if (text) {
        out[n++] = CR;
        out[n++] = LF;
      } else {
        empty++;
      }
      space = false;
      text = false;
    } else {
      for (; empty > 0; empty--) {
        out[n++] = CR;
        out[n++] = LF;
      }
      if (space) out[n++] = SP;
      space = false;
      text = true;
      out[n++] = b;
    }
  }
  if (text) {
    out[n++] = CR;
    out[n++] = LF;
  }
  return out.subarray(0, n);
}
