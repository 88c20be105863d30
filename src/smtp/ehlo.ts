/**
 * EHLO capabilities, as the client reads them (RFC 5321 §4.1.1.1): the first line of the 250
 * reply names the server, each further line is an extension keyword with optional parameters.
 *
 * @module
 */
import type { Reply } from "./reply.ts";

/** What a server offered in its EHLO reply, typed for the extensions the client uses. */
export interface Capabilities {
  /** Whether the session is ESMTP (EHLO succeeded); after a HELO fallback nothing is offered. */
  readonly esmtp: boolean;
  /** RFC 2920. */
  readonly pipelining: boolean;
  /**
   * RFC 1870: the declared maximum message size; 0 when SIZE is offered without a limit,
   * undefined when SIZE is not offered.
   */
  readonly size: number | undefined;
  /** RFC 6152. */
  readonly eightBitMime: boolean;
  /** RFC 6531. */
  readonly smtputf8: boolean;
  /** RFC 2034. */
  readonly enhancedStatusCodes: boolean;
  /** RFC 3207. */
  readonly startTls: boolean;
  /** RFC 4954: SASL mechanisms offered, upper-cased; empty when AUTH is not offered. */
  readonly auth: readonly string[];
  /** Every keyword (upper-cased) with its parameters, for anything not typed above. */
  readonly keywords: ReadonlyMap<string, readonly string[]>;
}

/** A session that fell back to HELO: no extensions at all (RFC 5321 §3.2). */
export const NO_CAPABILITIES: Capabilities = {
  esmtp: false,
  pipelining: false,
  size: undefined,
  eightBitMime: false,
  smtputf8: false,
  enhancedStatusCodes: false,
  startTls: false,
  auth: [],
  keywords: new Map(),
};

/** Parses a 250 reply to EHLO. Unknown or malformed extension lines are kept, never fatal. */
export function parseEhlo(r: Reply): Capabilities {
  const keywords = new Map<string, string[]>();
  // RFC 5321 §4.1.1.1: ehlo-line = ehlo-keyword *( SP ehlo-param ); the first line is the
  // server's domain and greeting, not an extension.
  for (const line of r.lines.slice(1)) {
    const [keyword, ...params] = line.trim().split(/\s+/);
    if (!keyword) continue;
    // Some old servers announce "AUTH=LOGIN PLAIN" (pre-RFC 4954 syntax); read it as AUTH.
    const eq = keyword.indexOf("=");
    const key = (eq > 0 ? keyword.slice(0, eq) : keyword).toUpperCase();
    const values = eq > 0 ? [keyword.slice(eq + 1), ...params] : params;
    const known = keywords.get(key) ?? [];
    keywords.set(key, [...known, ...values.filter((v) => v !== "")]);
  }
  const sizeParam = keywords.get("SIZE")?.[0];
  const size = !keywords.has("SIZE")
    ? undefined
    : sizeParam !== undefined && /^\d{1,20}$/.test(sizeParam)
    ? Number(sizeParam)
    : 0;
  return {
    esmtp: true,
    pipelining: keywords.has("PIPELINING"),
    size,
    eightBitMime: keywords.has("8BITMIME"),
    smtputf8: keywords.has("SMTPUTF8"),
    enhancedStatusCodes: keywords.has("ENHANCEDSTATUSCODES"),
    startTls: keywords.has("STARTTLS"),
    auth: [...new Set((keywords.get("AUTH") ?? []).map((m) => m.toUpperCase()))],
    keywords,
  };
}
