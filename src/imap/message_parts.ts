/**
 * The MIME structure of a stored message (RFC 2045, RFC 2046, RFC 5322), with the exact octet
 * offsets IMAP needs: FETCH `BODY[1.2]`, `BODY[1.MIME]`, `BODY[2.HEADER]` and the sizes and line
 * counts of BODYSTRUCTURE all point into the stored bytes, which are never rewritten.
 *
 * The parse is one pass over the bytes and bounded: nesting deeper than {@link MAX_DEPTH} or
 * more than {@link MAX_PARTS} parts leave the rest as an opaque body, as Dovecot does, so a
 * hostile message costs no more than its size. A structure is computed once and kept (it is
 * plain data: JSON-safe), not recomputed on every FETCH.
 *
 * @module
 */
import { latin1 } from "../bytes.ts";
import { isFws, isWsp, trimmed } from "../trim.ts";

/** A header field's name and raw value (still folded; without the final CRLF), in order. */
export type HeaderField = readonly [name: string, value: string];

/** One entity: a message or a body part. Offsets index the whole message's bytes. */
export interface Part {
  /** Where this entity's header starts. */
  readonly headerStart: number;
  /** Where its body starts (just past the blank line ending the header). */
  readonly bodyStart: number;
  /** Where its body ends (exclusive; before the CRLF that precedes a boundary). */
  readonly bodyEnd: number;
  /** Lower-cased media type and subtype; text/plain when absent (RFC 2045 §5.2). */
  readonly type: string;
  readonly subtype: string;
  /** The type and subtype as the header writes them (BODYSTRUCTURE repeats them so). */
  readonly rawType: string;
  readonly rawSubtype: string;
  /** Content-Type parameters as written (names' case kept, values unquoted), in order. */
  readonly params: readonly (readonly [string, string])[];
  /** Header fields the BODYSTRUCTURE needs, raw. */
  readonly id: string | null;
  readonly description: string | null;
  /** Content-Transfer-Encoding as the header writes it; `7bit` when absent. */
  readonly encoding: string;
  readonly md5: string | null;
  readonly disposition: {
    readonly type: string;
    readonly params: readonly (readonly [string, string])[];
  } | null;
  readonly language: readonly string[] | null;
  readonly location: string | null;
  /** Lines in the body (text/* and message/rfc822 report them). */
  readonly lines: number;
  /** The parts of a multipart entity. */
  readonly children?: readonly Part[];
  /** The message inside a message/rfc822 (or message/global) entity. */
  readonly message?: Part;
}

/** Deepest nesting parsed; deeper entities are kept as opaque bodies. */
export const MAX_DEPTH = 32;
/** Most entities parsed in one message. */
export const MAX_PARTS = 1000;

const CR = 0x0d;
const LF = 0x0a;

/** Octets as a string of one char each (ISO-8859-1): {@link latin1}, under IMAP's name. */
export const octetString: (bytes: Uint8Array) => string = latin1;

/** Parses the structure of MESSAGE. Never throws: malformed MIME gives a best-effort tree. */
export function parseStructure(message: Uint8Array): Part {
  const budget = { parts: 0 };
  return parseEntity(message, 0, message.length, "text/plain", 0, budget);
}

/**
 * The offset just past the header that starts at START (past its blank line), or END when the
 * entity has no blank line (then it is all header and an empty body).
 */
export function headerEnd(bytes: Uint8Array, start: number, end: number): number {
  let i = start;
  if (i >= end) return end;
  // An entity that starts with a blank line has an empty header.
  if (bytes[i] === LF) return i + 1;
  if (bytes[i] === CR && bytes[i + 1] === LF && i + 1 < end) return i + 2;
  while (i < end) {
    const lf = bytes.indexOf(LF, i);
    if (lf < 0 || lf >= end) return end;
    const next = lf + 1;
    if (bytes[next] === LF && next < end) return next + 1;
    if (bytes[next] === CR && bytes[next + 1] === LF && next + 1 < end) return next + 2;
    i = next;
  }
  return end;
}

/** The header fields between START and END, values as sent (folded). */
export function parseHeader(bytes: Uint8Array, start: number, end: number): HeaderField[] {
  const text = octetString(bytes.subarray(start, end));
  const fields: HeaderField[] = [];
  for (const line of text.split(/\r?\n(?![ \t])/)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) continue;
    fields.push([name, trimmed(line, isWsp, isFws, colon + 1)]);
  }
  return fields;
}

/** The first field named NAME (case-insensitively), as sent (folded). */
export function headerRaw(fields: readonly HeaderField[], name: string): string | null {
  const lower = name.toLowerCase();
  for (const [n, v] of fields) if (n.toLowerCase() === lower) return v;
  return null;
}

/** The first field named NAME (case-insensitively), unfolded (RFC 5322 §2.2.3). */
export function headerValue(fields: readonly HeaderField[], name: string): string | null {
  const raw = headerRaw(fields, name);
  return raw === null ? null : raw.replace(/\r?\n/g, "");
}

function parseEntity(
  bytes: Uint8Array,
  start: number,
  end: number,
  defaultType: string,
  depth: number,
  budget: { parts: number },
): Part {
  budget.parts++;
  const bodyStart = headerEnd(bytes, start, end);
  const fields = parseHeader(bytes, start, bodyStart);
  const ct = parseParameterized(headerValue(fields, "Content-Type") ?? defaultType);
  let [rawType, rawSubtype] = ct.value.split("/", 2).map((x) => x.trim()) as [
    string,
    string | undefined,
  ];
  if (!rawSubtype || !/^[!-~]+$/.test(rawType + rawSubtype)) {
    // RFC 2045 §5.2: an invalid Content-Type means text/plain; charset=us-ascii.
    [rawType, rawSubtype] = defaultType.split("/") as [string, string];
  }
  const type = rawType.toLowerCase();
  const subtype = rawSubtype.toLowerCase();
  const cd = headerValue(fields, "Content-Disposition");
  const disposition = cd
    ? (() => {
      const d = parseParameterized(cd);
      return { type: d.value, params: d.params };
    })()
    : null;
  const language = headerValue(fields, "Content-Language");
  const base = {
    headerStart: start,
    bodyStart,
    bodyEnd: end,
    type,
    subtype,
    rawType,
    rawSubtype,
    params: ct.params,
    id: headerValue(fields, "Content-ID"),
    description: headerValue(fields, "Content-Description"),
    encoding: (headerValue(fields, "Content-Transfer-Encoding") ?? "").split(/[\s;(]/)[0] || "7bit",
    md5: headerValue(fields, "Content-MD5"),
    disposition,
    language: language ? language.split(",").map((l) => l.trim()).filter((l) => l) : null,
    location: headerValue(fields, "Content-Location"),
    lines: countLines(bytes, bodyStart, end),
  };
  if (depth >= MAX_DEPTH || budget.parts >= MAX_PARTS) return base;
  if (type === "multipart") {
    const boundary = ct.params.find(([k]) => k.toLowerCase() === "boundary")?.[1];
    // Without a boundary nothing can be split: one empty text part, as Dovecot shows it.
    if (!boundary) return { ...base, children: [emptyPart(bodyStart)] };
    const children = splitMultipart(bytes, bodyStart, end, boundary).map(([s, e]) =>
      parseEntity(
        bytes,
        s,
        e,
        subtype === "digest" ? "message/rfc822" : "text/plain",
        depth + 1,
        budget,
      )
    );
    // RFC 9051 §6.4.5: a multipart has at least one part; an empty one gets an empty text part.
    if (children.length === 0) {
      children.push({ ...emptyPart(bodyStart), lines: 0 });
    }
    return { ...base, children };
  }
  if (type === "message" && (subtype === "rfc822" || subtype === "global")) {
    // An encoded message/rfc822 is opaque: its content is not MIME until decoded.
    if (!["7BIT", "8BIT", "BINARY"].includes(base.encoding.toUpperCase())) {
      return base;
    }
    return {
      ...base,
      message: parseEntity(bytes, bodyStart, end, "text/plain", depth + 1, budget),
    };
  }
  return base;
}

/** An empty text/plain entity at offset AT: no header, no body. */
export function emptyPart(at: number): Part {
  return {
    headerStart: at,
    bodyStart: at,
    bodyEnd: at,
    type: "text",
    subtype: "plain",
    rawType: "text",
    rawSubtype: "plain",
    params: [],
    id: null,
    description: null,
    encoding: "7bit",
    md5: null,
    disposition: null,
    language: null,
    location: null,
    lines: 0,
  };
}

/**
 * Lines in [start, end): the line endings in it. A last line without one (the CRLF before a
 * boundary belongs to the boundary) is not counted, as Dovecot counts.
 */
function countLines(bytes: Uint8Array, start: number, end: number): number {
  let n = 0;
  let i = start;
  for (;;) {
    const lf = bytes.indexOf(LF, i);
    if (lf < 0 || lf >= end) return n;
    n++;
    i = lf + 1;
  }
}

/**
 * The body parts of a multipart body between START and END (RFC 2046 §5.1.1): each begins
 * after a delimiter line `--boundary` and ends before the line ending that precedes the next
 * delimiter; the preamble and the epilogue are not parts. Without a close delimiter the last
 * part runs to the end.
 */
function splitMultipart(
  bytes: Uint8Array,
  start: number,
  end: number,
  boundary: string,
): [number, number][] {
  const delim = new TextEncoder().encode("--" + boundary);
  const parts: [number, number][] = [];
  let partStart = -1;
  let lineStart = start;
  while (lineStart < end) {
    const lf = bytes.indexOf(LF, lineStart);
    const lineEnd = lf < 0 || lf >= end ? end : lf;
    const next = lineEnd === end ? end : lineEnd + 1;
    if (startsWith(bytes, lineStart, lineEnd, delim)) {
      const after = lineStart + delim.length;
      const close = bytes[after] === 0x2d && bytes[after + 1] === 0x2d;
      // Only transport padding (spaces, tabs) may follow the delimiter.
      if (onlyPadding(bytes, after + (close ? 2 : 0), lineEnd)) {
        if (partStart >= 0) {
          // The line ending before the delimiter belongs to the delimiter.
          let e = lineStart;
          if (e > partStart && bytes[e - 1] === LF) e--;
          if (e > partStart && bytes[e - 1] === CR) e--;
          parts.push([partStart, Math.max(partStart, e)]);
        }
        if (close) return parts;
        partStart = next;
        if (parts.length >= MAX_PARTS) return parts;
      }
    }
    lineStart = next;
  }
  if (partStart >= 0) parts.push([partStart, end]);
  return parts;
}

function startsWith(bytes: Uint8Array, at: number, end: number, prefix: Uint8Array): boolean {
  if (end - at < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false;
  return true;
}

function onlyPadding(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const b = bytes[i];
    if (b !== 0x20 && b !== 0x09 && b !== CR) return false;
  }
  return true;
}

/**
 * A structured field value with parameters (RFC 2045 §5.1, RFC 2183): `value; a=b; c="d e"`.
 * Quoted values are unquoted and names keep their case. RFC 2231 continuations that are not
 * charset-encoded (`name*0="a"; name*1="b"`) are joined into one (`name="ab"`), as Dovecot
 * does; encoded values (`name*=utf-8''…`) are kept as sent, for the client to decode.
 */
export function parseParameterized(
  field: string,
): { value: string; params: [string, string][] } {
  const text = stripComments(field);
  const semi = text.indexOf(";");
  const value = (semi < 0 ? text : text.slice(0, semi)).trim();
  const params: [string, string][] = [];
  if (semi < 0) return { value, params };
  const re = /;\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/g;
  for (const m of text.slice(semi).matchAll(re)) {
    if (params.length >= 100) break;
    const name = m[1]!;
    const v = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : m[3]!;
    const section = /^(.+)\*([0-9]{1,3})$/.exec(name);
    if (section && Number(section[2]) > 0) {
      const first = params.find(([k]) => k.toLowerCase() === section[1]!.toLowerCase());
      if (first) {
        first[1] += v;
        continue;
      }
    }
    params.push([section?.[2] === "0" ? section[1]! : name, v]);
  }
  return { value, params };
}

/** Removes RFC 5322 comments outside quoted strings (bounded: one pass, no recursion). */
function stripComments(s: string): string {
  let out = "";
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quoted) {
      out += c;
      if (c === "\\" && i + 1 < s.length) out += s[++i];
      else if (c === '"') quoted = false;
    } else if (depth > 0) {
      if (c === "\\") i++;
      else if (c === "(") depth++;
      else if (c === ")") depth--;
    } else if (c === "(") depth++;
    else {
      if (c === '"') quoted = true;
      out += c;
    }
  }
  return out;
}

/**
 * The entity a part number names (RFC 9051 §6.4.5), or undefined when there is none. The
 * numbers of a message/rfc822 part continue into the message it holds; an entity that is not
 * multipart is its own part 1.
 */
export function findPart(root: Part, numbers: readonly number[]): Part | undefined {
  let p: Part = root;
  // Whether the last step stayed on a single part as its own part 1: it can do so only once,
  // so `1.1` of a single-part message names nothing, while `1.1` of a multipart's first part
  // is that part's body (as Dovecot answers).
  let stayed = false;
  for (let i = 0; i < numbers.length; i++) {
    const n = numbers[i]!;
    if (i > 0 && p.message) {
      p = p.message;
      stayed = false;
    }
    if (p.children) {
      const child = p.children[n - 1];
      if (!child) return undefined;
      p = child;
      stayed = false;
    } else if (n === 1 && !stayed) stayed = true;
    else return undefined;
  }
  return p;
}
