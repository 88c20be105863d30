/**
 * Every line the POP3 server sends is built here (RFC 1939 §3): status lines (`+OK`, `-ERR`
 * with an optional RFC 2449 §8 response code), the SASL continuation (RFC 5034 §4), and
 * multi-line responses, with their data dot-stuffed and ended by `.` CRLF.
 *
 * Output is a list of byte chunks: a message in RETR or TOP goes out as views of its stored
 * bytes (message_data.ts), never copied into one buffer with the rest.
 *
 * @module
 */
import { stuffedChunks, topLength } from "./message_data.ts";

/**
 * Response codes (RFC 2449 §8, RFC 3206): `IN-USE` the maildrop is locked by another session;
 * `AUTH` the credentials were refused; `SYS/TEMP` a passing problem of the server's (try
 * again later); `SYS/PERM` one that will not pass by waiting.
 */
export type ResponseCode = "IN-USE" | "AUTH" | "SYS/TEMP" | "SYS/PERM";

/** RFC 2449 §4: a response line is at most 512 octets, CRLF included. */
const MAX_RESPONSE_LINE = 512;

const encoder = new TextEncoder();

function line(text: string): Uint8Array {
  // Our own texts only; a line break in one would let it pass for another response.
  if (/[\r\n]/.test(text)) throw new Error(`Line break in response ${JSON.stringify(text)}`);
  const bytes = encoder.encode(`${text}\r\n`);
  if (bytes.length > MAX_RESPONSE_LINE) throw new Error(`Response line too long: ${text}`);
  return bytes;
}

/** `+OK` and TEXT. */
export function ok(text?: string): Uint8Array {
  return line(text === undefined || text === "" ? "+OK" : `+OK ${text}`);
}

/** `-ERR`, the response code if any, and TEXT. */
export function err(text: string, code?: ResponseCode): Uint8Array {
  return line(code === undefined ? `-ERR ${text}` : `-ERR [${code}] ${text}`);
}

/** The SASL continuation (RFC 5034 §4): `+ ` and the base64 challenge (empty for PLAIN). */
export function continuation(challenge = ""): Uint8Array {
  return line(`+ ${challenge}`);
}

/** A multi-line response of lines we composed (CAPA, LIST, UIDL): `+OK TEXT`, the lines, `.`. */
export function multiline(text: string | undefined, lines: readonly string[]): Uint8Array[] {
  const out = [ok(text)];
  // None of our lines begins with a dot; stuffing them anyway keeps the framing safe.
  for (const l of lines) out.push(line(l.startsWith(".") ? `.${l}` : l));
  out.push(line("."));
  return out;
}

/** RETR (RFC 1939 §7): `+OK n octets`, the whole message dot-stuffed, `.`. */
export function messageResponse(message: Uint8Array): Uint8Array[] {
  return [ok(`${message.length} octets`), ...stuffedChunks(message)];
}

/** TOP (RFC 1939 §7): `+OK`, the header, the empty line and LINES lines of the body, `.`. */
export function topResponse(message: Uint8Array, lines: number): Uint8Array[] {
  return [ok(), ...stuffedChunks(message, topLength(message, lines))];
}
