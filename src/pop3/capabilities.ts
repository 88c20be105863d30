/**
 * The CAPA list (RFC 2449 §5, §6). It is the same in AUTHORIZATION and TRANSACTION (§5:
 * capabilities of the AUTHORIZATION state are announced in both), and changes only with TLS:
 * before it, USER and SASL are announced only where logins are allowed in plaintext, and STLS
 * (RFC 2595 §4) only while it can still be used.
 *
 * @module
 */

/** What the list depends on. */
export interface CapabilityContext {
  /** STLS is offered: a certificate exists and the connection is not TLS yet. */
  readonly startTls: boolean;
  /** USER/PASS and AUTH may be used on this connection now. */
  readonly loginAllowed: boolean;
}

/** The SASL mechanisms offered (RFC 5034); PLAIN only, and only where logins are allowed. */
export const SASL_MECHANISMS = ["PLAIN"] as const;

/** The capability lines, in the order CAPA lists them. */
export function capabilities(c: CapabilityContext): string[] {
  const caps = ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"];
  if (c.loginAllowed) caps.push("USER", `SASL ${SASL_MECHANISMS.join(" ")}`);
  if (c.startTls) caps.push("STLS");
  // RFC 2449 §6.7: the server never deletes messages on its own.
  caps.push("EXPIRE NEVER", "IMPLEMENTATION mail");
  return caps;
}
