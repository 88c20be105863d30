/**
 * SASL for SMTP AUTH (RFC 4954): the PLAIN (RFC 4616) and LOGIN mechanisms, both sides. Only
 * the encodings and the steps of an exchange live here; the dialogues are the client's and the
 * server session's.
 *
 * @module
 */
import { type Reply, reply } from "./reply.ts";

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

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Decodes base64 of UTF-8 text; undefined when it is not canonical base64 or not UTF-8. */
export function decodeBase64Utf8(text: string): string | undefined {
  const b64 = text.trim();
  if (!BASE64.test(b64)) return undefined;
  try {
    return utf8.decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
}

/** Decodes a base64 server challenge (the text of a 334 reply); undefined when not base64. */
export function decodeChallenge(text: string): string | undefined {
  return decodeBase64Utf8(text);
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

// --- Server side -------------------------------------------------------------------------------

/** The mechanisms the server offers. */
export const SERVER_MECHANISMS = ["PLAIN", "LOGIN"] as const;

/** An exchange waiting for the client's next line. */
export type SaslStep = { readonly mech: "PLAIN" } | {
  readonly mech: "LOGIN";
  readonly user?: string;
};

/** What one step of a server-side exchange comes to. */
export type SaslOutcome =
  /** Send REPLY (a 334 challenge) and feed the client's next line to {@link saslContinue}. */
  | { readonly kind: "challenge"; readonly step: SaslStep; readonly reply: Reply }
  /** The client has said who it is: verify these. */
  | { readonly kind: "credentials"; readonly user: string; readonly password: string }
  /** The exchange ends with REPLY; USER, when known, is who tried. */
  | { readonly kind: "refused"; readonly reply: Reply; readonly user?: string };

// RFC 4954 §4 / draft-murchison-sasl-login: LOGIN's challenges are "Username:" and "Password:".
const LOGIN_USER = btoa("Username:");
const LOGIN_PASSWORD = btoa("Password:");
const undecodable = (): SaslOutcome => ({
  kind: "refused",
  reply: reply(501, "5.5.2", "Cannot decode response"),
});

/** `AUTH MECHANISM [INITIAL]`: the first step (the mechanism already upper-cased). */
export function saslStart(mech: string, initial: string | undefined): SaslOutcome {
  if (mech === "PLAIN") {
    if (initial === undefined) {
      return { kind: "challenge", step: { mech }, reply: reply(334, undefined, "") };
    }
    return plainCredentials(initial);
  }
  if (mech === "LOGIN") {
    if (initial === undefined) {
      return { kind: "challenge", step: { mech }, reply: reply(334, undefined, LOGIN_USER) };
    }
    return loginUser(initial);
  }
  return { kind: "refused", reply: reply(504, "5.5.4", "Unrecognized authentication mechanism") };
}

/** The client's answer LINE to the challenge of STEP. */
export function saslContinue(step: SaslStep, line: string): SaslOutcome {
  // RFC 4954 §4: "*" cancels the exchange.
  if (line.trim() === "*") {
    return { kind: "refused", reply: reply(501, "5.7.0", "Authentication cancelled") };
  }
  if (step.mech === "PLAIN") return plainCredentials(line);
  if (step.user === undefined) return loginUser(line);
  const password = decodeBase64Utf8(line);
  if (password === undefined) return undecodable();
  return { kind: "credentials", user: step.user, password };
}

function loginUser(b64: string): SaslOutcome {
  const user = decodeBase64Utf8(b64);
  if (user === undefined) return undecodable();
  return {
    kind: "challenge",
    step: { mech: "LOGIN", user },
    reply: reply(334, undefined, LOGIN_PASSWORD),
  };
}

/** RFC 4616 §2: message = [authzid] NUL authcid NUL passwd. */
function plainCredentials(response: string): SaslOutcome {
  // RFC 4954 §4: "=" is an empty initial response.
  const decoded = response.trim() === "=" ? "" : decodeBase64Utf8(response);
  if (decoded === undefined) return undecodable();
  const parts = decoded.split("\0");
  if (parts.length !== 3) {
    return { kind: "refused", reply: reply(501, "5.5.2", "Malformed PLAIN response") };
  }
  const [authzid = "", user = "", password = ""] = parts;
  // We do not let one user act for another: an authorization identity must be the user.
  if (authzid !== "" && authzid.toLowerCase() !== user.toLowerCase()) {
    return {
      kind: "refused",
      user,
      reply: reply(535, "5.7.8", "Authentication credentials invalid"),
    };
  }
  return { kind: "credentials", user, password };
}
