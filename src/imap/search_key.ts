/**
 * SEARCH criteria (RFC 9051 §6.4.4, with RFC 3501's NEW, OLD, RECENT and UNRECENT for rev1
 * clients and RFC 7162's MODSEQ), parsed into a tree the search engine evaluates.
 *
 * @module
 */
import { type Cursor, ImapParseError } from "./cursor.ts";
import { parseSequenceSet, type SequenceSet, SequenceSetError } from "./sequence_set.ts";

/** A search criterion. Several at the top level, or in parentheses, must all match. */
export type SearchKey =
  | { readonly op: "all" }
  | { readonly op: "and"; readonly keys: readonly SearchKey[] }
  | { readonly op: "or"; readonly a: SearchKey; readonly b: SearchKey }
  | { readonly op: "not"; readonly key: SearchKey }
  /** A flag (system or keyword) set, or not set when `set` is false. */
  | { readonly op: "flag"; readonly flag: string; readonly set: boolean }
  /** A header field contains VALUE (case-insensitive substring; "" matches any with the field). */
  | { readonly op: "header"; readonly field: string; readonly value: string }
  | { readonly op: "body" | "text"; readonly value: string }
  /** Internal date (`internal`) or Date: header (`sent`), compared by day. */
  | {
    readonly op: "date";
    readonly which: "internal" | "sent";
    readonly cmp: "before" | "on" | "since";
    readonly date: Date;
  }
  | { readonly op: "size"; readonly cmp: "larger" | "smaller"; readonly size: number }
  | { readonly op: "seq"; readonly set: SequenceSet }
  | { readonly op: "uid"; readonly set: SequenceSet }
  | { readonly op: "modseq"; readonly modseq: number };

/** Criteria in one SEARCH, counted through the whole tree. */
const MAX_KEYS = 1000;
/** Deepest nesting of NOT, OR and parentheses. */
const MAX_DEPTH = 32;

const FLAG_KEYS: Record<string, [string, boolean]> = {
  ANSWERED: ["\\Answered", true],
  DELETED: ["\\Deleted", true],
  DRAFT: ["\\Draft", true],
  FLAGGED: ["\\Flagged", true],
  SEEN: ["\\Seen", true],
  RECENT: ["\\Recent", true],
  UNANSWERED: ["\\Answered", false],
  UNDELETED: ["\\Deleted", false],
  UNDRAFT: ["\\Draft", false],
  UNFLAGGED: ["\\Flagged", false],
  UNSEEN: ["\\Seen", false],
  UNRECENT: ["\\Recent", false],
};

const HEADER_KEYS = ["BCC", "CC", "FROM", "SUBJECT", "TO"];

const DATE_KEYS: Record<string, ["internal" | "sent", "before" | "on" | "since"]> = {
  BEFORE: ["internal", "before"],
  ON: ["internal", "on"],
  SINCE: ["internal", "since"],
  SENTBEFORE: ["sent", "before"],
  SENTON: ["sent", "on"],
  SENTSINCE: ["sent", "since"],
};

/** Reads one or more criteria up to the end of the command; several are ANDed. */
export function parseSearchKeys(c: Cursor): SearchKey {
  const budget = { keys: 0 };
  const keys = [parseKey(c, budget, 0)];
  while (c.takeSp()) keys.push(parseKey(c, budget, 0));
  return keys.length === 1 ? keys[0]! : { op: "and", keys };
}

function parseKey(c: Cursor, budget: { keys: number }, depth: number): SearchKey {
  if (++budget.keys > MAX_KEYS) throw new ImapParseError("Too many search criteria");
  if (depth > MAX_DEPTH) throw new ImapParseError("Search criteria nested too deeply");
  if (c.atList()) {
    c.open();
    const keys = [parseKey(c, budget, depth + 1)];
    while (c.takeSp()) keys.push(parseKey(c, budget, depth + 1));
    c.close();
    return keys.length === 1 ? keys[0]! : { op: "and", keys };
  }
  const p = c.peek();
  if ((p >= 0x30 && p <= 0x39) || p === 0x2a || p === 0x24) {
    return { op: "seq", set: sequenceSet(c) };
  }
  const name = c.atom("a search key").toUpperCase();
  const flag = FLAG_KEYS[name];
  if (flag) return { op: "flag", flag: flag[0], set: flag[1] };
  if (HEADER_KEYS.includes(name)) {
    c.sp();
    return { op: "header", field: name, value: c.astring() };
  }
  const date = DATE_KEYS[name];
  if (date) {
    c.sp();
    return { op: "date", which: date[0], cmp: date[1], date: c.date() };
  }
  switch (name) {
    case "ALL":
      return { op: "all" };
    case "NEW":
      return {
        op: "and",
        keys: [{ op: "flag", flag: "\\Recent", set: true }, {
          op: "flag",
          flag: "\\Seen",
          set: false,
        }],
      };
    case "OLD":
      return { op: "flag", flag: "\\Recent", set: false };
    case "KEYWORD":
    case "UNKEYWORD":
      c.sp();
      return { op: "flag", flag: c.flag(), set: name === "KEYWORD" };
    case "HEADER": {
      c.sp();
      const field = c.astring("a header field name").toUpperCase();
      c.sp();
      return { op: "header", field, value: c.astring() };
    }
    case "BODY":
    case "TEXT":
      c.sp();
      return { op: name === "BODY" ? "body" : "text", value: c.astring() };
    case "LARGER":
    case "SMALLER":
      c.sp();
      return { op: "size", cmp: name === "LARGER" ? "larger" : "smaller", size: c.number() };
    case "NOT":
      c.sp();
      return { op: "not", key: parseKey(c, budget, depth + 1) };
    case "OR": {
      c.sp();
      const a = parseKey(c, budget, depth + 1);
      c.sp();
      return { op: "or", a, b: parseKey(c, budget, depth + 1) };
    }
    case "UID":
      c.sp();
      return { op: "uid", set: sequenceSet(c) };
    case "MODSEQ": {
      c.sp();
      // RFC 7162 §3.1.5: an optional entry name and type come before the value; we keep one
      // modseq per message, so they change nothing.
      if (c.peek() === 0x22) {
        c.quoted();
        c.sp();
        c.atom("an entry type");
        c.sp();
      }
      return { op: "modseq", modseq: c.number("a mod-sequence") };
    }
  }
  throw new ImapParseError(`Unknown search key: ${name}`);
}

function sequenceSet(c: Cursor): SequenceSet {
  try {
    return parseSequenceSet(c.sequenceSetText());
  } catch (e) {
    if (e instanceof SequenceSetError) throw new ImapParseError(e.message);
    throw e;
  }
}
