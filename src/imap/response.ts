/**
 * Every line the server sends is built here (RFC 9051 §7, §9 `response`): tagged status
 * responses, untagged data, continuation requests. Whether a string goes out as an atom, a
 * quoted string or a literal is decided in one place ({@link ResponseWriter.item}), so nothing
 * a message or a client put in a string can break the framing.
 *
 * Responses are written into one growing buffer ({@link ResponseWriter}), many lines to a chunk;
 * a large literal (a message's bytes in `BODY[]`) goes out as its own chunk, as it is stored,
 * never copied into the buffer with the rest.
 *
 * @module
 */
/** One value in a response. */
export type Item =
  /** Written as it is: keywords, flags. Must be a valid atom (checked). */
  | { readonly atom: string }
  /**
   * Text the server composed from checked pieces, written as it is: a FETCH item's name such
   * as `BODY[HEADER.FIELDS (FROM "X Y")]<0>`. Control characters are refused.
   */
  | { readonly verbatim: string }
  /** A string, quoted or literal as its content requires. */
  | { readonly string: string | Uint8Array }
  /** An astring: an atom when it can be one (mailbox names), else a string. */
  | { readonly astring: string }
  /** NIL or a string. */
  | { readonly nstring: string | Uint8Array | null }
  | { readonly number: number }
  | { readonly list: readonly Item[] }
  /** Items written one after another with nothing between: a multipart's bodies (RFC 9051 §9). */
  | { readonly concat: readonly Item[] }
  /**
   * Bytes this module made before and that were kept (a message's ENVELOPE, encoded once for
   * a connection's {@link Encoding}): written as they are.
   */
  | { readonly encoded: Uint8Array }
  /** Always a literal (`{n}` or `~{n}` for binary data): message contents. */
  | { readonly literal: Uint8Array | readonly Uint8Array[]; readonly binary?: boolean };

/** A response code (RFC 9051 §7.1): `[NAME args]`. */
export interface ResponseCode {
  readonly name: string;
  readonly args?: readonly Item[];
}

/** How strings may be written on this connection. */
export interface Encoding {
  /**
   * UTF-8 in quoted strings (IMAP4rev2, or UTF8=ACCEPT enabled; RFC 9051 §4.3). Without it a
   * string with octets over 0x7f goes out as a literal (RFC 3501 allows 8-bit only there).
   */
  readonly utf8: boolean;
}

const encoder = new TextEncoder();
const ATOM = /^[^\x00-\x20\x7f(){%*"\\\]]+$/;
/** An atom with the flag prefix `\` and `[`…`]` sections allowed (`\Seen`, `BODY[1.MIME]<0>`). */
const RAW_ATOM = /^[^\x00-\x20\x7f"{}]+$/;
const ASTRING = /^[^\x00-\x20\x7f(){%*"\\]+$/;
const CONTROL = /[\x00-\x1f\x7f]/;
/** Longest string sent quoted rather than as a literal. */
const MAX_QUOTED = 1024;
/** Literal content at least this long is a chunk of its own instead of a copy in the buffer. */
const OWN_CHUNK = 16 * 1024;

const SPACE = 0x20;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Builds responses: items are written as bytes into one buffer that grows as needed, and
 * {@link take} hands out what was written as chunks (usually one) that are never written to
 * again. Large literals stay the caller's arrays, in order between the buffer's pieces.
 */
export class ResponseWriter {
  #buf: Uint8Array;
  /** Where the bytes not yet taken start, and where they end. */
  #start = 0;
  #end = 0;
  /** Pieces cut off before a literal of its own, and such literals, not yet taken. */
  #pieces: Uint8Array[] = [];
  #pieceBytes = 0;
  readonly #enc: Encoding;

  constructor(enc: Encoding = { utf8: false }, capacity = 4096) {
    this.#enc = enc;
    this.#buf = new Uint8Array(capacity);
  }

  /** Octets written and not yet taken. */
  get size(): number {
    return this.#pieceBytes + this.#end - this.#start;
  }

  /** What was written since the last take, as chunks in order; the writer goes on empty. */
  take(): Uint8Array[] {
    const out = this.#pieces;
    if (this.#end > this.#start) out.push(this.#buf.subarray(this.#start, this.#end));
    this.#pieces = [];
    this.#pieceBytes = 0;
    this.#start = this.#end;
    return out;
  }

  #room(n: number): void {
    if (this.#end + n <= this.#buf.length) return;
    // The bytes taken already belong to their chunks: a new buffer holds what is left.
    const live = this.#end - this.#start;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, live + n, 4096));
    next.set(this.#buf.subarray(this.#start, this.#end));
    this.#buf = next;
    this.#start = 0;
    this.#end = live;
  }

  /** One octet. */
  byte(b: number): void {
    this.#room(1);
    this.#buf[this.#end++] = b;
  }

  /** Text of this module's own making, every character below U+0080. */
  ascii(s: string): void {
    const n = s.length;
    this.#room(n);
    const buf = this.#buf;
    let at = this.#end;
    for (let i = 0; i < n; i++) buf[at++] = s.charCodeAt(i);
    this.#end = at;
  }

  /** Text as UTF-8. */
  text(s: string): void {
    for (let i = 0; i < s.length; i++) {
      if (s.charCodeAt(i) > 0x7f) {
        this.#room(s.length * 3);
        this.#end += encoder.encodeInto(s, this.#buf.subarray(this.#end)).written;
        return;
      }
    }
    this.ascii(s);
  }

  /** A non-negative integer in decimal. */
  number(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`Not a number: ${n}`);
    if (n < 10) this.byte(0x30 + n);
    else this.ascii(String(n));
  }

  /** Octets as they are: copied when small, a chunk of their own when large. */
  bytes(b: Uint8Array): void {
    if (b.length >= OWN_CHUNK) {
      if (this.#end > this.#start) {
        this.#pieces.push(this.#buf.subarray(this.#start, this.#end));
        this.#pieceBytes += this.#end - this.#start;
        this.#start = this.#end;
      }
      this.#pieces.push(b);
      this.#pieceBytes += b.length;
      return;
    }
    this.#room(b.length);
    this.#buf.set(b, this.#end);
    this.#end += b.length;
  }

  /** One value (RFC 9051 §9), its form decided by its kind and content. */
  item(item: Item): void {
    if ("atom" in item) {
      if (!RAW_ATOM.test(item.atom)) throw new Error(`Not an atom: ${JSON.stringify(item.atom)}`);
      this.text(item.atom);
    } else if ("number" in item) this.number(item.number);
    else if ("list" in item) {
      this.byte(0x28);
      const l = item.list;
      for (let i = 0; i < l.length; i++) {
        if (i > 0) this.byte(SPACE);
        this.item(l[i]!);
      }
      this.byte(0x29);
    } else if ("nstring" in item) {
      if (item.nstring === null) this.ascii("NIL");
      else this.string(item.nstring);
    } else if ("string" in item) this.string(item.string);
    else if ("encoded" in item) this.bytes(item.encoded);
    else if ("verbatim" in item) {
      if (CONTROL.test(item.verbatim)) {
        throw new Error(`Control character in ${JSON.stringify(item.verbatim)}`);
      }
      this.text(item.verbatim);
    } else if ("astring" in item) {
      const a = item.astring;
      if (ASTRING.test(a) && !/[^\x00-\x7f]/.test(a) && a !== "NIL") this.ascii(a);
      else this.string(a);
    } else if ("concat" in item) {
      for (const x of item.concat) this.item(x);
    } else {
      const chunks = item.literal instanceof Uint8Array ? [item.literal] : item.literal;
      let size = 0;
      for (const c of chunks) size += c.length;
      this.ascii(`${item.binary ? "~" : ""}{${size}}\r\n`);
      for (const c of chunks) this.bytes(c);
    }
  }

  /**
   * A string, quoted when it can be (short, no control characters, 7-bit unless UTF-8 is
   * allowed), else as a literal (RFC 9051 §4.3).
   */
  string(value: string | Uint8Array): void {
    if (typeof value === "string") {
      if (value.length <= MAX_QUOTED && plainAscii(value)) {
        this.#room(value.length * 2 + 2);
        const buf = this.#buf;
        let at = this.#end;
        buf[at++] = QUOTE;
        for (let i = 0; i < value.length; i++) {
          const c = value.charCodeAt(i);
          if (c === QUOTE || c === BACKSLASH) buf[at++] = BACKSLASH;
          buf[at++] = c;
        }
        buf[at++] = QUOTE;
        this.#end = at;
        return;
      }
      value = encoder.encode(value);
    }
    if (value.length <= MAX_QUOTED && quotable(value, this.#enc.utf8)) {
      this.#room(value.length * 2 + 2);
      const buf = this.#buf;
      let at = this.#end;
      buf[at++] = QUOTE;
      for (let i = 0; i < value.length; i++) {
        const c = value[i]!;
        if (c === QUOTE || c === BACKSLASH) buf[at++] = BACKSLASH;
        buf[at++] = c;
      }
      buf[at++] = QUOTE;
      this.#end = at;
      return;
    }
    this.ascii(`{${value.length}}\r\n`);
    this.bytes(value);
  }

  /** `* item item …` and its CRLF: untagged data (RFC 9051 §7.2–7.5). */
  untagged(items: readonly Item[]): void {
    this.byte(0x2a);
    for (let i = 0; i < items.length; i++) {
      this.byte(SPACE);
      this.item(items[i]!);
    }
    this.crlf();
  }

  /** `STATUS [CODE] text` and its CRLF: the part of a status response after its tag. */
  status(status: string, text: string, code?: ResponseCode): void {
    this.ascii(status);
    this.byte(SPACE);
    if (code) {
      if (!ATOM.test(code.name)) throw new Error(`Not a response code: ${code.name}`);
      this.byte(0x5b);
      this.text(code.name);
      for (const a of code.args ?? []) {
        this.byte(SPACE);
        this.item(a);
      }
      this.ascii("] ");
    }
    this.text(cleanText(text));
    this.crlf();
  }

  /** The end of a line. */
  crlf(): void {
    this.#room(2);
    this.#buf[this.#end++] = 0x0d;
    this.#buf[this.#end++] = 0x0a;
  }
}

/** Printable US-ASCII only: quotable as it is. */
function plainAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c >= 0x7f) return false;
  }
  return true;
}

/** Builds the bytes of one value, appended to OUT. */
export function encodeItem(item: Item, enc: Encoding, out: Uint8Array[]): void {
  const w = new ResponseWriter(enc, 256);
  w.item(item);
  out.push(...w.take());
}

/**
 * A string, quoted when it can be (short, no control characters, 7-bit unless UTF-8 is allowed),
 * else as a literal (RFC 9051 §4.3); appended to OUT.
 */
export function encodeString(value: string | Uint8Array, enc: Encoding, out: Uint8Array[]): void {
  encodeItem({ string: value }, enc, out);
}

function quotable(bytes: Uint8Array, utf8: boolean): boolean {
  let high = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    // Control characters (TAB too) go as literals, as Dovecot sends them.
    if (b < 0x20 || b === 0x7f) return false;
    if (b > 0x7f) {
      if (!utf8) return false;
      high = true;
    }
  }
  // Only valid UTF-8 may be quoted: anything else goes as a literal, byte for byte.
  return !high || validUtf8(bytes);
}

/**
 * Whether BYTES are well-formed UTF-8 (RFC 3629 §4: no overlong forms, no surrogates, nothing
 * above U+10FFFF, no sequence cut short).
 */
export function validUtf8(bytes: Uint8Array): boolean {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      else if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      else if (b === 0xf4) hi = 0x8f;
    } else return false;
    if (i + need >= n) return false;
    const second = bytes[i + 1]!;
    if (second < lo || second > hi) return false;
    for (let k = 2; k <= need; k++) {
      const c = bytes[i + k]!;
      if (c < 0x80 || c > 0xbf) return false;
    }
    i += need + 1;
  }
  return true;
}

/** Human-readable text: one line, never starting with `[` (it would read as a code). */
function cleanText(text: string): string {
  const line = text.replace(/[\x00-\x1f\x7f]+/g, " ").trim();
  const safe = line.startsWith("[") ? " " + line : line;
  return safe === "" ? "OK" : safe;
}

/** `TAG OK|NO|BAD [CODE] text` (RFC 9051 §7.1). */
export function tagged(
  tag: string,
  status: "OK" | "NO" | "BAD",
  text: string,
  code?: ResponseCode,
  enc: Encoding = { utf8: false },
): Uint8Array[] {
  const w = new ResponseWriter(enc, 256);
  w.text(tag);
  w.byte(SPACE);
  w.status(status, text, code);
  return w.take();
}

/** `* OK|NO|BAD|BYE|PREAUTH [CODE] text`: an untagged status response (RFC 9051 §7.1). */
export function untaggedStatus(
  status: "OK" | "NO" | "BAD" | "BYE" | "PREAUTH",
  text: string,
  code?: ResponseCode,
  enc: Encoding = { utf8: false },
): Uint8Array[] {
  const w = new ResponseWriter(enc, 256);
  w.ascii("* ");
  w.status(status, text, code);
  return w.take();
}

/** `* item item …`: untagged data (RFC 9051 §7.2–7.5), e.g. `* 3 EXISTS`, `* LIST (…) "/" INBOX`. */
export function untagged(items: readonly Item[], enc: Encoding = { utf8: false }): Uint8Array[] {
  const w = new ResponseWriter(enc, 256);
  w.untagged(items);
  return w.take();
}

/** `+ text`: a continuation request (RFC 9051 §7.6); TEXT may be base64 for SASL. */
export function continuation(text: string): Uint8Array[] {
  return [encoder.encode(`+ ${text.replace(/[\r\n]/g, " ")}\r\n`)];
}

/** Shorthands for building items. */
export const atom = (a: string): Item => ({ atom: a });
export const num = (n: number): Item => ({ number: n });
export const str = (s: string | Uint8Array): Item => ({ string: s });
export const nstr = (s: string | Uint8Array | null | undefined): Item => ({ nstring: s ?? null });
export const astr = (s: string): Item => ({ astring: s });
export const list = (items: readonly Item[]): Item => ({ list: items });
export const NIL: Item = { nstring: null };
