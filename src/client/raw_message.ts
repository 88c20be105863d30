/**
 * Prepared messages (`mail send --raw`, `mail sendmail`): line endings made SMTP's, header
 * fields read for the envelope, Bcc removed, missing From/Date/Message-ID added, and nothing
 * else touched (the body and every other byte go out as they came).
 *
 * @module
 */
import { AddressError } from "../smtp/address.ts";
import { type NamedAddress, parseAddressList } from "./addresses.ts";
import { concatBytes } from "../bytes.ts";

const CR = 0x0d;
const LF = 0x0a;

/**
 * Turns every bare LF into CRLF (RFC 5321 §2.3.8: SMTP lines end in CRLF; Unix files and
 * pipes end them in LF). A message that already uses CRLF comes back unchanged, byte for byte.
 */
export function toCrlf(message: Uint8Array): Uint8Array {
  let bare = 0;
  for (let i = 0; i < message.length; i++) {
    if (message[i] === LF && (i === 0 || message[i - 1] !== CR)) bare++;
  }
  if (bare === 0) return message;
  const out = new Uint8Array(message.length + bare);
  let o = 0;
  for (let i = 0; i < message.length; i++) {
    const b = message[i]!;
    if (b === LF && (i === 0 || message[i - 1] !== CR)) out[o++] = CR;
    out[o++] = b;
  }
  return out;
}

/**
 * Traditional sendmail input: without `-i`, a line holding only "." ends the message
 * (sendmail(8)); what follows it is ignored. Works on LF or CRLF text.
 */
export function cutAtDotLine(input: Uint8Array): Uint8Array {
  for (let i = 0; i < input.length; i++) {
    const atLineStart = i === 0 || input[i - 1] === LF;
    if (!atLineStart || input[i] !== 0x2e) continue;
    const next = input[i + 1];
    if (next === undefined || next === LF || (next === CR && input[i + 2] === LF)) {
      return input.subarray(0, i);
    }
  }
  return input;
}

/** One header field: its name, its unfolded value, and where its bytes are. */
export interface HeaderField {
  readonly name: string;
  readonly value: string;
  readonly start: number;
  readonly end: number;
}

/** The header fields of a CRLF message (RFC 5322 §2.2), up to the empty line. */
export function headerFields(message: Uint8Array): HeaderField[] {
  const fields: HeaderField[] = [];
  // Offsets are found on bytes, so multi-byte characters cannot shift them; values are
  // decoded as UTF-8 (RFC 6532), lossy only for bytes that are not.
  let pos = 0;
  let current: { start: number; lines: string[] } | undefined;
  const flush = (end: number) => {
    if (!current) return;
    const raw = current.lines.join("");
    const colon = raw.indexOf(":");
    if (colon > 0) {
      fields.push({
        name: raw.slice(0, colon).trim(),
        value: raw.slice(colon + 1).trim(),
        start: current.start,
        end,
      });
    }
    current = undefined;
  };
  while (pos < message.length) {
    let eol = message.indexOf(LF, pos);
    if (eol < 0) eol = message.length - 1;
    const lineEnd = eol + 1;
    const line = new TextDecoder().decode(message.subarray(pos, lineEnd)).replace(/\r?\n$/, "");
    if (line === "") {
      flush(pos);
      break;
    }
    const folded = line.startsWith(" ") || line.startsWith("\t");
    if (folded && current) current.lines.push(line);
    else {
      flush(pos);
      current = { start: pos, lines: [line] };
    }
    pos = lineEnd;
  }
  flush(pos);
  return fields;
}

/** Values of every field called NAME (case-insensitive). */
export function fieldValues(message: Uint8Array, name: string): string[] {
  const lower = name.toLowerCase();
  return headerFields(message).filter((f) => f.name.toLowerCase() === lower).map((f) => f.value);
}

/** MESSAGE without the fields whose names are in NAMES (with their continuation lines). */
export function removeFields(message: Uint8Array, names: readonly string[]): Uint8Array {
  const drop = new Set(names.map((n) => n.toLowerCase()));
  const cut = headerFields(message).filter((f) => drop.has(f.name.toLowerCase()));
  if (cut.length === 0) return message;
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const f of cut) {
    parts.push(message.subarray(from, f.start));
    from = f.end;
  }
  parts.push(message.subarray(from));
  return concatBytes(parts);
}

/** MESSAGE with LINES (full fields, without CRLF) added at the top of the header. */
export function prependFields(message: Uint8Array, lines: readonly string[]): Uint8Array {
  if (lines.length === 0) return message;
  const head = new TextEncoder().encode(lines.map((l) => `${l}\r\n`).join(""));
  return concatBytes([head, message]);
}

/** Every address in the fields called NAMES, in order. */
export function addressesIn(message: Uint8Array, names: readonly string[]): NamedAddress[] {
  const lower = new Set(names.map((n) => n.toLowerCase()));
  const out: NamedAddress[] = [];
  for (const f of headerFields(message)) {
    if (!lower.has(f.name.toLowerCase()) || f.value === "") continue;
    try {
      out.push(...parseAddressList(f.value));
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new AddressError(`In the ${f.name} header: ${why}`);
    }
  }
  return out;
}

/** Whether MESSAGE has a header section at all (a first line that looks like a field). */
export function hasHeader(message: Uint8Array): boolean {
  return headerFields(message).length > 0;
}
