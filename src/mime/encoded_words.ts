/**
 * Decoding of RFC 2047 encoded words (`=?charset?B|Q?text?=`) in header values, for display.
 *
 * @module
 */
import { concatBytes } from "../bytes.ts";

// RFC 2047 §2: encoded-word = "=?" charset "?" encoding "?" encoded-text "?=". The charset may
// carry an RFC 2231 §5 language suffix (`utf-8*de`). Tokens contain no white space or "?".
const ENCODED_WORD = /=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g;

interface Word {
  readonly start: number;
  readonly end: number;
  readonly charset: string;
  /** The decoded octets, or undefined when the word is malformed (then shown as it is). */
  readonly bytes: Uint8Array | undefined;
}

/**
 * Decodes every encoded word in RAW. Text outside encoded words is returned unchanged, so raw
 * UTF-8 (RFC 6532) passes through. White space between two adjacent encoded words is dropped
 * (RFC 2047 §6.2), and adjacent words in the same charset are decoded together, because
 * senders split multi-byte characters across words. Never throws: a malformed word is shown as
 * it is; a charset TextDecoder does not know is decoded as UTF-8 if valid, else Latin-1.
 */
export function decodeHeaderValue(raw: string): string {
  if (!raw.includes("=?")) return raw;
  const words: Word[] = [];
  for (const m of raw.matchAll(ENCODED_WORD)) {
    const [text, charset = "", encoding = "", payload = ""] = m;
    const bytes = encoding.toUpperCase() === "B" ? decodeB(payload) : decodeQ(payload);
    words.push({
      start: m.index,
      end: m.index + text.length,
      charset: stripLanguage(charset),
      bytes,
    });
  }
  if (words.length === 0) return raw;

  let out = "";
  let pos = 0;
  let i = 0;
  while (i < words.length) {
    const w = words[i]!;
    const between = raw.slice(pos, w.start);
    // Drop white space only between two encoded words (both well-formed ones).
    const prev = i > 0 ? words[i - 1] : undefined;
    const adjacent = prev?.bytes !== undefined && w.bytes !== undefined && pos === prev.end &&
      /^[ \t\r\n]*$/.test(between);
    if (!adjacent) out += between;
    if (w.bytes === undefined) {
      out += raw.slice(w.start, w.end);
      pos = w.end;
      i++;
      continue;
    }
    // Gather the run of adjacent well-formed words in this charset and decode their bytes once.
    const run: Uint8Array[] = [w.bytes];
    let j = i + 1;
    while (j < words.length) {
      const next = words[j]!;
      const gap = raw.slice(words[j - 1]!.end, next.start);
      if (
        next.bytes === undefined || !/^[ \t\r\n]*$/.test(gap) ||
        next.charset.toLowerCase() !== w.charset.toLowerCase()
      ) break;
      run.push(next.bytes);
      j++;
    }
    out += decodeCharset(concatBytes(run), w.charset);
    pos = words[j - 1]!.end;
    i = j;
  }
  return out + raw.slice(pos);
}

function stripLanguage(charset: string): string {
  const star = charset.indexOf("*");
  return star >= 0 ? charset.slice(0, star) : charset;
}

/** RFC 2047 §4.1: base64. Missing padding is tolerated; other damage makes the word malformed. */
function decodeB(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const bare = text.replace(/=+$/, "");
  if (bare.length % 4 === 1) return undefined;
  try {
    const bin = atob(bare + "=".repeat((4 - (bare.length % 4)) % 4));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return undefined;
  }
}

/** RFC 2047 §4.2: "Q", quoted-printable where "_" stands for a space (rule 2). */
function decodeQ(text: string): Uint8Array | undefined {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5f) {
      out.push(0x20);
    } else if (c === 0x3d) {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      out.push(parseInt(hex, 16));
      i += 2;
    } else if (c > 0x7e) {
      return undefined; // encoded text is printable ASCII only
    } else {
      out.push(c);
    }
  }
  return Uint8Array.from(out);
}

/**
 * Decodes BYTES in CHARSET with any encoding TextDecoder knows (the WHATWG Encoding labels,
 * which cover ISO-8859-*, windows-*, KOI8, Shift_JIS, ISO-2022-JP, GB18030, Big5, EUC-KR...).
 * An unknown label falls back to UTF-8 when the bytes are valid UTF-8, else Latin-1.
 */
export function decodeCharset(bytes: Uint8Array, charset: string): string {
  let decoder: TextDecoder | undefined;
  try {
    decoder = new TextDecoder(charset.trim());
  } catch {
    decoder = undefined;
  }
  if (decoder) return decoder.decode(bytes);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return new TextDecoder("latin1").decode(bytes);
  }
}
