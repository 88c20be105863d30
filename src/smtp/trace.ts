/**
 * Trace headers added on receipt (RFC 5321 §4.4): `Return-Path:` and `Received:`; and their
 * count, which tells a message that loops (RFC 5321 §6.3). The server refuses a looping
 * message at DATA time; the queue refuses to send one on.
 *
 * @module
 */

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** RFC 5322 §3.3 date-time in UTC: `Sat, 28 Nov 2026 11:46:50 +0000`. */
export function rfc5322Date(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${
    MONTHS[d.getUTCMonth()]
  } ${d.getUTCFullYear()} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/**
 * RFC 3848 / RFC 6531 §4.3 "with" protocol types: SMTP after HELO, ESMTP after EHLO, plus S
 * for TLS, A for authentication, and the UTF8 prefix when SMTPUTF8 was used.
 */
export function withProtocol(o: { esmtp: boolean; tls: boolean; auth: boolean; utf8: boolean }) {
  if (!o.esmtp) return "SMTP";
  return `${o.utf8 ? "UTF8SMTP" : "ESMTP"}${o.tls ? "S" : ""}${o.auth ? "A" : ""}`;
}

/** What a Received header says about one transaction. */
export interface ReceivedInfo {
  /** The name the client gave in HELO/EHLO. */
  readonly helo: string;
  /** The client's IP address. */
  readonly clientAddress: string;
  /** Our hostname. */
  readonly by: string;
  /** From {@link withProtocol}. */
  readonly with: string;
  readonly id: string;
  /** The recipient, when there is exactly one (RFC 5321 §4.4: never more, for privacy). */
  readonly for?: string | undefined;
  /** TLS details for a comment, such as `TLSv1.3 TLS_AES_256_GCM_SHA384`. */
  readonly tls?: string | undefined;
  readonly date: Date;
}

/** Keeps client-supplied text from breaking the header: printable ASCII, no parentheses. */
function clean(s: string): string {
  return s.replace(/[^\x21-\x7e]|[()\\]/g, "?").slice(0, 255);
}

/** Text for a comment: as {@link clean}, but spaces are kept (`TLSv1.3 TLS_AES_...`). */
function cleanComment(s: string): string {
  return s.replace(/[^\x20-\x7e]|[()\\]/g, "?").slice(0, 255);
}

/** The `Received:` header field, folded, with CRLF at the end. */
export function receivedHeader(r: ReceivedInfo): string {
  const ip = r.clientAddress.includes(":") ? `IPv6:${r.clientAddress}` : r.clientAddress;
  let h = `Received: from ${clean(r.helo)} ([${clean(ip)}])\r\n\tby ${r.by} with ${r.with}`;
  if (r.tls) h += ` (${cleanComment(r.tls)})`;
  h += ` id ${r.id}`;
  // RFC 5321 §4.4 For-Clause; the address is already validated path syntax, but it may hold
  // UTF-8 with SMTPUTF8, which RFC 6532 allows in header fields.
  if (r.for) h += `\r\n\tfor <${r.for.replace(/[\r\n]/g, "")}>`;
  return `${h};\r\n\t${rfc5322Date(r.date)}\r\n`;
}

/** `Return-Path:` (RFC 5321 §4.4): the envelope sender, `<>` for the null path. */
export function returnPathHeader(sender: string): string {
  return `Return-Path: <${sender.replace(/[\r\n]/g, "")}>\r\n`;
}

/**
 * RFC 5321 §6.3: a message with more than this many `Received:` fields is looping ("a large
 * rejection threshold, normally at least 100").
 */
export const MAX_RECEIVED = 100;

const CR = 0x0d;
const LF = 0x0a;
const RECEIVED = new TextEncoder().encode("received:");

/**
 * Counts the `Received:` fields of the header block of CHUNKS (up to the first empty line),
 * case-insensitively, across chunk boundaries, without copying. Stops counting past LIMIT.
 */
export function countReceived(chunks: Iterable<Uint8Array>, limit = Infinity): number {
  let count = 0;
  // How much of "received:" the current line has matched; `matching` ends once it cannot.
  let col = 0;
  let matching = true;
  let emptySoFar = true;
  for (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === LF) {
        if (emptySoFar) return count; // an empty line ends the header block
        col = 0;
        matching = true;
        emptySoFar = true;
        continue;
      }
      if (b !== CR) emptySoFar = false;
      if (matching) {
        const lower = b >= 0x41 && b <= 0x5a ? b + 0x20 : b;
        if (lower === RECEIVED[col]) {
          col++;
          if (col === RECEIVED.length) {
            count++;
            if (count > limit) return count;
            matching = false;
          }
        } else {
          matching = false;
        }
      }
    }
  }
  return count;
}

/** Whether the message has looped: more than {@link MAX_RECEIVED} `Received:` fields. */
export function isLooping(chunks: Iterable<Uint8Array>): boolean {
  return countReceived(chunks, MAX_RECEIVED) > MAX_RECEIVED;
}
