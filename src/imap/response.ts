/**
 * Every line the server sends is built here (RFC 9051 §7, §9 `response`): tagged status
 * responses, untagged data, continuation requests. Whether a string goes out as an atom, a
 * quoted string or a literal is decided in one place ({@link encodeString}), so nothing a
 * message or a client put in a string can break the framing.
 *
 * Output is a list of byte chunks: a message's bytes in `BODY[]` go out as they are stored,
 * never copied into one buffer with the rest.
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
/** Longest string sent quoted rather than as a literal. */
const MAX_QUOTED = 1024;

/** Builds the bytes of one value. */
export function encodeItem(item: Item, enc: Encoding, out: Uint8Array[]): void {
  if ("atom" in item) {
    if (!RAW_ATOM.test(item.atom)) throw new Error(`Not an atom: ${JSON.stringify(item.atom)}`);
    out.push(encoder.encode(item.atom));
  } else if ("verbatim" in item) {
    if (/[\x00-\x1f\x7f]/.test(item.verbatim)) {
      throw new Error(`Control character in ${JSON.stringify(item.verbatim)}`);
    }
    out.push(encoder.encode(item.verbatim));
  } else if ("string" in item) encodeString(item.string, enc, out);
  else if ("astring" in item) {
    if (
      ASTRING.test(item.astring) && !/[^\x00-\x7f]/.test(item.astring) && item.astring !== "NIL"
    ) {
      out.push(encoder.encode(item.astring));
    } else encodeString(item.astring, enc, out);
  } else if ("nstring" in item) {
    if (item.nstring === null) out.push(encoder.encode("NIL"));
    else encodeString(item.nstring, enc, out);
  } else if ("number" in item) {
    if (!Number.isSafeInteger(item.number) || item.number < 0) {
      throw new Error(`Not a number: ${item.number}`);
    }
    out.push(encoder.encode(String(item.number)));
  } else if ("concat" in item) {
    for (const x of item.concat) encodeItem(x, enc, out);
  } else if ("list" in item) {
    out.push(encoder.encode("("));
    item.list.forEach((x, i) => {
      if (i > 0) out.push(SPACE);
      encodeItem(x, enc, out);
    });
    out.push(encoder.encode(")"));
  } else {
    const chunks = item.literal instanceof Uint8Array ? [item.literal] : item.literal;
    const size = chunks.reduce((n, c) => n + c.length, 0);
    out.push(encoder.encode(`${item.binary ? "~" : ""}{${size}}\r\n`));
    out.push(...chunks);
  }
}

const SPACE = encoder.encode(" ");
const CRLF = encoder.encode("\r\n");

/**
 * A string, quoted when it can be (short, no control characters, 7-bit unless UTF-8 is allowed),
 * else as a literal (RFC 9051 §4.3).
 */
export function encodeString(value: string | Uint8Array, enc: Encoding, out: Uint8Array[]): void {
  const bytes = typeof value === "string" ? encoder.encode(value) : value;
  if (bytes.length <= MAX_QUOTED && quotable(bytes, enc.utf8)) {
    const text = typeof value === "string" ? value : new TextDecoder().decode(bytes);
    out.push(encoder.encode(`"${text.replace(/[\\"]/g, (c) => "\\" + c)}"`));
    return;
  }
  out.push(encoder.encode(`{${bytes.length}}\r\n`), bytes);
}

function quotable(bytes: Uint8Array, utf8: boolean): boolean {
  for (const b of bytes) {
    // Control characters (TAB too) go as literals, as Dovecot sends them.
    if (b < 0x20 || b === 0x7f) return false;
    if (b > 0x7f && !utf8) return false;
  }
  if (!utf8) return true;
  // Only valid UTF-8 may be quoted: anything else goes as a literal, byte for byte.
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Human-readable text: one line, never starting with `[` (it would read as a code). */
function cleanText(text: string): string {
  const line = text.replace(/[\x00-\x1f\x7f]+/g, " ").trim();
  const safe = line.startsWith("[") ? " " + line : line;
  return safe === "" ? "OK" : safe;
}

function encodeCode(code: ResponseCode, enc: Encoding, out: Uint8Array[]): void {
  if (!ATOM.test(code.name)) throw new Error(`Not a response code: ${code.name}`);
  out.push(encoder.encode(`[${code.name}`));
  for (const a of code.args ?? []) {
    out.push(SPACE);
    encodeItem(a, enc, out);
  }
  out.push(encoder.encode("] "));
}

/** `TAG OK|NO|BAD [CODE] text` (RFC 9051 §7.1). */
export function tagged(
  tag: string,
  status: "OK" | "NO" | "BAD",
  text: string,
  code?: ResponseCode,
  enc: Encoding = { utf8: false },
): Uint8Array[] {
  const out = [encoder.encode(`${tag} ${status} `)];
  if (code) encodeCode(code, enc, out);
  out.push(encoder.encode(cleanText(text)), CRLF);
  return out;
}

/** `* OK|NO|BAD|BYE|PREAUTH [CODE] text`: an untagged status response (RFC 9051 §7.1). */
export function untaggedStatus(
  status: "OK" | "NO" | "BAD" | "BYE" | "PREAUTH",
  text: string,
  code?: ResponseCode,
  enc: Encoding = { utf8: false },
): Uint8Array[] {
  const out = [encoder.encode(`* ${status} `)];
  if (code) encodeCode(code, enc, out);
  out.push(encoder.encode(cleanText(text)), CRLF);
  return out;
}

/** `* item item …`: untagged data (RFC 9051 §7.2–7.5), e.g. `* 3 EXISTS`, `* LIST (…) "/" INBOX`. */
export function untagged(items: readonly Item[], enc: Encoding = { utf8: false }): Uint8Array[] {
  const out = [encoder.encode("*")];
  for (const i of items) {
    out.push(SPACE);
    encodeItem(i, enc, out);
  }
  out.push(CRLF);
  return out;
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
