/**
 * ENVELOPE (RFC 9051 §7.5.2): the message's Date, Subject, address fields, In-Reply-To and
 * Message-ID as the client reads them, raw: encoded words are passed on undecoded for the
 * client to decode, as Dovecot does. That is why the address lists are parsed here and not with
 * a library: the parsers on npm decode display names, which would lose what the header says.
 *
 * Header text is carried as latin1 strings (one char per octet), so 8-bit header octets reach
 * the client byte for byte.
 *
 * @module
 */
import { type HeaderField, octetString } from "./message_parts.ts";
import { type Item, list, NIL, nstr, ResponseWriter } from "./response.ts";
import { concatBytes } from "../bytes.ts";

/** One entry of an address list: an address, or the start or end of a group (RFC 5322 §3.4). */
export interface EnvelopeAddress {
  readonly name: string | null;
  /** The obsolete source route (`@a,@b`), kept as RFC 9051 asks. */
  readonly adl: string | null;
  /** Local part; for a group start, the group's name; NIL (null) for a group end. */
  readonly mailbox: string | null;
  /** Domain; null for a group start or end. */
  readonly host: string | null;
}

/** Most addresses taken from one field: a bound on a hostile header. */
const MAX_ADDRESSES = 1000;

/** Octets of a latin1 string (one char per octet). */
export function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

/**
 * Header text (latin1: one char per octet) as a response string: printable US-ASCII as it is
 * (the same octets in UTF-8), anything else as its octets.
 */
function headerString(s: string): string | Uint8Array {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return latin1Bytes(s);
  }
  return s;
}

/** A token and where it stood in the field (so a display name is taken as written). */
type Token =
  | { t: "word"; v: string; quoted: boolean; start: number; end: number }
  | { t: "special"; v: string; start: number; end: number }
  | { t: "comment"; v: string; start: number; end: number };

/** Characters that end an atom (specials, white space, comments, quotes), by code. */
const ENDS_WORD = new Uint8Array(128);
for (const c of ' \t\r\n()"<>,:;@.[]') ENDS_WORD[c.charCodeAt(0)] = 1;
/** The specials that are tokens of their own (and `[`, which starts a domain literal). */
const SPECIAL = new Uint8Array(128);
for (const c of "<>,:;@.[]") SPECIAL[c.charCodeAt(0)] = 1;

/** Tokens of an address list: words, quoted strings and specials; comments dropped. */
function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length && out.length < MAX_ADDRESSES * 8) {
    const c = s[i]!;
    if (c === " " || c === "\t" || c === "\r" || c === "\n") {
      i++;
    } else if (c === "(") {
      const start = i;
      let depth = 0;
      for (; i < s.length; i++) {
        const d = s[i];
        if (d === "\\") i++;
        else if (d === "(") depth++;
        else if (d === ")" && --depth === 0) {
          i++;
          break;
        }
      }
      out.push({ t: "comment", v: s.slice(start + 1, i - 1), start, end: i });
    } else if (c === '"') {
      const start = i;
      // Up to the closing quote, without the backslashes of quoted pairs.
      let close = s.indexOf('"', i + 1);
      const slash = s.indexOf("\\", i + 1);
      let v: string;
      if (slash < 0 || (close >= 0 && slash > close)) {
        if (close < 0) close = s.length;
        v = s.slice(i + 1, close);
        i = close;
      } else {
        v = "";
        for (i++; i < s.length && s[i] !== '"'; i++) {
          if (s[i] === "\\" && i + 1 < s.length) i++;
          v += s[i];
        }
      }
      i++;
      out.push({ t: "word", v, quoted: true, start, end: i });
    } else if (c.charCodeAt(0) < 128 && SPECIAL[c.charCodeAt(0)]) {
      if (c === "[") {
        // A domain literal is one word.
        const close = s.indexOf("]", i);
        const end = close < 0 ? s.length : close + 1;
        out.push({ t: "word", v: s.slice(i, end), quoted: false, start: i, end });
        i = end;
      } else {
        out.push({ t: "special", v: c, start: i, end: i + 1 });
        i++;
      }
    } else {
      let j = i;
      for (; j < s.length; j++) {
        const d = s.charCodeAt(j);
        if (d < 128 && ENDS_WORD[d]) break;
      }
      out.push({ t: "word", v: s.slice(i, j), quoted: false, start: i, end: j });
      i = j;
    }
  }
  return out;
}

/** Joins tokens back into text: words with spaces, dots and `@` tight; comments dropped. */
function join(tokens: Token[]): string {
  let out = "";
  let prevWord = false;
  for (const tok of tokens) {
    if (tok.t === "comment") continue;
    if (tok.t === "word") {
      if (prevWord) out += " ";
      out += tok.v;
      prevWord = true;
    } else {
      out += tok.v;
      prevWord = false;
    }
  }
  return out;
}

/** Splits an addr-spec's tokens at the last `@`. */
function addrSpec(
  tokens: Token[],
): { adl: string | null; mailbox: string | null; host: string | null } {
  let adl: string | null = null;
  let rest = tokens;
  // An obsolete route: @a,@b: before the address.
  const colon = rest.findIndex((t) => t.t === "special" && t.v === ":");
  if (colon >= 0 && rest[0]?.t === "special" && rest[0].v === "@") {
    adl = join(rest.slice(0, colon));
    rest = rest.slice(colon + 1);
  }
  let at = -1;
  for (let i = rest.length - 1; i >= 0; i--) {
    const t = rest[i]!;
    if (t.t === "special" && t.v === "@") {
      at = i;
      break;
    }
  }
  if (at < 0) return { adl, mailbox: rest.length ? join(rest) : null, host: null };
  const local = rest.slice(0, at);
  const mailbox = local.length === 1 && local[0]!.t === "word" ? local[0]!.v : join(local);
  return { adl, mailbox, host: join(rest.slice(at + 1)) || null };
}

/**
 * A display name as written: one quoted string without its quotes, else the text from the first
 * to the last token (comments between them included, as in the header).
 */
function displayName(value: string, phrase: Token[]): string | null {
  if (phrase.length === 0) return null;
  const only = phrase[0]!;
  if (phrase.length === 1 && only.t === "word" && only.quoted) return only.v;
  return value.slice(phrase[0]!.start, phrase[phrase.length - 1]!.end);
}

/** Whether C is a space, a tab, CR or LF: what separates tokens. */
function blank(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

/**
 * The addr-spec between FROM and TO of VALUE as {@link parseAddressList} gives it, when it is
 * made of words, dots and `@` alone, with an `@` (no route, no domain literal, nothing to
 * join with spaces): its text before the last `@`, and after it; else undefined.
 */
function plainSpec(
  value: string,
  from: number,
  to: number,
): { adl: null; mailbox: string; host: string | null } | undefined {
  let at = -1;
  for (let i = from; i < to; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x40) at = i;
    else if (c !== 0x2e && c < 128 && ENDS_WORD[c]) return undefined;
  }
  if (at < 0) return undefined;
  return { adl: null, mailbox: value.slice(from, at), host: value.slice(at + 1, to) || null };
}

/**
 * The one address of VALUE when it has an everyday shape, as the general parse gives it:
 * `local@domain`, or a display name (plain words, or one quoted string without quoted pairs)
 * then `<local@domain>`, with white space around; else undefined.
 */
function everydayAddress(value: string): EnvelopeAddress | undefined {
  const n = value.length;
  const lt = value.indexOf("<");
  if (lt < 0) {
    const spec = plainSpec(value, 0, n);
    return spec && { name: null, ...spec };
  }
  let a = 0;
  while (a < n && blank(value.charCodeAt(a))) a++;
  let name: string | null;
  let open: number;
  if (value.charCodeAt(a) === 0x22) {
    const close = value.indexOf('"', a + 1);
    if (close < 0) return undefined;
    const slash = value.indexOf("\\", a + 1);
    if (slash >= 0 && slash < close) return undefined;
    name = value.slice(a + 1, close);
    open = close + 1;
    while (open < n && blank(value.charCodeAt(open))) open++;
    if (open !== value.indexOf("<", close)) return undefined;
  } else {
    // Plain words: nothing but atoms and white space before the `<`.
    let b = lt;
    while (b > a && blank(value.charCodeAt(b - 1))) b--;
    for (let i = a; i < b; i++) {
      const c = value.charCodeAt(i);
      if (c < 128 && ENDS_WORD[c] && !blank(c)) return undefined;
    }
    name = b > a ? value.slice(a, b) : null;
    open = lt;
  }
  const gt = value.indexOf(">", open + 1);
  if (gt < 0) return undefined;
  for (let i = gt + 1; i < n; i++) if (!blank(value.charCodeAt(i))) return undefined;
  const spec = plainSpec(value, open + 1, gt);
  return spec && { name, ...spec };
}

/** Parses an address-list field (From, To, Cc, …) into ENVELOPE entries. */
export function parseAddressList(value: string): EnvelopeAddress[] {
  const everyday = everydayAddress(value);
  return everyday ? [everyday] : parseAnyAddressList(value);
}

/**
 * {@link parseAddressList} without its shortcut for everyday shapes (tests compare the two).
 */
export function parseAnyAddressList(value: string): EnvelopeAddress[] {
  const tokens = tokenize(value);
  const out: EnvelopeAddress[] = [];
  let current: Token[] = [];
  let inGroup = false;
  const flush = () => {
    if (current.length === 0) return;
    const lt = current.findIndex((t) => t.t === "special" && t.v === "<");
    if (lt >= 0) {
      const gt = current.findIndex((t, i) => i > lt && t.t === "special" && t.v === ">");
      const inner = current.slice(lt + 1, gt < 0 ? undefined : gt);
      const name = displayName(value, current.slice(0, lt).filter((t) => t.t !== "comment"));
      out.push({ name, ...addrSpec(inner) });
    } else {
      // A bare addr-spec with a comment: the comment serves as the name (`a@b (Ann)`).
      const comment = current.findLast((t) => t.t === "comment");
      const spec = current.filter((t) => t.t !== "comment");
      out.push({ name: comment ? comment.v.trim() : null, ...addrSpec(spec) });
    }
    current = [];
  };
  let angle = false;
  for (let i = 0; i < tokens.length && out.length < MAX_ADDRESSES; i++) {
    const tok = tokens[i]!;
    if (tok.t === "special" && (tok.v === "<" || tok.v === ">")) angle = tok.v === "<";
    if (tok.t === "special" && tok.v === "," && !angle) {
      flush();
    } else if (
      tok.t === "special" && tok.v === ":" && !inGroup &&
      !current.some((t) => t.t === "special" && (t.v === "<" || t.v === "@"))
    ) {
      // A group: display-name ":" [mailbox-list] ";".
      const phrase = current.filter((t) => t.t !== "comment");
      out.push({ name: null, adl: null, mailbox: displayName(value, phrase) ?? "", host: null });
      current = [];
      inGroup = true;
    } else if (tok.t === "special" && tok.v === ";" && inGroup) {
      flush();
      out.push({ name: null, adl: null, mailbox: null, host: null });
      inGroup = false;
    } else current.push(tok);
  }
  flush();
  if (inGroup) out.push({ name: null, adl: null, mailbox: null, host: null });
  return out.filter((a) => a.mailbox !== null || a.host !== null || a.name === null);
}

function addressItems(addresses: readonly EnvelopeAddress[]): Item {
  if (addresses.length === 0) return NIL;
  // The addresses follow one another with nothing between (RFC 9051 §9 `env-from`).
  return list([{
    concat: addresses.map((a) =>
      list([
        nstr(a.name === null ? null : headerString(a.name)),
        nstr(a.adl === null ? null : headerString(a.adl)),
        nstr(a.mailbox === null ? null : headerString(a.mailbox)),
        nstr(a.host === null ? null : headerString(a.host)),
      ])
    ),
  }]);
}

/** What an ENVELOPE holds, in its order: raw fields (strings) and address lists (arrays). */
type EnvelopeParts = [
  date: string | null,
  subject: string | null,
  from: EnvelopeAddress[],
  sender: EnvelopeAddress[],
  replyTo: EnvelopeAddress[],
  to: EnvelopeAddress[],
  cc: EnvelopeAddress[],
  bcc: EnvelopeAddress[],
  inReplyTo: string | null,
  messageId: string | null,
];

/** The parts of the ENVELOPE of a message with header FIELDS. */
function envelopeParts(fields: readonly HeaderField[]): EnvelopeParts {
  // The first field of each name, as headerRaw finds it (case-insensitively).
  const first = new Map<string, string>();
  for (const [n, v] of fields) {
    const k = n.toLowerCase();
    if (!first.has(k)) first.set(k, v);
  }
  const raw = (name: string) => first.get(name) ?? null;
  const addresses = (name: string): EnvelopeAddress[] => {
    const v = first.get(name);
    if (v === undefined) return [];
    // Unfolded (RFC 5322 §2.2.3), as message_parts.ts' headerValue gives it.
    return parseAddressList(v.includes("\n") ? v.replace(/\r?\n/g, "") : v);
  };
  const from = addresses("from");
  // Sender and Reply-To default to From when absent or empty (RFC 9051 §7.5.2).
  const orFrom = (name: string) => {
    const own = addresses(name);
    return own.length > 0 ? own : from;
  };
  return [
    raw("date"),
    raw("subject"),
    from,
    orFrom("sender"),
    orFrom("reply-to"),
    addresses("to"),
    addresses("cc"),
    addresses("bcc"),
    raw("in-reply-to"),
    raw("message-id"),
  ];
}

/**
 * A raw field as ENVELOPE sends it: a folded field is unfolded, its folding white space made a
 * space, and sent as a literal, as Dovecot sends it.
 */
function rawItem(v: string | null): Item {
  if (v === null) return NIL;
  if (/[\r\n]/.test(v)) {
    return { literal: latin1Bytes(v.replace(/\r?\n[ \t]/g, " ").replace(/[\r\n]/g, "")) };
  }
  return nstr(headerString(v));
}

/** The ENVELOPE of a message with header FIELDS (RFC 9051 §7.5.2). */
export function envelope(fields: readonly HeaderField[]): Item {
  return list(
    envelopeParts(fields).map((p) =>
      p === null || typeof p === "string" ? rawItem(p) : addressItems(p)
    ),
  );
}

/** An nstring of header text (see {@link headerString}). */
function writeHeaderString(w: ResponseWriter, s: string | null): void {
  if (s === null) w.ascii("NIL");
  else w.string(headerString(s));
}

/**
 * Writes the ENVELOPE of PARTS as {@link envelope}'s item is written, without making the item:
 * the same calls of the writer, which decides every string's form.
 */
function writeEnvelope(w: ResponseWriter, parts: EnvelopeParts): void {
  w.byte(0x28);
  for (let i = 0; i < parts.length; i++) {
    if (i > 0) w.byte(0x20);
    const p = parts[i]!;
    if (p === null || typeof p === "string") {
      if (p !== null && (p.includes("\r") || p.includes("\n"))) w.item(rawItem(p));
      else writeHeaderString(w, p);
    } else if (p.length === 0) w.ascii("NIL");
    else {
      w.byte(0x28);
      for (const a of p) {
        w.byte(0x28);
        writeHeaderString(w, a.name);
        w.byte(0x20);
        writeHeaderString(w, a.adl);
        w.byte(0x20);
        writeHeaderString(w, a.mailbox);
        w.byte(0x20);
        writeHeaderString(w, a.host);
        w.byte(0x29);
      }
      w.byte(0x29);
    }
  }
  w.byte(0x29);
}

/**
 * A message's ENVELOPE encoded once for each way strings may go out (RFC 9051 §4.3): `ascii`
 * for a connection without UTF-8, `utf8` with it, or null when that is the same octets (no
 * 8-bit octet in any string, as in nearly every message).
 */
export interface EncodedEnvelope {
  readonly ascii: Uint8Array;
  readonly utf8: Uint8Array | null;
}

/**
 * Changes to what {@link envelope} answers bump this, so that ENVELOPEs kept encoded by an
 * older version are made again.
 */
export const ENVELOPE_VERSION = 1;

/** The ENVELOPE of a message with header FIELDS, encoded (see {@link EncodedEnvelope}). */
export function encodeEnvelope(fields: readonly HeaderField[]): EncodedEnvelope {
  const parts = envelopeParts(fields);
  const encode = (utf8: boolean) => {
    const w = new ResponseWriter({ utf8 }, 512);
    writeEnvelope(w, parts);
    return concatBytes(w.take());
  };
  const ascii = encode(false);
  // Without 8-bit octets every string is written alike either way.
  let eight = false;
  for (let i = 0; i < ascii.length && !eight; i++) eight = ascii[i]! > 0x7f;
  return { ascii, utf8: eight ? encode(true) : null };
}

/** The fields ENVELOPE reads, lower-cased. */
const ENVELOPE_FIELDS = [
  "date",
  "subject",
  "from",
  "sender",
  "reply-to",
  "to",
  "cc",
  "bcc",
  "in-reply-to",
  "message-id",
] as const;

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const TAB = 0x09;

/** What String.prototype.trim removes, among octets (latin1). */
function trimmed(b: number): boolean {
  return b === SP || (b >= TAB && b <= CR) || b === 0xa0;
}

/**
 * Which of {@link ENVELOPE_FIELDS} the octets FROM to TO name, case-insensitively; -1 if none.
 */
function envelopeField(bytes: Uint8Array, from: number, to: number): number {
  const n = to - from;
  if (n < 2 || n > 11) return -1;
  next: for (let k = 0; k < ENVELOPE_FIELDS.length; k++) {
    const name = ENVELOPE_FIELDS[k]!;
    if (name.length !== n) continue;
    for (let i = 0; i < n; i++) {
      let b = bytes[from + i]!;
      if (b >= 0x41 && b <= 0x5a) b += 0x20;
      if (b !== name.charCodeAt(i)) continue next;
    }
    return k;
  }
  return -1;
}

/**
 * The header fields between START and END that ENVELOPE reads, the first of each name: what
 * `parseHeader` (./message_parts.ts) gives for them, found without making the others (a header
 * is mostly Received and DKIM fields). Its rules, on octets: a field ends at a line end (LF,
 * with a CR before it) not followed by white space; its name is what precedes its first colon,
 * trimmed; its value what follows, without white space before and line ends and white space
 * after.
 */
export function envelopeFields(bytes: Uint8Array, start: number, end: number): HeaderField[] {
  const out: HeaderField[] = [];
  const all = (1 << ENVELOPE_FIELDS.length) - 1;
  let seen = 0;
  /** The field from LINE to LF (its line end, or END), its first colon at COLON (or -1). */
  const field = (line: number, lf: number, colon: number) => {
    if (colon <= line) return;
    const stop = lf < end && lf > line && bytes[lf - 1] === CR ? lf - 1 : lf;
    if (colon >= stop) return;
    let a = line;
    let b = colon;
    while (a < b && trimmed(bytes[a]!)) a++;
    while (b > a && trimmed(bytes[b - 1]!)) b--;
    const k = envelopeField(bytes, a, b);
    if (k < 0 || seen & (1 << k)) return;
    seen |= 1 << k;
    let vs = colon + 1;
    let ve = stop;
    while (vs < ve && (bytes[vs] === SP || bytes[vs] === TAB)) vs++;
    while (ve > vs) {
      const c = bytes[ve - 1];
      if (c !== SP && c !== TAB && c !== CR && c !== LF) break;
      ve--;
    }
    out.push([ENVELOPE_FIELDS[k]!, octetString(bytes.subarray(vs, ve))]);
  };
  for (let line = start; line < end;) {
    // The first colon is nearly always in the field's first line: looked for there first.
    let colon = -1;
    let i = line;
    for (; i < end; i++) {
      const c = bytes[i];
      if (c === 0x3a) {
        colon = i;
        break;
      }
      if (c === LF) break;
    }
    // The field's end: the first line end not followed by white space (which folds it).
    let lf = end;
    for (let j = i;;) {
      const at = bytes.indexOf(LF, j);
      if (at < 0 || at >= end) break;
      const after = at + 1 < end ? bytes[at + 1] : -1;
      if (after !== SP && after !== TAB) {
        lf = at;
        break;
      }
      j = at + 1;
    }
    // Else in its other lines, looked for up to its end only: a search to the end of the
    // message from each field without one would be quadratic in a hostile header.
    for (let j = i; colon < 0 && j < lf; j++) if (bytes[j] === 0x3a) colon = j;
    field(line, lf, colon);
    if (seen === all) break;
    line = lf + 1;
  }
  return out;
}

/** The ENVELOPE of the message header between START and END of BYTES, encoded. */
export function encodeEnvelopeOf(bytes: Uint8Array, start: number, end: number): EncodedEnvelope {
  return encodeEnvelope(envelopeFields(bytes, start, end));
}
