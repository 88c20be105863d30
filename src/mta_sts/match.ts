/**
 * Matching an MX host name against a policy's `mx` patterns (RFC 8461 §4.1): a pattern is a
 * host name, or `*.` and a domain, which matches exactly one more label on the left (as
 * certificate wildcards do, RFC 6125 §6.4.3): `*.example.com` matches `mx1.example.com` but
 * neither `example.com` nor `a.b.example.com`.
 *
 * @module
 */

const normalise = (name: string) => name.toLowerCase().replace(/\.$/, "");

/** Whether HOST (an MX name) matches PATTERN. Both compared case-insensitively. */
export function mxMatches(pattern: string, host: string): boolean {
  const p = normalise(pattern);
  const h = normalise(host);
  if (p === "" || h === "") return false;
  if (!p.startsWith("*.")) return p === h;
  const suffix = p.slice(1); // ".example.com"
  if (!h.endsWith(suffix)) return false;
  const label = h.slice(0, h.length - suffix.length);
  return label !== "" && !label.includes(".");
}

/** Whether HOST matches any of PATTERNS. */
export function mxAllowed(patterns: readonly string[], host: string): boolean {
  return patterns.some((p) => mxMatches(p, host));
}
