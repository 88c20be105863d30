/**
 * DATA framing: finds the end of the message and undoes dot-stuffing, byte-exactly.
 *
 * RFC 5321 §4.1.1.4: the mail data ends with the sequence CRLF "." CRLF, where the first CRLF
 * is the end of the last text line (or of the DATA command itself, for an empty message).
 * RFC 5321 §4.5.2: a line that begins with a dot has that dot removed on receipt.
 *
 * Only a real CRLF starts a new line. A bare LF or bare CR (one not part of CRLF) never ends the
 * data and never starts a line, so `\n.\n`, `\n.\r\n`, `\r.\r\n` and `\r\n.\r` cannot end a
 * message early and smuggle a second one behind it (the SMTP smuggling attacks of 2023). The
 * reader records that it saw one; the session then refuses the whole message (our policy:
 * reject, not repair, so that no other MTA in the path can read the message differently).
 *
 * Text lines longer than the 1000 octets of RFC 5321 §4.5.3.1.6 are passed through unchanged
 * (§4.5.3.1: "implementation techniques that impose no limits on the length of these objects
 * should be used"): the reader is not line-based and its memory does not depend on line length.
 * What bounds memory is the message size limit: past it, bytes are counted and dropped.
 *
 * @module
 */

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const CR_ONLY = new Uint8Array([CR]);

const enum S {
  /** Just after CRLF (or at the start of the data). */
  LineStart,
  /** Saw "." at the start of a line. */
  Dot,
  /** Saw "." CR at the start of a line. */
  DotCr,
  /** Inside a line. */
  Mid,
  /** Saw CR inside a line. */
  Cr,
}

/** Result of {@link DataReader.push}. */
export interface DataPush {
  /** Whether the terminating CRLF.CRLF was found. */
  readonly done: boolean;
  /** Offset in the pushed buffer just past the terminator (when done). */
  readonly offset: number;
}

/** Streaming DATA decoder for one message. */
export class DataReader {
  readonly #limit: number;
  readonly #owned: boolean;
  readonly #chunks: Uint8Array[] = [];
  #state = S.LineStart;
  #size = 0;
  #overflow = false;
  #bareLineEnding = false;

  /**
   * `limit`: bytes kept at most; beyond it the message is counted, not stored. `owned`: the
   * caller never reuses or changes a buffer it has pushed, so the message may keep views of
   * them instead of copies (a 25 MiB message is then held once, not twice until collected).
   */
  constructor(limit: number, owned = false) {
    this.#limit = limit;
    this.#owned = owned;
  }

  /** Message bytes so far (after unstuffing), including any that were dropped as over-size. */
  get size(): number {
    return this.#size;
  }
  /** Whether the message grew past the limit (its bytes were not all kept). */
  get overflow(): boolean {
    return this.#overflow;
  }
  /** Whether a bare CR or bare LF appeared in the data. */
  get bareLineEnding(): boolean {
    return this.#bareLineEnding;
  }
  /** Whether a line has begun and not yet ended (for the per-line deadline). */
  get midLine(): boolean {
    return this.#state !== S.LineStart;
  }
  /**
   * The decoded message, in pieces: copies, safe to keep after the caller reuses its buffers,
   * unless the buffers were declared owned.
   */
  get chunks(): readonly Uint8Array[] {
    return this.#chunks;
  }

  /** Feeds bytes from `buf[offset..]`; stops at the terminator. */
  push(buf: Uint8Array, offset = 0): DataPush {
    let state = this.#state;
    let seg = offset;
    for (let i = offset; i < buf.length; i++) {
      const b = buf[i]!;
      switch (state) {
        case S.LineStart:
          if (b === DOT) {
            // Either the terminator or a stuffed dot: it is never part of the message.
            this.#emit(buf, seg, i);
            seg = i + 1;
            state = S.Dot;
          } else if (b === CR) state = S.Cr;
          else {
            if (b === LF) this.#bareLineEnding = true;
            state = S.Mid;
          }
          break;
        case S.Dot:
          if (b === CR) {
            // Hold the CR back until we know whether LF follows.
            seg = i + 1;
            state = S.DotCr;
          } else {
            if (b === LF) this.#bareLineEnding = true;
            state = S.Mid;
          }
          break;
        case S.DotCr:
          if (b === LF) {
            this.#state = S.LineStart;
            return { done: true, offset: i + 1 };
          }
          // "." CR x: a stuffed dot followed by a bare CR; give back the CR we held.
          this.#emitBytes(CR_ONLY);
          i--; // re-read x as the byte after a CR
          state = S.Cr;
          break;
        case S.Mid:
          if (b === CR) state = S.Cr;
          else if (b === LF) this.#bareLineEnding = true;
          break;
        case S.Cr:
          if (b === LF) state = S.LineStart;
          else {
            this.#bareLineEnding = true;
            if (b !== CR) state = S.Mid;
          }
          break;
      }
    }
    if (state !== S.DotCr) this.#emit(buf, seg, buf.length);
    this.#state = state;
    return { done: false, offset: buf.length };
  }

  #emit(buf: Uint8Array, from: number, to: number): void {
    if (to > from) this.#emitBytes(buf.subarray(from, to));
  }

  #emitBytes(bytes: Uint8Array): void {
    this.#size += bytes.length;
    if (this.#overflow) return;
    if (this.#size > this.#limit) {
      this.#overflow = true;
      this.#chunks.length = 0;
      return;
    }
    this.#chunks.push(this.#owned ? bytes : bytes.slice());
  }
}

/**
 * Dot-stuffs a message for sending (RFC 5321 §4.5.2: a line that begins with a dot is sent
 * with the dot doubled) and appends the terminator. `message` must use CRLF line endings.
 */
export function dotStuff(message: Uint8Array): Uint8Array {
  let dots = message[0] === DOT ? 1 : 0;
  for (let i = 0; i + 2 < message.length; i++) {
    if (message[i] === CR && message[i + 1] === LF && message[i + 2] === DOT) dots++;
  }
  const endsWithCrlf = message.length >= 2 && message[message.length - 2] === CR &&
    message[message.length - 1] === LF;
  const tail = endsWithCrlf || message.length === 0 ? ".\r\n" : "\r\n.\r\n";
  const out = new Uint8Array(message.length + dots + tail.length);
  let o = 0;
  let lineStart = true;
  for (let i = 0; i < message.length; i++) {
    const b = message[i]!;
    if (lineStart && b === DOT) out[o++] = DOT;
    out[o++] = b;
    lineStart = b === LF && i > 0 && message[i - 1] === CR;
  }
  for (let k = 0; k < tail.length; k++) out[o++] = tail.charCodeAt(k);
  return out;
}
