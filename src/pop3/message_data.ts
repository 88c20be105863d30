/**
 * A stored message as the data of a multi-line response (RFC 1939 §3): dot-stuffed, ended by
 * CRLF `.` CRLF, and otherwise byte for byte as stored; and TOP's cut of it (RFC 1939 §7).
 *
 * Lines end at LF. A line that begins with `.` is sent with one more `.` in front, after a
 * bare LF too: most clients (Python's poplib, fetchmail) end a line at LF, and an unstuffed
 * `.` there would end the response early and make the rest of the message read as replies.
 * A message that does not end with CRLF gets one before the final `.` (as Dovecot does); it is
 * part of the terminator, not counted in the message's size.
 *
 * The output is a list of chunks: long stretches of the message go out as views of the stored
 * bytes, never copied; only short stretches between two stuffed dots are copied together, so
 * a message of nothing but `.` lines does not become millions of tiny writes.
 *
 * @module
 */

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;

/** A stretch between two stuffed dots at least this long goes out as a view, not copied. */
const MIN_VIEW = 4096;
/** Copied stretches are gathered into chunks of about this size. */
const GATHER = 65_536;

const TERMINATOR = new Uint8Array([DOT, CR, LF]);
const CRLF_TERMINATOR = new Uint8Array([CR, LF, DOT, CR, LF]);

/**
 * How many octets of MESSAGE TOP sends for LINES body lines (RFC 1939 §7): the header, the
 * empty line that ends it, and then up to LINES lines of the body. A message without an empty
 * line is all header and is sent whole.
 */
export function topLength(message: Uint8Array, lines: number): number {
  const cut = new TopCut(lines);
  return cut.feed(message) ?? cut.end();
}

/** What the header's current line holds so far: nothing, a lone CR, or anything else. */
const enum Line {
  Empty,
  Cr,
  Other,
}

/**
 * {@link topLength} of a message read in pieces: fed the message's octets in order, it says
 * where TOP's cut ends as soon as the octets seen decide it, so a server can read a large
 * message's first octets only. The header ends at the first line that is empty or a lone CR,
 * known only at its LF (a line `\r` may go on); then LINES more LFs end the cut. At the
 * message's end, whatever is still open is sent whole.
 */
export class TopCut {
  /** Octets fed so far. */
  #seen = 0;
  #header = true;
  #line = Line.Empty;
  /** Body lines still to end. */
  #left: number;
  #cut: number | undefined;

  constructor(lines: number) {
    this.#left = lines;
  }

  /**
   * Feeds the message's next octets; returns the cut's length once they decide it (it is then
   * at most the octets fed so far), else undefined: feed more, or call {@link end}.
   */
  feed(piece: Uint8Array): number | undefined {
    const base = this.#seen;
    this.#seen += piece.length;
    let at = 0;
    while (this.#cut === undefined && at < piece.length) {
      const lf = piece.indexOf(LF, at);
      if (this.#header) {
        const end = lf < 0 ? piece.length : lf;
        // Only the line's first two octets matter: after them it is not empty.
        for (let i = at; i < end && this.#line !== Line.Other; i++) {
          this.#line = this.#line === Line.Empty && piece[i] === CR ? Line.Cr : Line.Other;
        }
        if (lf < 0) break;
        if (this.#line !== Line.Other) {
          this.#header = false;
          if (this.#left <= 0) this.#cut = base + lf + 1;
        }
        this.#line = Line.Empty;
      } else {
        if (lf < 0) break;
        if (--this.#left <= 0) this.#cut = base + lf + 1;
      }
      at = lf + 1;
    }
    return this.#cut;
  }

  /** The message has ended: the cut's length (all of it when still undecided). */
  end(): number {
    return this.#cut ?? this.#seen;
  }
}

/**
 * The first LENGTH octets of MESSAGE as multi-line response data: dot-stuffed, followed by
 * CRLF if they do not end with one, and by the terminating `.` CRLF.
 */
export function stuffedChunks(message: Uint8Array, length: number = message.length): Uint8Array[] {
  const out: Uint8Array[] = [];
  const gather = new Gatherer(out);
  let from = 0;
  // A stuffed dot goes before every `.` that begins a line: at the start, and after each LF.
  let dot = message[0] === DOT && length > 0 ? 0 : nextLineDot(message, 0, length);
  while (dot >= 0) {
    gather.add(message.subarray(from, dot));
    gather.addDot();
    from = dot;
    dot = nextLineDot(message, dot + 1, length);
  }
  gather.add(message.subarray(from, length));
  const endsWithCrlf = length >= 2 && message[length - 2] === CR && message[length - 1] === LF;
  gather.addEnd(length === 0 || endsWithCrlf ? TERMINATOR : CRLF_TERMINATOR);
  return out;
}

/** The index of the next `.` that begins a line, after FROM and before END; -1 if none. */
function nextLineDot(message: Uint8Array, from: number, end: number): number {
  let at = from;
  for (;;) {
    const lf = message.indexOf(LF, at);
    if (lf < 0 || lf + 1 >= end) return -1;
    if (message[lf + 1] === DOT) return lf + 1;
    at = lf + 1;
  }
}

/** Collects output: long pieces as they are, short ones copied together. */
class Gatherer {
  readonly #out: Uint8Array[];
  readonly #buf = new Uint8Array(GATHER);
  #used = 0;

  constructor(out: Uint8Array[]) {
    this.#out = out;
  }

  add(piece: Uint8Array): void {
    if (piece.length === 0) return;
    if (piece.length >= MIN_VIEW) {
      this.#flush();
      this.#out.push(piece);
      return;
    }
    if (this.#used + piece.length > GATHER) this.#flush();
    this.#buf.set(piece, this.#used);
    this.#used += piece.length;
  }

  addDot(): void {
    if (this.#used + 1 > GATHER) this.#flush();
    this.#buf[this.#used++] = DOT;
  }

  addEnd(end: Uint8Array): void {
    this.add(end);
    this.#flush();
  }

  #flush(): void {
    if (this.#used === 0) return;
    // A copy of exactly what was gathered: the buffer is reused, and a small chunk must not
    // keep a large buffer alive while it waits in the socket's queue.
    this.#out.push(this.#buf.slice(0, this.#used));
    this.#used = 0;
  }
}
