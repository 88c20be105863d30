/**
 * Trimming text a peer sent, one pass from each end. A pattern such as `[ \t]+$` retries its
 * match from every character of a run of blanks, which is quadratic in a hostile run's length.
 *
 * @module
 */

/** WSP (RFC 5234): SP and HTAB. */
export const isWsp = (c: number): boolean => c === 0x20 || c === 0x09;

/** Folding white space's characters (RFC 5322 §3.2.2): WSP, CR and LF. */
export const isFws = (c: number): boolean => isWsp(c) || c === 0x0d || c === 0x0a;

/**
 * S from START to END without the characters LEADING accepts at its start and those TRAILING
 * accepts at its end (LEADING's by default).
 */
export function trimmed(
  s: string,
  leading: (c: number) => boolean,
  trailing: (c: number) => boolean = leading,
  start = 0,
  end = s.length,
): string {
  while (start < end && leading(s.charCodeAt(start))) start++;
  while (end > start && trailing(s.charCodeAt(end - 1))) end--;
  return s.slice(start, end);
}
