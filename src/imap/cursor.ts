/**
 * The lexical layer of the command parser (RFC 9051 §4, §9): a cursor over one framed command
 * that reads atoms, quoted strings, literals, numbers, lists and dates. Every reader either
 * returns a value and moves on, or throws {@link ImapParseError} naming what was expected.
 *
 * @module
 */

/** A command that does not parse; the session answers it with `BAD` and goes on. */
export class ImapParseError extends Error {
  override readonly name = "ImapParseError";
}

const SP = 0x20;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const LPAREN = 0x28;
const RPAREN = 0x29;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const CR = 0x0d;
const LF = 0x0a;

/** atom-specials (RFC 9051 §9): `(`, `)`, `{`, SP, CTL, `%`, `*`, `"`, `\`, `]`. */
function isAtomSpecial(c: number): boolean {
  return c <= 0x20 || c === 0x7f || c === LPAREN || c === RPAREN || c === LBRACE ||
    c === 0x25 || c === 0x2a || c === DQUOTE || c === BACKSLASH || c === 0x5d;
}

/** ATOM-CHAR; octets over 0x7f are taken as UTF-8 text (RFC 9051 §9 allows UTF-8 in atoms). */
export function isAtomChar(c: number): boolean {
  return !isAtomSpecial(c);
}

function isLetter(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** ASTRING-CHAR: an ATOM-CHAR or `]`. */
function isAstringChar(c: number): boolean {
  return isAtomChar(c) || c === 0x5d;
}

/** list-char: an ATOM-CHAR, a list wildcard (`%`, `*`) or `]`. */
function isListChar(c: number): boolean {
  return isAstringChar(c) || c === 0x25 || c === 0x2a;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Decodes UTF-8 text from the client; bytes that are not UTF-8 make the command BAD. */
export function utf8(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new ImapParseError("Invalid UTF-8");
  }
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** Reads the parts of one command in order. */
export class Cursor {
  readonly #b: Uint8Array;
  #at = 0;
  /** Parentheses open at once: bounded, so nesting cannot exhaust the stack. */
  #depth = 0;
  readonly #maxDepth: number;

  constructor(bytes: Uint8Array, maxDepth = 32) {
    this.#b = bytes;
    this.#maxDepth = maxDepth;
  }

  get atEnd(): boolean {
    return this.#at >= this.#b.length;
  }

  /** The next octet, or -1 at the end. */
  peek(): number {
    return this.#at < this.#b.length ? this.#b[this.#at]! : -1;
  }

  /** Whether the next octets are TEXT, case-insensitively (for keywords such as `BODY.PEEK[`). */
  peekWord(text: string): boolean {
    if (this.#at + text.length > this.#b.length) return false;
    for (let i = 0; i < text.length; i++) {
      const c = this.#b[this.#at + i]!;
      const want = text.charCodeAt(i);
      if (c !== want && !(isLetter(want) && (c | 0x20) === (want | 0x20))) return false;
    }
    return true;
  }

  /** Consumes TEXT if it comes next (case-insensitively); says whether it did. */
  take(text: string): boolean {
    if (!this.peekWord(text)) return false;
    this.#at += text.length;
    return true;
  }

  /** Consumes TEXT, or fails naming it. */
  expect(text: string): void {
    if (!this.take(text)) throw this.error(`Expected ${text}`);
  }

  /** One space, as the grammar requires between arguments. */
  sp(): void {
    if (this.peek() !== SP) throw this.error("Expected a space");
    this.#at++;
  }

  /** Whether a space comes next (another argument follows); consumes it. */
  takeSp(): boolean {
    if (this.peek() !== SP) return false;
    this.#at++;
    return true;
  }

  /** Nothing may follow. */
  end(): void {
    if (!this.atEnd) throw this.error("Unexpected text after the command");
  }

  /** An error that says where the cursor stands. */
  error(what: string): ImapParseError {
    if (this.atEnd) return new ImapParseError(`${what} at the end of the command`);
    return new ImapParseError(what);
  }

  #run(test: (c: number) => boolean): Uint8Array {
    const start = this.#at;
    while (this.#at < this.#b.length && test(this.#b[this.#at]!)) this.#at++;
    return this.#b.subarray(start, this.#at);
  }

  /** An atom (RFC 9051 §9 `atom`). */
  atom(what = "an atom"): string {
    const bytes = this.#run(isAtomChar);
    if (bytes.length === 0) throw this.error(`Expected ${what}`);
    return utf8(bytes);
  }

  /** A tag: ASTRING-CHARs but `+`. */
  tag(): string {
    const bytes = this.#run((c) => isAstringChar(c) && c !== 0x2b);
    if (bytes.length === 0) throw this.error("Expected a tag");
    return utf8(bytes);
  }

  /** Octets that are an atom, read as the raw text up to the next special (for flags `\Seen`). */
  flag(): string {
    if (this.peek() === BACKSLASH) {
      this.#at++;
      if (this.peek() === 0x2a) {
        this.#at++;
        return "\\*";
      }
      return "\\" + this.atom("a flag");
    }
    return this.atom("a flag");
  }

  /** A quoted string (RFC 9051 §9 `quoted`), without its quotes and escapes. */
  quoted(): Uint8Array {
    if (this.peek() !== DQUOTE) throw this.error("Expected a quoted string");
    this.#at++;
    const out: number[] = [];
    for (;;) {
      if (this.#at >= this.#b.length) throw this.error("Unterminated quoted string");
      const c = this.#b[this.#at++]!;
      if (c === DQUOTE) return new Uint8Array(out);
      if (c === BACKSLASH) {
        const e = this.#b[this.#at++];
        if (e !== DQUOTE && e !== BACKSLASH) throw this.error("Invalid escape in quoted string");
        out.push(e);
        continue;
      }
      if (c === CR || c === LF || c === 0) throw this.error("Invalid octet in quoted string");
      out.push(c);
    }
  }

  /** Whether a literal starts here (`{`, or `~{` for literal8 when BINARY is allowed). */
  atLiteral(): boolean {
    const c = this.peek();
    return c === LBRACE || (c === 0x7e && this.#b[this.#at + 1] === LBRACE);
  }

  /**
   * A literal (RFC 9051 §4.3): `{n}` or `{n+}`, the line ending, and n octets. `binary` is true
   * for `~{n}` (RFC 3516 literal8, which may hold NUL); a plain literal may not hold NUL.
   */
  literal(): { bytes: Uint8Array; binary: boolean } {
    const binary = this.peek() === 0x7e;
    if (binary) this.#at++;
    if (this.peek() !== LBRACE) throw this.error("Expected a literal");
    this.#at++;
    const digits = utf8(this.#run((c) => c >= 0x30 && c <= 0x39));
    if (digits.length === 0 || digits.length > 20) throw this.error("Invalid literal length");
    this.take("+");
    if (this.peek() !== RBRACE) throw this.error("Invalid literal");
    this.#at++;
    if (this.peek() === CR) this.#at++;
    if (this.peek() !== LF) throw this.error("Expected a line ending after the literal length");
    this.#at++;
    const n = Number(digits);
    if (this.#at + n > this.#b.length) throw this.error("Literal shorter than announced");
    const bytes = this.#b.subarray(this.#at, this.#at + n);
    this.#at += n;
    if (!binary && bytes.includes(0)) throw new ImapParseError("NUL in a literal");
    return { bytes, binary };
  }

  /** A string: quoted or literal (RFC 9051 §9 `string`). */
  stringBytes(): Uint8Array {
    if (this.peek() === DQUOTE) return this.quoted();
    if (this.atLiteral()) return this.literal().bytes;
    throw this.error("Expected a string");
  }

  /** A string as UTF-8 text. */
  string(): string {
    return utf8(this.stringBytes());
  }

  /** An astring (RFC 9051 §9): an atom-like run (`]` allowed) or a string. */
  astring(what = "a string"): string {
    const c = this.peek();
    if (c === DQUOTE || this.atLiteral()) return this.string();
    const bytes = this.#run(isAstringChar);
    if (bytes.length === 0) throw this.error(`Expected ${what}`);
    return utf8(bytes);
  }

  /** An nstring: NIL or a string. */
  nstring(): string | null {
    if (this.peek() !== DQUOTE && !this.atLiteral()) {
      this.expect("NIL");
      return null;
    }
    return this.string();
  }

  /** A list-mailbox (RFC 9051 §9): list-chars (wildcards included) or a string. */
  listMailbox(): string {
    const c = this.peek();
    if (c === DQUOTE || this.atLiteral()) return this.string();
    const bytes = this.#run(isListChar);
    if (bytes.length === 0) throw this.error("Expected a mailbox pattern");
    return utf8(bytes);
  }

  /** A number (RFC 9051 §9 `number64`): digits, at most 2^53 - 1 here. */
  number(what = "a number"): number {
    const digits = this.#run((c) => c >= 0x30 && c <= 0x39);
    if (digits.length === 0) throw this.error(`Expected ${what}`);
    if (digits.length > 16) throw this.error(`${what} out of range`);
    const n = Number(utf8(digits));
    if (!Number.isSafeInteger(n)) throw this.error(`${what} out of range`);
    return n;
  }

  /** A non-zero number. */
  nzNumber(what = "a number"): number {
    const n = this.number(what);
    if (n === 0) throw this.error(`Expected ${what} greater than zero`);
    return n;
  }

  /** The text of a sequence set (digits, `*`, `:`, `,`, `$`); sequence_set.ts parses it. */
  sequenceSetText(): string {
    const bytes = this.#run((c) =>
      (c >= 0x30 && c <= 0x39) || c === 0x2a || c === 0x3a || c === 0x2c || c === 0x24
    );
    if (bytes.length === 0) throw this.error("Expected a sequence set");
    return utf8(bytes);
  }

  /**
   * A parenthesised list: `(` items separated by SP `)`; ITEM reads one. `allowEmpty` permits
   * `()`. Nesting is bounded.
   */
  list<T>(item: () => T, allowEmpty = true): T[] {
    if (this.peek() !== LPAREN) throw this.error("Expected (");
    if (++this.#depth > this.#maxDepth) throw new ImapParseError("Too deeply nested");
    this.#at++;
    const out: T[] = [];
    if (this.peek() === RPAREN) {
      this.#at++;
      this.#depth--;
      if (!allowEmpty) throw this.error("Empty list");
      return out;
    }
    for (;;) {
      out.push(item());
      if (this.peek() === RPAREN) break;
      this.sp();
    }
    this.#at++;
    this.#depth--;
    return out;
  }

  /** Whether a list opens here. */
  atList(): boolean {
    return this.peek() === LPAREN;
  }

  /** Enters a parenthesised group read by the caller; pair with {@link close}. */
  open(): void {
    if (this.peek() !== LPAREN) throw this.error("Expected (");
    if (++this.#depth > this.#maxDepth) throw new ImapParseError("Too deeply nested");
    this.#at++;
  }

  /** Leaves a group opened with {@link open}. */
  close(): void {
    if (this.peek() !== RPAREN) throw this.error("Expected )");
    this.#at++;
    this.#depth--;
  }

  /** Whether a group closes here. */
  atClose(): boolean {
    return this.peek() === RPAREN;
  }

  /**
   * A date (RFC 9051 §9 `date`): `d-Mon-yyyy`, optionally quoted. Returns the UTC midnight of
   * that day; SEARCH compares dates without time or zone (§6.4.4).
   */
  date(): Date {
    const quoted = this.peek() === DQUOTE;
    if (quoted) this.#at++;
    const text = utf8(this.#run((c) => c !== DQUOTE && c !== SP && c !== RPAREN));
    if (quoted && this.#b[this.#at++] !== DQUOTE) throw this.error("Unterminated date");
    const m = /^([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4})$/.exec(text);
    const month = m ? MONTHS.findIndex((x) => x.toLowerCase() === m[2]!.toLowerCase()) : -1;
    if (!m || month < 0) throw new ImapParseError(`Invalid date: ${text}`);
    const day = Number(m[1]);
    const d = new Date(Date.UTC(Number(m[3]), month, day));
    if (d.getUTCDate() !== day) throw new ImapParseError(`Invalid date: ${text}`);
    return d;
  }

  /**
   * A date-time (RFC 9051 §9 `date-time`): `"dd-Mon-yyyy hh:mm:ss +zzzz"`, the day
   * space-padded or two digits.
   */
  dateTime(): Date {
    const text = utf8(this.quoted());
    const m =
      /^ ?([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})$/
        .exec(text);
    const month = m ? MONTHS.findIndex((x) => x.toLowerCase() === m[2]!.toLowerCase()) : -1;
    if (!m || month < 0) throw new ImapParseError(`Invalid date-time: ${text}`);
    const [day, year, hh, mm, ss, zh, zm] = [m[1], m[3], m[4], m[5], m[6], m[8], m[9]].map(Number);
    if (hh! > 23 || mm! > 59 || ss! > 60 || zm! > 59) {
      throw new ImapParseError(`Invalid date-time: ${text}`);
    }
    const offset = (m[7] === "-" ? -1 : 1) * (zh! * 60 + zm!);
    const utc = Date.UTC(year!, month, day!, hh!, mm!, ss!) - offset * 60_000;
    const check = new Date(Date.UTC(year!, month, day!));
    if (check.getUTCDate() !== day) throw new ImapParseError(`Invalid date-time: ${text}`);
    return new Date(utc);
  }
}
