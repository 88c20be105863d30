/**
 * SASL for SMTP AUTH (RFC 4954), client side: the PLAIN (RFC 4616) and LOGIN mechanisms.
 * Only the encodings live here; the dialogue is the client's.
 *
 * @module
 */

/** The mechanisms the client implements, most preferred first. */
export const CLIENT_MECHANISMS = ["PLAIN", "LOGIN"] as const;
export type ClientMechanism = typeof CLIENT_MECHANISMS[number];

/** Base64 of the UTF-8 bytes of TEXT (RFC 4954 §4 uses base64 for every SASL exchange). */
export function base64Utf8(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** Decodes a base64 server challenge (the text of a 334 reply); undefined when not base64. */
export function decodeChallenge(text: string): string | undefined {
  try {
    const binary = atob(text.trim());
    return new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
}

/** Why credentials cannot be encoded. */
export class SaslError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SaslError";
  }
}

function checkCredential(what: string, value: string): void {
  // RFC 4616 §2: authcid and passwd are 1*SAFE (any UTF-8 but NUL).
  if (value === "") throw new SaslError(`Empty ${what}`);
  if (value.includes("\0")) throw new SaslError(`The ${what} contains a NUL character`);
}

/**
 * The initial response of PLAIN (RFC 4616 §2): `authzid NUL authcid NUL passwd`, base64. The
 * authorization identity is left empty: act as the user who logs in.
 */
export function plainResponse(user: string, password: string): string {
  checkCredential("user name", user);
  checkCredential("password", password);
  return base64Utf8(`\0${user}\0${password}`);
}

/** The two LOGIN responses (draft-murchison-sasl-login): user name, then password, base64. */
export function loginResponses(user: string, password: string): [string, string] {
  checkCredential("user name", user);
  checkCredential("password", password);
  return [base64Utf8(user), base64Utf8(password)];
}

/** The mechanism to use among those OFFERED (PLAIN first: one round trip), or undefined. */
export function chooseMechanism(offered: readonly string[]): ClientMechanism | undefined {
  const set = new Set(offered.map((m) => m.toUpperCase()));
  return CLIENT_MECHANISMS.find((m) => set.has(m));
}
