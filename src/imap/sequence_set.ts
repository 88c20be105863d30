/**
 * Sequence sets (RFC 9051 §9, `sequence-set`): `1`, `2:4`, `7:*`, `1,3:5,9`, and `$` (the saved
 * search result, RFC 5182 SEARCHRES). `*` stands for the largest number in use, so a set is
 * kept as written and resolved against a mailbox's numbers when it is used.
 *
 * @module
 */

/** A number in a set: a message sequence number or UID, or `*` (the largest in use). */
export type SeqNumber = number | "*";

/** One range, inclusive; a lone number has `from === to`. The ends may come in either order. */
export interface SeqRange {
  readonly from: SeqNumber;
  readonly to: SeqNumber;
}

/** A parsed set: ranges, or `$`, the result of the last SEARCH with SAVE. */
export type SequenceSet =
  | { readonly kind: "ranges"; readonly ranges: readonly SeqRange[] }
  | { readonly kind: "saved" };

/** Largest number a set may name: `nz-number` is a 32-bit unsigned value (RFC 9051 §9). */
export const MAX_SEQ_NUMBER = 0xffff_ffff;

/** Most ranges one set may hold: a bound on what one command can make us keep. */
export const MAX_SEQ_RANGES = 10_000;

/** Why a set did not parse. */
export class SequenceSetError extends Error {
  override readonly name = "SequenceSetError";
}

const DIGITS = /^[1-9][0-9]*$/;

function parseNumber(s: string, text: string): SeqNumber {
  if (s === "*") return "*";
  if (!DIGITS.test(s)) throw new SequenceSetError(`Invalid sequence set: ${text}`);
  const n = Number(s);
  if (n > MAX_SEQ_NUMBER) throw new SequenceSetError(`Number out of range in sequence set: ${s}`);
  return n;
}

/** Parses TEXT as a sequence set; throws {@link SequenceSetError}. */
export function parseSequenceSet(text: string): SequenceSet {
  if (text === "$") return { kind: "saved" };
  if (text === "") throw new SequenceSetError("Empty sequence set");
  const parts = text.split(",");
  if (parts.length > MAX_SEQ_RANGES) {
    throw new SequenceSetError(`Sequence set has more than ${MAX_SEQ_RANGES} ranges`);
  }
  const ranges = parts.map((part): SeqRange => {
    const colon = part.indexOf(":");
    if (colon < 0) {
      const n = parseNumber(part, text);
      return { from: n, to: n };
    }
    return {
      from: parseNumber(part.slice(0, colon), text),
      to: parseNumber(part.slice(colon + 1), text),
    };
  });
  return { kind: "ranges", ranges };
}

/** Formats a set as IMAP writes it. */
export function formatSequenceSet(set: SequenceSet): string {
  if (set.kind === "saved") return "$";
  return set.ranges.map((r) => r.from === r.to ? `${r.from}` : `${r.from}:${r.to}`).join(",");
}

/**
 * The ranges of SET with `*` taken as LARGEST (the highest number in use; 0 when there is none),
 * each ordered low to high. `$` cannot be resolved here: the session substitutes it first.
 */
export function resolveRanges(set: SequenceSet, largest: number): [number, number][] {
  if (set.kind === "saved") throw new SequenceSetError("The saved result must be substituted");
  return set.ranges.map((r) => {
    const a = r.from === "*" ? largest : r.from;
    const b = r.to === "*" ? largest : r.to;
    return a <= b ? [a, b] : [b, a];
  });
}

/** Whether N is in SET, `*` being LARGEST. */
export function setContains(set: SequenceSet, n: number, largest: number): boolean {
  return resolveRanges(set, largest).some(([a, b]) => n >= a && n <= b);
}

/**
 * A compact set naming exactly the numbers given (any order, duplicates allowed): consecutive
 * runs become ranges. Used for COPYUID, APPENDUID and ESEARCH results (RFC 4315, RFC 4731).
 */
export function compactSet(numbers: Iterable<number>): SequenceSet {
  const sorted = [...new Set(numbers)].sort((a, b) => a - b);
  const ranges: SeqRange[] = [];
  let start = sorted[0];
  let prev = start;
  for (let i = 1; i <= sorted.length; i++) {
    const n = sorted[i];
    if (n !== undefined && prev !== undefined && n === prev + 1) {
      prev = n;
      continue;
    }
    if (start !== undefined && prev !== undefined) ranges.push({ from: start, to: prev });
    start = n;
    prev = n;
  }
  return { kind: "ranges", ranges };
}
