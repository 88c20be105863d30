/**
 * SEARCH evaluation (RFC 9051 §6.4.4): a {@link SearchKey} tree tested against each message of
 * the selected folder. Flags, sizes, dates, UIDs and sequence numbers come from the folder's
 * list; header keys read the message's header; BODY and TEXT are answered by the store (its
 * full-text index), once per term, before the tree is evaluated.
 *
 * Matching is case-insensitive substring matching on the decoded text (RFC 9051 §6.4.4: "the
 * string ... is contained"); encoded words in headers are decoded first, as Dovecot does.
 *
 * @module
 */
import type { MessageMeta } from "./backend.ts";
import type { HeaderField } from "./message_parts.ts";
import type { SearchKey } from "./search_key.ts";
import { resolveRanges, type SequenceSet } from "./sequence_set.ts";

/** One message as the evaluator sees it. */
export interface Candidate {
  readonly seq: number;
  readonly meta: MessageMeta;
}

/** What the evaluator needs besides the candidates. */
export interface SearchContext {
  /** The largest sequence number and UID in the folder (`*`). */
  readonly maxSeq: number;
  readonly maxUid: number;
  /** The result of the last SEARCH with SAVE (`$`), as UIDs (RFC 5182). */
  readonly saved: readonly number[];
  /** UIDs matching each text term, keyed by {@link textTermKey}. */
  readonly textMatches: ReadonlyMap<string, ReadonlySet<number>>;
  /** The decoded header fields of a message, loaded for header and SENT* keys. */
  readonly headers: (uid: number) => readonly HeaderField[] | undefined;
}

/** The key under which the store's answer for one BODY/TEXT term is kept. */
export function textTermKey(op: "body" | "text", value: string): string {
  return `${op}\u0000${value}`;
}

/** The BODY and TEXT terms in KEY, each once. */
export function textTerms(key: SearchKey): { where: "body" | "text"; value: string }[] {
  const out = new Map<string, { where: "body" | "text"; value: string }>();
  const visit = (k: SearchKey): void => {
    switch (k.op) {
      case "body":
      case "text":
        out.set(textTermKey(k.op, k.value), { where: k.op, value: k.value });
        return;
      case "and":
        k.keys.forEach(visit);
        return;
      case "or":
        visit(k.a);
        visit(k.b);
        return;
      case "not":
        visit(k.key);
    }
  };
  visit(key);
  return [...out.values()];
}

/** Whether KEY needs header fields (header keys and SENT* dates). */
export function needsHeaders(key: SearchKey): boolean {
  switch (key.op) {
    case "header":
      return true;
    case "date":
      return key.which === "sent";
    case "and":
      return key.keys.some(needsHeaders);
    case "or":
      return needsHeaders(key.a) || needsHeaders(key.b);
    case "not":
      return needsHeaders(key.key);
    default:
      return false;
  }
}

function inSet(
  set: SequenceSet,
  n: number,
  max: number,
  saved: readonly number[],
  uid: boolean,
): boolean {
  if (set.kind === "saved") return uid ? saved.includes(n) : false;
  return resolveRanges(set, max).some(([a, b]) => n >= a && n <= b);
}

const DAY = 86_400_000;
const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/** The day a Date: header names, as written (its own zone), at UTC midnight; undefined if none. */
export function sentDay(value: string): number | undefined {
  const m = /(\d{1,2})\s+([A-Za-z]{3})[a-z]*\s+(\d{2,4})/.exec(value);
  if (!m) return undefined;
  const month = MONTHS.indexOf(m[2]!.toLowerCase());
  if (month < 0) return undefined;
  let year = Number(m[3]);
  if (year < 50) year += 2000;
  else if (year < 1000) year += 1900;
  return Date.UTC(year, month, Number(m[1]));
}

function compareDay(day: number, cmp: "before" | "on" | "since", date: Date): boolean {
  const target = date.getTime();
  if (cmp === "before") return day < target;
  if (cmp === "on") return day >= target && day < target + DAY;
  return day >= target;
}

/** Whether the message matches KEY. */
export function matches(key: SearchKey, c: Candidate, ctx: SearchContext): boolean {
  const m = c.meta;
  switch (key.op) {
    case "all":
      return true;
    case "and":
      return key.keys.every((k) => matches(k, c, ctx));
    case "or":
      return matches(key.a, c, ctx) || matches(key.b, c, ctx);
    case "not":
      return !matches(key.key, c, ctx);
    case "flag": {
      // \Recent is never set: no session here is the first to see a message (RFC 9051 drops it).
      const has = key.flag === "\\Recent"
        ? false
        : m.flags.some((f) => f.toLowerCase() === key.flag.toLowerCase());
      return has === key.set;
    }
    case "size":
      return key.cmp === "larger" ? m.size > key.size : m.size < key.size;
    case "seq":
      return inSet(key.set, c.seq, ctx.maxSeq, ctx.saved, false);
    case "uid":
      return inSet(key.set, m.uid, ctx.maxUid, ctx.saved, true);
    case "modseq":
      return m.modseq >= key.modseq;
    case "body":
    case "text":
      return ctx.textMatches.get(textTermKey(key.op, key.value))?.has(m.uid) ?? false;
    case "date": {
      if (key.which === "internal") {
        const d = m.internalDate;
        const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
        return compareDay(day, key.cmp, key.date);
      }
      const date = ctx.headers(m.uid)?.find(([n]) => n.toLowerCase() === "date")?.[1];
      const day = date === undefined ? undefined : sentDay(date);
      return day !== undefined && compareDay(day, key.cmp, key.date);
    }
    case "header": {
      const fields = ctx.headers(m.uid) ?? [];
      const want = key.value.toLowerCase();
      return fields.some(([n, v]) =>
        n.toUpperCase() === key.field && (want === "" || v.toLowerCase().includes(want))
      );
    }
  }
}
