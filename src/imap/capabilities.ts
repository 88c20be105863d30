/**
 * What the server says it can do (RFC 9051 §6.1.1, §7.2.2): before login, what a client needs
 * to log in; after it, every extension the session implements.
 *
 * @module
 */

/** The capabilities to announce; BEFORELOGIN chooses the list. */
export function capabilities(
  beforeLogin: boolean,
  o: {
    readonly startTls: boolean;
    readonly loginAllowed: boolean;
    readonly maxMessageSize: number;
  },
): string[] {
  const caps = ["IMAP4rev1", "IMAP4rev2", "LITERAL+", "SASL-IR", "ID", "ENABLE", "IDLE"];
  if (beforeLogin) {
    if (o.startTls) caps.push("STARTTLS");
    // RFC 9051 §6.2.3: no login before TLS; the client is told so instead of trying.
    caps.push(o.loginAllowed ? "AUTH=PLAIN" : "LOGINDISABLED");
    return caps;
  }
  caps.push(
    "NAMESPACE", // RFC 2342
    "UNSELECT", // RFC 3691
    "UIDPLUS", // RFC 4315
    "ESEARCH", // RFC 4731
    "SEARCHRES", // RFC 5182
    "LIST-EXTENDED", // RFC 5258
    "LIST-STATUS", // RFC 5819
    "MOVE", // RFC 6851
    "SPECIAL-USE", // RFC 6154
    "CREATE-SPECIAL-USE",
    "CHILDREN", // RFC 3348
    "BINARY", // RFC 3516
    "CONDSTORE", // RFC 7162
    "QRESYNC",
    "UTF8=ACCEPT", // RFC 6855
    "STATUS=SIZE", // RFC 8438
    `APPENDLIMIT=${o.maxMessageSize}`, // RFC 7889
  );
  return caps;
}
