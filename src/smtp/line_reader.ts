/**
 * Command-mode framing: splits the byte stream into command lines, with a length cap.
 *
 * RFC 5321 §4.5.3.1.4 sets a 512-octet minimum for command lines; extensions lengthen them
 * (RFC 1870 SIZE, RFC 6531 UTF-8 paths of up to 256 octets each). We accept up to
 * {@link DEFAULT_MAX_COMMAND_LINE} octets including CRLF, as Postfix does (line_length_limit).
 * A longer line is discarded up to its end and reported once as too long: the session goes
 * on, and memory stays bounded whatever the client sends.
 *
 * A bare LF also ends a command line (many hand-typed sessions send one); only DATA insists
 * on CRLF, where it matters for message framing (see data_reader.ts).
 *
 * @module
 */
import { concatBytes } from "../bytes.ts";

/** Longest command line accepted, in octets including CRLF. */
export const DEFAULT_MAX_COMMAND_LINE = 2048;

/** What the reader produced: a line (without its line ending) or a too-long marker. */
export type LineEvent = { kind: "line"; line: Uint8Array } | { kind: "too-long" };

const LF = 0x0a;
const CR = 0x0d;

/** Incremental command-line splitter. Feed it with {@link LineReader.next}. */
export class LineReader {
  readonly #max: number;
  #pending: Uint8Array | undefined;
  #discarding = false;

  constructor(maxLine = DEFAULT_MAX_COMMAND_LINE) {
    this.#max = maxLine;
  }

  /** Bytes buffered toward an incomplete line (for memory accounting and tests). */
  get buffered(): number {
    return this.#pending?.length ?? 0;
  }

  /**
   * Takes the next line out of `buf` starting at `offset`. Returns the event and the offset
   * just past what it consumed, or `undefined` when `buf` holds no complete line from
   * `offset` on (the rest is then kept until more bytes arrive).
   */
  next(buf: Uint8Array, offset: number): [LineEvent, number] | undefined {
    const lf = buf.indexOf(LF, offset);
    if (lf < 0) {
      this.#keep(buf.subarray(offset));
      return undefined;
    }
    const end = lf + 1;
    if (this.#discarding) {
      this.#discarding = false;
      this.#pending = undefined;
      return [{ kind: "too-long" }, end];
    }
    let line = buf.subarray(offset, lf);
    if (this.#pending) {
      line = concatBytes([this.#pending, line]);
      this.#pending = undefined;
    }
    if (line.length + 1 > this.#max) return [{ kind: "too-long" }, end];
    if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
    return [{ kind: "line", line }, end];
  }

  /** Bytes that arrived after the last complete line, handed back when framing changes. */
  takePending(): Uint8Array {
    const p = this.#pending ?? new Uint8Array(0);
    this.#pending = undefined;
    return p;
  }

  #keep(rest: Uint8Array): void {
    if (rest.length === 0 || this.#discarding) return;
    const total = (this.#pending?.length ?? 0) + rest.length;
    if (total >= this.#max) {
      // Past the limit: forget what we have and skip to the end of this line.
      this.#pending = undefined;
      this.#discarding = true;
      return;
    }
    // Copy: the caller's buffer is reused by the socket layer.
    this.#pending = this.#pending ? concatBytes([this.#pending, rest]) : rest.slice();
  }
}
