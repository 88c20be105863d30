/**
 * FETCH data items (RFC 9051 §6.4.5), as a client asks for them: macros, simple attributes and
 * `BODY[section]<partial>` with every section form, `BINARY[part]` (RFC 3516) and MODSEQ
 * (RFC 7162).
 *
 * @module
 */
import { type Cursor, ImapParseError } from "./cursor.ts";

/** A section specification (RFC 9051 §6.4.5 `section-spec`). */
export interface Section {
  /** Part numbers, e.g. [1, 2] for `1.2`; empty for the whole message. */
  readonly part: readonly number[];
  /** What of that part: all of it (undefined), or one of the named texts. */
  readonly text?: "HEADER" | "HEADER.FIELDS" | "HEADER.FIELDS.NOT" | "TEXT" | "MIME";
  /** The field names of HEADER.FIELDS and HEADER.FIELDS.NOT, upper-cased. */
  readonly fields?: readonly string[];
}

/** `<start.count>`: which octets of a section. */
export interface Partial {
  readonly start: number;
  readonly count: number;
}

/** One data item of a FETCH. */
export type FetchItem =
  | {
    readonly kind:
      | "UID"
      | "FLAGS"
      | "INTERNALDATE"
      | "RFC822.SIZE"
      | "ENVELOPE"
      | "BODYSTRUCTURE"
      | "BODY"
      | "MODSEQ"
      | "RFC822"
      | "RFC822.HEADER"
      | "RFC822.TEXT";
  }
  | {
    readonly kind: "BODY[]";
    readonly section: Section;
    readonly peek: boolean;
    readonly partial?: Partial;
  }
  | {
    readonly kind: "BINARY[]";
    readonly part: readonly number[];
    readonly peek: boolean;
    readonly partial?: Partial;
  }
  | { readonly kind: "BINARY.SIZE"; readonly part: readonly number[] };

const SIMPLE = [
  "UID",
  "FLAGS",
  "INTERNALDATE",
  "RFC822.SIZE",
  "ENVELOPE",
  "BODYSTRUCTURE",
  "MODSEQ",
  "RFC822.HEADER",
  "RFC822.TEXT",
  "RFC822",
] as const;

/** The macros of RFC 9051 §6.4.5. */
const MACROS: Record<string, FetchItem[]> = {
  ALL: [{ kind: "FLAGS" }, { kind: "INTERNALDATE" }, { kind: "RFC822.SIZE" }, {
    kind: "ENVELOPE",
  }],
  FAST: [{ kind: "FLAGS" }, { kind: "INTERNALDATE" }, { kind: "RFC822.SIZE" }],
  FULL: [
    { kind: "FLAGS" },
    { kind: "INTERNALDATE" },
    { kind: "RFC822.SIZE" },
    { kind: "ENVELOPE" },
    { kind: "BODY" },
  ],
};

/** Most data items in one FETCH. */
const MAX_ITEMS = 100;
/** Most header field names in HEADER.FIELDS. */
const MAX_FIELDS = 200;
/** Deepest part number (`1.2.3…`). */
const MAX_PART_DEPTH = 32;

/** Reads the items of a FETCH: a macro, one item, or a parenthesised list of items. */
export function parseFetchItems(c: Cursor): FetchItem[] {
  if (!c.atList()) return parseItem(c, true);
  const items = c.list(() => parseItem(c, false), false).flat();
  if (items.length > MAX_ITEMS) throw new ImapParseError("Too many FETCH items");
  return items;
}

/** One item (a macro only where MACRO allows: alone, never inside a list). */
function parseItem(c: Cursor, macro: boolean): FetchItem[] {
  for (const peek of [true, false]) {
    const body = peek ? "BODY.PEEK[" : "BODY[";
    if (c.take(body)) {
      const section = parseSection(c);
      const partial = parsePartial(c);
      return [{ kind: "BODY[]", section, peek, ...(partial ? { partial } : {}) }];
    }
    const binary = peek ? "BINARY.PEEK[" : "BINARY[";
    if (c.take(binary)) {
      const part = parsePartOnly(c);
      const partial = parsePartial(c);
      return [{ kind: "BINARY[]", part, peek, ...(partial ? { partial } : {}) }];
    }
  }
  if (c.take("BINARY.SIZE[")) return [{ kind: "BINARY.SIZE", part: parsePartOnly(c) }];
  const name = c.atom("a FETCH item").toUpperCase();
  const simple = SIMPLE.find((s) => s === name);
  if (simple) return [{ kind: simple }];
  if (name === "BODY") return [{ kind: "BODY" }];
  const items = MACROS[name];
  if (items && macro) return items;
  throw new ImapParseError(`Unknown FETCH item: ${name}`);
}

/** `<start.count>` after a section, if there is one. */
function parsePartial(c: Cursor): Partial | undefined {
  if (!c.take("<")) return undefined;
  const start = c.number("a partial start");
  c.expect(".");
  const count = c.nzNumber("a partial length");
  c.expect(">");
  return { start, count };
}

/** Part numbers up to `]` for BINARY (no section text allowed). */
function parsePartOnly(c: Cursor): number[] {
  const part: number[] = [];
  while (!c.take("]")) {
    if (part.length > 0) c.expect(".");
    part.push(c.nzNumber("a part number"));
    if (part.length > MAX_PART_DEPTH) throw new ImapParseError("Part number too deep");
  }
  return part;
}

/** The section inside `BODY[…]`, up to and including `]`. */
function parseSection(c: Cursor): Section {
  const part: number[] = [];
  for (;;) {
    if (c.take("]")) return { part };
    const p = c.peek();
    if (p >= 0x31 && p <= 0x39) {
      part.push(c.nzNumber("a part number"));
      if (part.length > MAX_PART_DEPTH) throw new ImapParseError("Part number too deep");
      if (c.take("]")) return { part };
      c.expect(".");
      continue;
    }
    break;
  }
  let text: NonNullable<Section["text"]>;
  if (c.take("HEADER.FIELDS.NOT")) text = "HEADER.FIELDS.NOT";
  else if (c.take("HEADER.FIELDS")) text = "HEADER.FIELDS";
  else if (c.take("HEADER")) text = "HEADER";
  else if (c.take("TEXT")) text = "TEXT";
  else if (c.take("MIME")) {
    // MIME names the header of a body part, never of the message (RFC 9051 §6.4.5).
    if (part.length === 0) throw new ImapParseError("MIME needs a part number");
    text = "MIME";
  } else throw c.error("Invalid section");
  if (text === "HEADER.FIELDS" || text === "HEADER.FIELDS.NOT") {
    c.sp();
    const fields = c.list(() => c.astring("a header field name").toUpperCase(), false);
    if (fields.length > MAX_FIELDS) throw new ImapParseError("Too many header fields");
    c.expect("]");
    return { part, text, fields };
  }
  c.expect("]");
  return { part, text };
}
