/**
 * Mailbox and path grammar of RFC 5321 §4.1.2 (with RFC 6531's UTF-8 extension), shared by
 * the server (MAIL/RCPT arguments) and the client (what it will put on the wire).
 *
 * @module
 */

/** A parsed mailbox: `local@domain`. */
export interface Mailbox {
  /** The local part as it appears on the wire (quoted if it was quoted). */
  readonly local: string;
  /** A domain name, or an address literal in brackets (`[127.0.0.1]`, `[IPv6:::1]`). */
  readonly domain: string;
  /** Whether local part or domain uses non-ASCII characters (needs SMTPUTF8). */
  readonly utf8: boolean;
}

/** A parse failure, with a reason fit for a 501 reply. */
export class AddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AddressError";
  }
}

// RFC 5321 §4.5.3.1: local part 64 octets, domain 255, path 256 (including the brackets).
export const MAX_LOCAL_PART = 64;
export const MAX_DOMAIN = 255;
export const MAX_PATH = 256;

// RFC 5322 §3.2.3 atext; RFC 6531 §3.3 adds any UTF-8 non-ASCII character.
// RFC 6531 §3.3 UTF8-non-ascii, less the C1 controls and the line and paragraph separators,
// which no address needs and which could make a log line or header look like two.
const ATEXT = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u00a0-\u2027\u202a-\u{10FFFF}]+$/u;
const ATEXT_ASCII = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+$/;
// RFC 5321 sub-domain = Let-dig [Ldh-str]; RFC 6531 allows U-labels.
const LABEL_ASCII = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
const LABEL_UTF8 = /^[\p{L}\p{N}\p{M}](?:[\p{L}\p{N}\p{M}-]*[\p{L}\p{N}\p{M}])?$/u;
const NON_ASCII = /[^\x00-\x7f]/;

/** Length in octets when sent as UTF-8, without encoding (this runs for every MAIL and RCPT). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4; // a surrogate pair is one 4-octet character
      i++;
    } else n += 3;
  }
  return n;
}

/** Parses a domain name (not an address literal). Returns it unchanged or throws. */
export function parseDomain(domain: string, allowUtf8: boolean): string {
  if (domain.length === 0) throw new AddressError("Empty domain");
  if (utf8Length(domain) > MAX_DOMAIN) throw new AddressError("Domain too long");
  for (const label of domain.split(".")) {
    if (label.length > 63) throw new AddressError("Domain label too long");
    const ok = LABEL_ASCII.test(label) || (allowUtf8 && LABEL_UTF8.test(label));
    if (!ok) {
      throw new AddressError(
        NON_ASCII.test(label) && !allowUtf8
          ? "Non-ASCII domain requires SMTPUTF8"
          : "Invalid domain syntax",
      );
    }
  }
  return domain;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function isIPv6(s: string): boolean {
  // RFC 5321 §4.1.3 IPv6-addr: full, compressed ("::"), and with a trailing IPv4 part.
  let body = s;
  let groupsNeeded = 8;
  const lastColon = s.lastIndexOf(":");
  const tail = s.slice(lastColon + 1);
  if (tail.includes(".")) {
    if (!IPV4.test(tail)) return false;
    body = s.slice(0, lastColon + 1) + "0";
    groupsNeeded = 7;
  }
  const hex = /^[0-9A-Fa-f]{1,4}$/;
  const halves = body.split("::");
  if (halves.length > 2) return false;
  const parts = (h: string) => (h === "" ? [] : h.split(":"));
  if (halves.length === 1) {
    const g = parts(body);
    return g.length === groupsNeeded && g.every((x) => hex.test(x));
  }
  const [a, b] = [parts(halves[0] ?? ""), parts(halves[1] ?? "")];
  const all = [...a, ...b];
  // RFC 5321 §4.1.3 IPv6-comp: "::" stands for at least two groups of zeros.
  return all.length <= groupsNeeded - 2 && all.every((x) => hex.test(x));
}

/** Parses `[...]` address literals (RFC 5321 §4.1.3). */
export function parseAddressLiteral(literal: string): string {
  const inner = literal.slice(1, -1);
  if (IPV4.test(inner)) return literal;
  if (/^IPv6:/i.test(inner) && isIPv6(inner.slice(5))) return literal;
  // General-address-literal = Standardized-tag ":" 1*dcontent; no other tags are registered,
  // so anything else cannot be routed to.
  throw new AddressError("Invalid address literal");
}

/** Parses a quoted-string local part (RFC 5321 §4.1.2 Quoted-string). */
function checkQuoted(local: string, allowUtf8: boolean): void {
  // qtextSMTP = %d32-33 / %d35-91 / %d93-126; quoted-pairSMTP = "\" %d32-126.
  for (let i = 1; i < local.length - 1; i++) {
    const c = local.charCodeAt(i);
    if (c === 0x5c) {
      const n = local.charCodeAt(i + 1);
      if (i + 1 >= local.length - 1 || n < 32 || n > 126) {
        throw new AddressError("Invalid quoted local part");
      }
      i++;
      continue;
    }
    if (c === 0x22 || c < 32 || c === 127) throw new AddressError("Invalid quoted local part");
    if (c > 127 && !allowUtf8) throw new AddressError("Non-ASCII address requires SMTPUTF8");
  }
}

/** Splits a mailbox at the `@` that is outside any quoted local part. */
function splitMailbox(s: string): [string, string] {
  let at = -1;
  if (s.startsWith('"')) {
    let i = 1;
    for (; i < s.length; i++) {
      if (s[i] === "\\") i++;
      else if (s[i] === '"') break;
    }
    if (i >= s.length) throw new AddressError("Unterminated quoted local part");
    at = s[i + 1] === "@" ? i + 1 : -1;
  } else {
    at = s.lastIndexOf("@");
  }
  if (at <= 0) throw new AddressError("Address must be local-part@domain");
  return [s.slice(0, at), s.slice(at + 1)];
}

/**
 * Parses `local@domain` (no angle brackets). `allowUtf8` is whether the transaction declared
 * SMTPUTF8 (RFC 6531 §3.4); without it, non-ASCII is a syntax error.
 */
export function parseMailbox(s: string, allowUtf8: boolean): Mailbox {
  const [local, domain] = splitMailbox(s);
  if (utf8Length(local) > MAX_LOCAL_PART) throw new AddressError("Local part too long");
  if (local.startsWith('"')) {
    if (!local.endsWith('"') || local.length < 2) throw new AddressError("Invalid local part");
    checkQuoted(local, allowUtf8);
  } else {
    for (const atom of local.split(".")) {
      if (ATEXT_ASCII.test(atom)) continue;
      if (ATEXT.test(atom)) {
        if (!allowUtf8) throw new AddressError("Non-ASCII address requires SMTPUTF8");
        continue;
      }
      throw new AddressError("Invalid local part syntax");
    }
  }
  const dom = domain.startsWith("[") && domain.endsWith("]")
    ? parseAddressLiteral(domain)
    : parseDomain(domain, allowUtf8);
  return { local, domain: dom, utf8: NON_ASCII.test(local) || NON_ASCII.test(dom) };
}

/** A parsed reverse- or forward-path. `mailbox` is undefined for the null path `<>`. */
export interface Path {
  readonly mailbox: Mailbox | undefined;
}

/**
 * Parses a path in angle brackets, as found after `MAIL FROM:` or `RCPT TO:`. Source routes
 * (`<@a,@b:user@c>`) are accepted and ignored (RFC 5321 §3.3 and Appendix C). `<>` is
 * accepted only when `allowNull` (reverse-paths).
 */
export function parsePath(s: string, allowUtf8: boolean, allowNull: boolean): Path {
  if (!s.startsWith("<") || !s.endsWith(">")) throw new AddressError("Path must be in <>");
  if (utf8Length(s) > MAX_PATH) throw new AddressError("Path too long");
  let inner = s.slice(1, -1);
  if (inner === "") {
    if (!allowNull) throw new AddressError("Null path not allowed here");
    return { mailbox: undefined };
  }
  if (inner.startsWith("@")) {
    const colon = inner.indexOf(":");
    if (colon < 0) throw new AddressError("Invalid source route");
    for (const hop of inner.slice(0, colon).split(",")) {
      if (!hop.startsWith("@")) throw new AddressError("Invalid source route");
      parseDomain(hop.slice(1), allowUtf8);
    }
    inner = inner.slice(colon + 1);
  }
  return { mailbox: parseMailbox(inner, allowUtf8) };
}

/** `local@domain` as written on the wire. */
export function mailboxToString(m: Mailbox): string {
  return `${m.local}@${m.domain}`;
}

/**
 * The key under which a mailbox is stored: the whole address lower-cased and NFC-normalised,
 * with a quoted local part unquoted when it needs no quotes. Local parts are matched without
 * regard to case, as nearly every MTA does (RFC 5321 §2.4 leaves that to the receiving host).
 */
export function canonicalAddress(m: Mailbox): string {
  let local = m.local;
  if (local.startsWith('"')) {
    const unquoted = local.slice(1, -1).replace(/\\(.)/g, "$1");
    local = unquoted.split(".").every((a) => ATEXT.test(a)) ? unquoted : local;
  }
  return `${local}@${m.domain}`.normalize("NFC").toLowerCase();
}

/**
 * Parses an address typed by a user (CLI) and returns its canonical form, or throws
 * AddressError. UTF-8 is allowed: there is no SMTP session to negotiate it.
 */
export function canonicalFromInput(input: string): string {
  const s = input.trim().replace(/^<(.*)>$/, "$1");
  return canonicalAddress(parseMailbox(s, true));
}

/** Domain part of a canonical address. */
export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf("@") + 1);
}
