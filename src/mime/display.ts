/**
 * A message decoded for reading: the headers people look at, the text body and the list of
 * attachments. MIME structure (RFC 2045-2049) and encoded words (RFC 2047) are decoded by
 * postal-mime; this module picks what to show and makes sure that a broken message still shows
 * something instead of failing.
 *
 * @module
 */
import PostalMime, { type Address, decodeWords, type Email } from "postal-mime";
import { splitNameAddress } from "./list_format.ts";
import { decodeHeaderBytes, headerBlock, MAX_HEADER_BYTES, parseSummaryFields } from "./summary.ts";
import type { DisplayAddress, DisplayAttachment, DisplayMessage, TextSource } from "./types.ts";

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
    // Loaded only for a message that needs it: most mail has a text/plain part.
    const { htmlToText } = await import("./html_to_text.ts");
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
    // Decoded from the raw field, as the list decodes the stored one, so that the two agree.
    subject: decodeWords(firstHeader(email, "subject")),
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
  const from = fields.from === "" ? [] : [splitNameAddress(decodeWords(fields.from))];
  return {
    from,
    to: [],
    cc: [],
    subject: decodeWords(fields.subject),
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
