/**
 * A message decoded for reading: the headers people look at, the text body and the list of
 * attachments. MIME structure (RFC 2045-2049) is parsed by postal-mime; this module picks what
 * to show and makes sure that a broken message still shows something instead of failing.
 *
 * @module
 */
import type { Address, Email } from "postal-mime";
import { decodeHeaderValue } from "./encoded_words.ts";
import { htmlToText } from "./html_to_text.ts";
import { splitNameAddress } from "./list_format.ts";
import { decodeHeaderBytes, headerBlock, MAX_HEADER_BYTES, parseSummaryFields } from "./summary.ts";

/** A mailbox as shown: decoded display name (may be empty) and address. */
export interface DisplayAddress {
  readonly name: string;
  readonly address: string;
}

/** An attachment as listed: file name (`""` when the part names none), type, decoded size. */
export interface DisplayAttachment {
  readonly name: string;
  readonly contentType: string;
  /** Decoded size in bytes (after base64 or quoted-printable). */
  readonly size: number;
}

/** Where the shown text came from. */
export type TextSource = "plain" | "html" | "raw";

/** What a reader shows of one message. Values are decoded but not yet made terminal-safe. */
export interface DisplayMessage {
  readonly from: readonly DisplayAddress[];
  readonly to: readonly DisplayAddress[];
  readonly cc: readonly DisplayAddress[];
  /** Decoded Subject, `""` when absent. */
  readonly subject: string;
  /** The Date header as the sender wrote it (their time zone is information), `""` if absent. */
  readonly date: string;
  readonly messageId: string;
  /** The text body: text/plain when there is one, else the HTML reduced to text, else raw. */
  readonly text: string;
  readonly textSource: TextSource;
  readonly attachments: readonly DisplayAttachment[];
}

function flatten(list: readonly Address[] | Address | undefined): DisplayAddress[] {
  if (list === undefined) return [];
  const out: DisplayAddress[] = [];
  for (const a of Array.isArray(list) ? list : [list]) {
    if (a.group !== undefined) {
      // RFC 5322 §3.4 groups: show the members (an empty group shows nothing).
      for (const m of a.group) out.push({ name: m.name, address: m.address });
    } else {
      out.push({ name: a.name, address: a.address });
    }
  }
  return out;
}

function firstHeader(email: Email, key: string): string {
  return email.headers.find((h) => h.key === key)?.value.trim() ?? "";
}

/** Parses BYTES (a whole stored message) for display. Never throws. */
export async function parseForDisplay(bytes: Uint8Array): Promise<DisplayMessage> {
  // Loaded here, not at start-up: `mail serve` never displays a message.
  const { default: PostalMime } = await import("postal-mime");
  let email: Email;
  try {
    email = await PostalMime.parse(bytes);
  } catch {
    return fallback(bytes);
  }
  const attachments = email.attachments.map((a): DisplayAttachment => ({
    name: a.filename ?? "",
    contentType: a.mimeType,
    size: typeof a.content === "string" ? a.content.length : a.content.byteLength,
  }));
  let text = email.text ?? "";
  let textSource: TextSource = "plain";
  if (text.trim() === "" && email.html !== undefined && email.html.trim() !== "") {
    text = htmlToText(email.html);
    textSource = "html";
  } else if (text === "" && attachments.length === 0) {
    // Nothing MIME could find (e.g. a body the parser did not recognise): show it as it is.
    text = rawBody(bytes);
    textSource = "raw";
  }
  return {
    from: flatten(email.from),
    to: flatten(email.to),
    cc: flatten(email.cc),
    // Decoded here rather than by postal-mime so that the list and the reader agree.
    subject: decodeHeaderValue(firstHeader(email, "subject")),
    date: firstHeader(email, "date"),
    messageId: email.messageId ?? "",
    text: text.replace(/\r\n?/g, "\n"),
    textSource,
    attachments,
  };
}

/** What is shown when MIME parsing fails outright: the summary headers and the raw body. */
function fallback(bytes: Uint8Array): DisplayMessage {
  const fields = parseSummaryFields(decodeHeaderBytes(headerBlock([bytes])));
  const from = fields.from === "" ? [] : [splitNameAddress(decodeHeaderValue(fields.from))];
  return {
    from,
    to: [],
    cc: [],
    subject: decodeHeaderValue(fields.subject),
    date: fields.date,
    messageId: fields.messageId,
    text: rawBody(bytes),
    textSource: "raw",
    attachments: [],
  };
}

/** The bytes after the header block as text (UTF-8, else Latin-1), or all of them if no block. */
export function rawBody(bytes: Uint8Array): string {
  const header = headerBlock([bytes]);
  const looksLikeHeaders = /^[!-9;-~]+:/.test(decodeHeaderBytes(header.subarray(0, 200)));
  if (!looksLikeHeaders || header.length >= MAX_HEADER_BYTES) return decodeHeaderBytes(bytes);
  if (header.length >= bytes.length) return ""; // headers only
  // headerBlock stops at the LF that ends the empty line: skip it.
  return decodeHeaderBytes(bytes.subarray(header.length + 1));
}

export { formatForTerminal, type TerminalOptions } from "./terminal.ts";
