/**
 * Command lines out of the client's byte stream, with a length cap.
 *
 * RFC 2449 §4 limits a command line to 255 octets including the CRLF; clients exceed it (long
 * user names, AUTH with an initial response), so we accept {@link MAX_COMMAND_LINE} octets, as
 * RFC 1939 servers commonly do. A SASL response (RFC 5034 §4) may be longer: the session asks
 * for {@link MAX_SASL_LINE} while it waits for one. A line past its cap is discarded up to its
 * end and reported once as too long: the session answers `-ERR` and goes on, and memory stays
 * bounded whatever the client sends.
 *
 * A bare LF also ends a line (hand-typed sessions send one). Input is taken as the socket hands
 * it over and consumed one line at a time, so the session can stop between two pipelined
 * commands (RFC 2449 §6.6) and let the driver flush a large answer before the next.
 *
 * @module
 */
import { concatBytes } from "../bytes.ts";

/** Longest command line accepted, in octets including CRLF (RFC 2449 §4 asks for 255). */
export const MAX_COMMAND_LINE = 512;

/** Longest SASL response line accepted (base64 of authzid, user name and password). */
export const MAX_SASL_LINE = 2048;

/** A line (without its line ending) or the marker of a line that was too long. */
export type LineEvent =
  | { readonly kind: "line"; readonly line: Uint8Array }
  | { readonly kind: "too-long" };

const LF = 0x0a;
const CR = 0x0d;

/** Incremental line splitter: {@link push} input, then take lines with {@link next}. */
export class LineReader {
  /** Input not looked at yet; the first buffer from `#at` on. */
  #queue: Uint8Array[] = [];
  #at = 0;
  /** The start of a line whose end has not arrived (a copy: socket buffers are not ours). */
  #partial: Uint8Array[] = [];
  #partialLength = 0;
  /** Skipping a too-long line up to its end. */
  #discarding = false;

  /** Takes BYTES; nothing is read from them until {@link next}. */
  push(bytes: Uint8Array): void {
    if (bytes.length > 0) this.#queue.push(bytes);
  }

  /** Octets held: unread input and the line under way. */
  get buffered(): number {
    let n = this.#partialLength;
    for (const b of this.#queue) n += b.length;
    // #at is how far into the first buffer has been read.
    return n - this.#at;
  }

  /** Whether a line has begun and not ended (the driver's line deadline runs meanwhile). */
  get midLine(): boolean {
    return this.#partialLength > 0 || this.#discarding;
  }

  /** Whether a whole line may be waiting in the input (a cheap check: some input is unread). */
  get hasInput(): boolean {
    return this.#queue.length > 0;
  }

  /** Forgets everything held (after STLS, RFC 2595 §4: what followed it is not read). */
  reset(): void {
    this.#queue = [];
    this.#at = 0;
    this.#partial = [];
    this.#partialLength = 0;
    this.#discarding = false;
  }

  /**
   * The next line, if a whole one has arrived; lines longer than MAX octets (line ending
   * included) come out as `too-long` once their end has arrived.
   */
  next(max: number = MAX_COMMAND_LINE): LineEvent | undefined {
    while (this.#queue.length > 0) {
      const buf = this.#queue[0]!;
      const lf = buf.indexOf(LF, this.#at);
      if (lf < 0) {
        this.#keep(buf.subarray(this.#at), max);
        this.#queue.shift();
        this.#at = 0;
        continue;
      }
      const piece = buf.subarray(this.#at, lf);
      this.#at = lf + 1;
      if (this.#at >= buf.length) {
        this.#queue.shift();
        this.#at = 0;
      }
      if (this.#discarding) {
        this.#discarding = false;
        return { kind: "too-long" };
      }
      let line = piece;
      if (this.#partialLength > 0) {
        line = concatBytes([...this.#partial, piece]);
        this.#partial = [];
        this.#partialLength = 0;
      }
      if (line.length + 1 > max) return { kind: "too-long" };
      if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
      return { kind: "line", line };
    }
    return undefined;
  }

  #keep(rest: Uint8Array, max: number): void {
    if (rest.length === 0 || this.#discarding) return;
    if (this.#partialLength + rest.length >= max) {
      // Past the cap before its end: forget it and skip to the end of the line.
      this.#partial = [];
      this.#partialLength = 0;
      this.#discarding = true;
      return;
    }
    this.#partial.push(rest.slice());
    this.#partialLength += rest.length;
  }
}
