/**
 * Client-side command formatting (RFC 5321 §4.1.1) with the ESMTP parameters the client
 * declares (RFC 1870 SIZE, RFC 6152 BODY, RFC 6531 SMTPUTF8), and what a message needs from
 * the server. Every address is checked against the path grammar of address.ts before it goes
 * on the wire, so no argument can carry a CR or LF into another command.
 *
 * @module
 */
import { AddressError, parseMailbox } from "./address.ts";

/** Parameters the client may put on MAIL FROM. */
export interface MailParamsOut {
  /** RFC 1870 §3: the message size in octets (an estimate is allowed; ours is exact). */
  readonly size?: number | undefined;
  /** RFC 6152 §2: `8BITMIME` when the message has octets above 127. */
  readonly body?: "7BIT" | "8BITMIME" | undefined;
  /** RFC 6531 §3.4: UTF-8 addresses or headers. */
  readonly smtputf8?: boolean | undefined;
}

/** Refuses a command argument that could end the line early (CRLF injection). */
function checkLine(text: string): string {
  if (/[\r\n\0]/.test(text)) throw new AddressError("Line breaks are not allowed in a command");
  return text;
}

/** `<local@domain>`, or `<>` for the null reverse-path; the address must parse. */
export function formatPath(address: string, allowNull: boolean): string {
  if (address === "") {
    if (!allowNull) throw new AddressError("Empty address");
    return "<>";
  }
  checkLine(address);
  // UTF-8 is checked here as allowed; whether SMTPUTF8 is needed is decided by the caller.
  parseMailbox(address, true);
  return `<${address}>`;
}

/** `MAIL FROM:<sender> [SIZE=n] [BODY=8BITMIME] [SMTPUTF8]` (RFC 5321 §4.1.1.2). */
export function mailFromCommand(sender: string, params: MailParamsOut = {}): string {
  let line = `MAIL FROM:${formatPath(sender, true)}`;
  if (params.size !== undefined) line += ` SIZE=${Math.max(0, Math.floor(params.size))}`;
  if (params.body !== undefined) line += ` BODY=${params.body}`;
  if (params.smtputf8) line += " SMTPUTF8";
  return line;
}

/** `RCPT TO:<recipient>` (RFC 5321 §4.1.1.3). */
export function rcptToCommand(recipient: string): string {
  return `RCPT TO:${formatPath(recipient, false)}`;
}

/** `EHLO name` or `HELO name`; the name is a domain or an address literal (§4.1.1.1). */
export function helloCommand(verb: "EHLO" | "HELO", name: string): string {
  checkLine(name);
  if (name === "" || name.includes(" ")) throw new AddressError("Invalid HELO name");
  return `${verb} ${name}`;
}

/** Whether ADDRESS has non-ASCII characters (and so needs SMTPUTF8, RFC 6531 §3.2). */
export function isUtf8Address(address: string): boolean {
  return /[^\x00-\x7f]/.test(address);
}

/** Longest line in a message, in octets without CRLF (RFC 5322 §2.1.1, RFC 5321 §4.5.3.1.6). */
export const MAX_TEXT_LINE = 998;

/** What a message's bytes require of the server and of the wire. */
export interface MessageNeeds {
  /** Octets above 127 anywhere: BODY=8BITMIME (RFC 6152). */
  readonly eightBit: boolean;
  /** Non-ASCII in the header section: SMTPUTF8 (RFC 6532 §3, RFC 6531 §3.4). */
  readonly utf8Headers: boolean;
  /** 1-based number of the first line longer than {@link MAX_TEXT_LINE}, or 0. */
  readonly longLine: number;
  /** Whether a CR or LF appears that is not part of CRLF (SMTP needs CRLF, §2.3.8). */
  readonly bareLineEnding: boolean;
}

/** Scans MESSAGE once (it must already use CRLF line endings to pass as clean). */
export function messageNeeds(message: Uint8Array): MessageNeeds {
  let eightBit = false;
  let utf8Headers = false;
  let longLine = 0;
  let bare = false;
  let inHeader = true;
  let lineStart = 0;
  let line = 1;
  for (let i = 0; i < message.length; i++) {
    const b = message[i]!;
    if (b > 0x7f) {
      eightBit = true;
      if (inHeader) utf8Headers = true;
    } else if (b === 0x0d) {
      if (message[i + 1] !== 0x0a) bare = true;
    } else if (b === 0x0a) {
      if (i === 0 || message[i - 1] !== 0x0d) bare = true;
      const end = i > 0 && message[i - 1] === 0x0d ? i - 1 : i;
      if (longLine === 0 && end - lineStart > MAX_TEXT_LINE) longLine = line;
      if (inHeader && end === lineStart) inHeader = false; // the empty line ends the header
      lineStart = i + 1;
      line++;
    }
  }
  if (longLine === 0 && message.length - lineStart > MAX_TEXT_LINE) longLine = line;
  return { eightBit, utf8Headers, longLine, bareLineEnding: bare };
}
