/**
 * The PLAIN mechanism (RFC 4616) as every protocol here carries it (SMTP AUTH, RFC 4954; IMAP
 * AUTHENTICATE, RFC 9051 §6.2.2; POP3 AUTH, RFC 5034): the client's response, base64, is
 * `[authzid] NUL authcid NUL passwd`; `=` is an empty response.
 *
 * @module
 */

/** What a PLAIN response says. */
export type PlainResponse =
  | { readonly kind: "credentials"; readonly user: string; readonly password: string }
  /** Not base64 of UTF-8, or not three fields. */
  | { readonly kind: "malformed" }
  /** An authorization identity other than the user: acting for someone else is not offered. */
  | { readonly kind: "other-identity"; readonly user: string };

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Decodes a PLAIN response (the text of the client's line, or AUTH's initial response). */
export function decodePlain(response: string): PlainResponse {
  const b64 = response.trim();
  let decoded: string;
  if (b64 === "=") decoded = "";
  else {
    if (!BASE64.test(b64)) return { kind: "malformed" };
    try {
      decoded = utf8.decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
    } catch {
      return { kind: "malformed" };
    }
  }
  const parts = decoded.split("\0");
  if (parts.length !== 3) return { kind: "malformed" };
  const [authzid = "", user = "", password = ""] = parts;
  if (user === "") return { kind: "malformed" };
  if (authzid !== "" && authzid.toLowerCase() !== user.toLowerCase()) {
    return { kind: "other-identity", user };
  }
  return { kind: "credentials", user, password };
}
