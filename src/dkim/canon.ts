/**
 * DKIM's "relaxed" canonicalization (RFC 6376 §3.4.2, §3.4.4), over bytes: header fields are
 * handled as binary strings (one character per byte), so UTF-8 header fields (RFC 6532) are
 * signed exactly as they travel.
 *
 * @module
 */
import { bytesFrom, concatBytes, firstBytes, latin1 } from "../bytes.ts";
import { findHeaderEnd } from "../header_end.ts";
import { isWsp, trimmed } from "../trim.ts";

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
  const end = findHeaderEnd([message]);
  if (end === undefined) return { header: message, body: message.subarray(message.length) };
  return { header: message.subarray(0, end.emptyLine), body: message.subarray(end.bodyStart) };
}

/**
 * The header fields of HEADER (the header section, as {@link splitMessage} gives it), in
 * order. A line that starts with white space continues the field before it; text before the
 * first field or without a colon is not a field and is skipped.
 */
export function parseHeader(header: Uint8Array): HeaderField[] {
  const text = latin1(header);
  const fields: HeaderField[] = [];
  const lines = text.split(/\r?\n/);
  let current: string | undefined;
  const flush = () => {
    if (current === undefined) return;
    const colon = current.indexOf(":");
    if (colon > 0) {
      fields.push({
        key: fieldKey(current, colon),
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
 * The name of the field RAW whose first colon is at COLON, lower-cased, without the blanks
 * before the colon (RFC 6376 §3.4.2).
 */
export function fieldKey(raw: string, colon: number): string {
  return trimmed(raw.slice(0, colon), () => false, isWsp).toLowerCase();
}

/** What makes a value need more than its one leading space removed. */
const NOT_PLAIN = /[\r\n\t]| {2}| $/;

/**
 * RFC 6376 §3.4.2: the name in lower case, folds removed, runs of white space made one space,
 * none at the ends of the value or around the colon; followed by CRLF unless LAST.
 */
export function relaxedHeader(raw: string, last = false): string {
  const colon = raw.indexOf(":");
  const name = fieldKey(raw, colon);
  const rest = raw.slice(colon + 1);
  const value = NOT_PLAIN.test(rest)
    // Only SP and HTAB are trimmed (WSP): String.prototype.trim would also take octet A0,
    // which ends many UTF-8 characters (à is C3 A0) and is NBSP when read as Latin-1.
    ? rest.replace(/\r?\n/g, "").replace(/[ \t]+/g, " ").replace(/^ | $/g, "")
    // Most values need nothing but the space after the colon removed.
    : rest.charCodeAt(0) === 0x20
    ? rest.slice(1)
    : rest;
  return `${name}:${value}${last ? "" : "\r\n"}`;
}

/**
 * The header section and the body of a message given in CHUNKS (RFC 5322 §2.1: the body starts
 * after the first empty line), without copying the body. A message without one is all header.
 */
export function splitChunks(chunks: readonly Uint8Array[]): {
  header: Uint8Array;
  body: Uint8Array[];
} {
  const end = findHeaderEnd(chunks);
  if (end === undefined) return { header: concatBytes(chunks), body: [] };
  return { header: firstBytes(chunks, end.emptyLine), body: bytesFrom(chunks, end.bodyStart) };
}

/**
 * The relaxed canonicalization of a body (RFC 6376 §3.4.4), fed in pieces and given out in
 * pieces of at most a buffer's size: white space at the ends of lines removed, other runs of it
 * made one space, empty lines at the end removed, and a non-empty body ending with CRLF. One
 * pass, in memory bounded by the buffer whatever the size of the body.
 */
export class RelaxedBody {
  readonly #out: Uint8Array;
  readonly #sink: (bytes: Uint8Array) => void;
  #n = 0;
  #empty = 0;
  #space = false;
  #text = false;
  #cr = false;

  /** BUFFER: the run buffer's size, or the buffer itself (of 16 octets or more). */
  constructor(sink: (bytes: Uint8Array) => void, buffer: number | Uint8Array = 64 * 1024) {
    this.#sink = sink;
    this.#out = typeof buffer === "number" ? new Uint8Array(Math.max(buffer, 16)) : buffer;
  }

  #flush(): void {
    if (this.#n > 0) this.#sink(this.#out.subarray(0, this.#n));
    this.#n = 0;
  }

  #byte(b: number): void {
    if (this.#n === this.#out.length) this.#flush();
    this.#out[this.#n++] = b;
  }

  /** Text begins: the empty lines and the space held back before it. */
  #beginText(): void {
    for (; this.#empty > 0; this.#empty--) {
      this.#byte(CR);
      this.#byte(LF);
    }
    if (this.#space) this.#byte(SP);
    this.#space = false;
    this.#text = true;
  }

  /** Text: the empty lines and the space held back before it, then RUN. */
  #textRun(run: Uint8Array): void {
    this.#beginText();
    if (run.length > this.#out.length - this.#n) {
      this.#flush();
      if (run.length > this.#out.length) {
        this.#sink(run);
        return;
      }
    }
    this.#out.set(run, this.#n);
    this.#n += run.length;
  }

  #lineEnd(): void {
    if (this.#text) {
      this.#byte(CR);
      this.#byte(LF);
    } else {
      this.#empty++;
    }
    this.#space = false;
    this.#text = false;
  }

  update(input: Uint8Array): void {
    // A Buffer's subarray is another Buffer, made at many times the cost of a plain view.
    const bytes = input.constructor === Uint8Array
      ? input
      : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    const n = bytes.length;
    let i = 0;
    while (i < n) {
      if (this.#cr) {
        this.#cr = false;
        if (bytes[i] === LF) {
          this.#lineEnd();
          i++;
          continue;
        }
        this.#textRun(CR_BYTE);
      }
      const first = bytes[i];
      if (first === SP || first === HTAB) {
        this.#space = true;
        i++;
        continue;
      }
      if (first === CR) {
        this.#cr = true;
        i++;
        continue;
      }
      const start = i;
      for (; i < n; i++) {
        const b = bytes[i]!;
        if (b === SP || b === HTAB || b === CR) break;
      }
      // A long run is copied at once; a short one (a word) octet by octet, which costs less
      // than making a view of it.
      if (i - start > 32) {
        this.#textRun(bytes.subarray(start, i));
        continue;
      }
      this.#beginText();
      const out = this.#out;
      let k = this.#n;
      for (let j = start; j < i; j++) {
        if (k === out.length) {
          this.#n = k;
          this.#flush();
          k = 0;
        }
        out[k++] = bytes[j]!;
      }
      this.#n = k;
    }
  }

  /** The body is over: the last line's CRLF, if it has text, and the rest of the buffer. */
  end(): void {
    if (this.#cr) {
      this.#cr = false;
      this.#textRun(CR_BYTE);
    }
    if (this.#text) {
      this.#byte(CR);
      this.#byte(LF);
      this.#text = false;
    }
    this.#flush();
  }
}

const CR_BYTE = new Uint8Array([CR]);

/** The relaxed canonical form of BODY, in one array (see {@link RelaxedBody}). */
export function relaxedBody(body: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  const c = new RelaxedBody((b) => parts.push(b.slice()));
  c.update(body);
  c.end();
  return concatBytes(parts);
}

/** RFC 6376 §3.4.1: the "simple" header canonicalization, the field exactly as it came. */
export function simpleHeader(raw: string, last = false): string {
  return last ? raw : `${raw}\r\n`;
}

/**
 * The simple canonicalization of a body (RFC 6376 §3.4.3), fed in pieces: the body as it is,
 * but empty lines at its end removed and a last line without CRLF given one; an empty body is
 * one CRLF. The body is given out as views of the pieces fed, not copied; only the CRLFs at the
 * end of what has come so far are held back (as a count), as they may be the empty lines at the
 * end, so memory stays bounded whatever the size of the body.
 */
export class SimpleBody {
  readonly #sink: (bytes: Uint8Array) => void;
  /** Whether what came so far ends at the start of a line (after a CRLF, or at the start). */
  #lineStart = true;
  /** Empty lines held back: given out only if text follows them. */
  #held = 0;
  /** A CR ended the last piece: a line end if an LF follows, else text. */
  #cr = false;
  /** Whether anything was given out: an empty body is given out as CRLF. */
  #wrote = false;

  constructor(sink: (bytes: Uint8Array) => void) {
    this.#sink = sink;
  }

  #out(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#sink(bytes);
    this.#wrote = true;
  }

  /** Text follows: the empty lines held back are not the body's last, so they go out first. */
  #text(bytes: Uint8Array): void {
    for (; this.#held > 0; this.#held -= Math.min(this.#held, CRLFS.length / 2)) {
      this.#out(CRLFS.subarray(0, 2 * Math.min(this.#held, CRLFS.length / 2)));
    }
    this.#out(bytes);
    this.#lineStart = false;
  }

  /** PAIRS CRLFs: the first ends a line of text, if one is open; the rest are empty lines. */
  #lineEnds(pairs: number): void {
    if (pairs === 0) return;
    if (!this.#lineStart) {
      this.#out(CRLFS.subarray(0, 2));
      this.#lineStart = true;
      pairs--;
    }
    this.#held += pairs;
  }

  update(bytes: Uint8Array): void {
    let start = 0;
    if (this.#cr && bytes.length > 0) {
      this.#cr = false;
      if (bytes[0] === LF) {
        this.#lineEnds(1);
        start = 1;
      } else {
        this.#text(CR_BYTE);
      }
    }
    // What the piece ends with: CRLFs, and perhaps a CR whose meaning the next piece tells.
    let end = bytes.length;
    if (end > start && bytes[end - 1] === CR) {
      this.#cr = true;
      end--;
    }
    let tail = end;
    while (tail - 2 >= start && bytes[tail - 2] === CR && bytes[tail - 1] === LF) tail -= 2;
    if (tail > start) this.#text(bytes.subarray(start, tail));
    this.#lineEnds((end - tail) / 2);
  }

  /** The body is over: the last line's CRLF, if it has text, and CRLF for an empty body. */
  end(): void {
    if (this.#cr) {
      this.#cr = false;
      this.#text(CR_BYTE);
    }
    if (!this.#lineStart || !this.#wrote) this.#out(CRLFS.subarray(0, 2));
    this.#lineStart = true;
    this.#held = 0;
  }
}

/** CRLFs given out from, many at a time (a body may end in millions of empty lines). */
const CRLFS = new TextEncoder().encode("\r\n".repeat(512));
