/**
 * The verifier's faster forms of two readings of `src/dkim/canon.ts` (which the signer uses):
 * the header fields of a message ({@link readHeaderFields}, as `parseHeader` gives them) and the
 * relaxed body ({@link RelaxedRuns}, as `RelaxedBody` gives it). Every received message goes
 * through them, so they work on runs of bytes (a line, a word) where those go byte by byte; the
 * tests hold them to the same output over any input.
 *
 * @module
 */
import { latin1 } from "../bytes.ts";
import type { HeaderField } from "../dkim/canon.ts";

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;

/**
 * The header fields of HEADER (the header section, without the empty line), as `parseHeader`
 * reads them: a line that starts with white space continues the field before it, empty lines
 * and text without a colon (or before the first field) are not fields, and a field's lines are
 * joined with CRLF whatever ended them.
 */
export function readHeaderFields(header: Uint8Array): HeaderField[] {
  const text = latin1(header);
  const fields: HeaderField[] = [];
  // The field being read: where its text starts and ends, and its lines when one ended in a
  // bare LF (then the text between is not the field as parseHeader joins it).
  let start = -1;
  let end = -1;
  let lines: string[] | undefined;
  const flush = () => {
    if (start < 0) return;
    const raw = lines ? lines.join("\r\n") : text.slice(start, end);
    const colon = raw.indexOf(":");
    if (colon > 0) {
      fields.push({ key: raw.slice(0, colon).replace(/[ \t]+$/, "").toLowerCase(), raw });
    }
    start = -1;
    lines = undefined;
  };
  let at = 0;
  while (at <= text.length) {
    let lf = text.indexOf("\n", at);
    if (lf < 0) lf = text.length;
    const crlf = lf < text.length && lf > at && text.charCodeAt(lf - 1) === CR;
    const lineEnd = crlf ? lf - 1 : lf;
    if (lineEnd === at) {
      // An empty line is skipped; a field open across it is joined without it.
      if (start >= 0 && !lines && lf < text.length) lines = [text.slice(start, end)];
    } else {
      const first = text.charCodeAt(at);
      if ((first === SP || first === HTAB) && start >= 0) {
        if (lines) lines.push(text.slice(at, lineEnd));
        else if (!endedWithCrlf(text, end)) {
          lines = [text.slice(start, end), text.slice(at, lineEnd)];
        }
        end = lineEnd;
      } else {
        flush();
        start = at;
        end = lineEnd;
      }
    }
    at = lf + 1;
  }
  flush();
  return fields;
}

/** Whether the line that ends at END (before its line break) ended with CRLF. */
function endedWithCrlf(text: string, end: number): boolean {
  return text.charCodeAt(end) === CR && text.charCodeAt(end + 1) === LF;
}

/**
 * RFC 6376 §3.4.4's relaxed body, as `RelaxedBody` makes it (white space at the ends of lines
 * removed, other runs of it one space, empty lines at the end removed, a bare LF or CR is
 * text), over runs: the bytes between white space and CR are copied at once.
 */
export class RelaxedRuns {
  readonly #out: Uint8Array;
  readonly #sink: (bytes: Uint8Array) => void;
  #n = 0;
  #empty = 0;
  #space = false;
  #text = false;
  #cr = false;

  constructor(sink: (bytes: Uint8Array) => void, bufferSize = 16 * 1024) {
    this.#sink = sink;
    this.#out = new Uint8Array(Math.max(bufferSize, 16));
  }

  #flush(): void {
    if (this.#n > 0) this.#sink(this.#out.subarray(0, this.#n));
    this.#n = 0;
  }

  #byte(b: number): void {
    if (this.#n === this.#out.length) this.#flush();
    this.#out[this.#n++] = b;
  }

  /** Text: the empty lines and the space held back before it, then RUN. */
  #textRun(run: Uint8Array): void {
    for (; this.#empty > 0; this.#empty--) {
      this.#byte(CR);
      this.#byte(LF);
    }
    if (this.#space) this.#byte(SP);
    this.#space = false;
    this.#text = true;
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

  update(bytes: Uint8Array): void {
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
      const start = i;
      for (; i < n; i++) {
        const b = bytes[i];
        if (b === SP || b === HTAB || b === CR) break;
      }
      if (i > start) this.#textRun(bytes.subarray(start, i));
      if (i < n) {
        if (bytes[i] === CR) this.#cr = true;
        else this.#space = true;
        i++;
      }
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
