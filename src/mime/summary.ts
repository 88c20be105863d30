/**
 * The summary headers (From, Subject, Date, Message-ID) taken from a message at delivery, so
 * that listing a mailbox never parses a message. This runs on the server's hot path for every
 * message: it reads only the header block, in one pass over the bytes, and allocates little.
 *
 * @module
 */
import { headerSection } from "../header_end.ts";
import type { MessageSummary } from "./types.ts";

/** The most header bytes looked at. Real header blocks are a few KiB; this bounds the work. */
export const MAX_HEADER_BYTES = 64 * 1024;

/**
 * Returns the raw values (unfolded, not RFC 2047-decoded, trimmed) of the first From, Subject,
 * Date and Message-ID fields, `""` for each one that is absent. CHUNKS are the message bytes in
 * order; the header block may span chunk boundaries.
 */
export function summarize(chunks: readonly Uint8Array[]): MessageSummary {
  return parseSummaryFields(decodeHeaderBytes(headerBlock(chunks)));
}

/**
 * The bytes of the header block: everything before the first empty line (RFC 5322 §2.1), capped
 * at {@link MAX_HEADER_BYTES}. Lines may end in CRLF or a bare LF (files written on Unix).
 */
export function headerBlock(chunks: readonly Uint8Array[]): Uint8Array {
  return headerSection(chunks, MAX_HEADER_BYTES);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const latin1 = new TextDecoder("latin1");

/**
 * Header bytes as text: UTF-8 when they are valid UTF-8 (RFC 6532 allows it in headers, and
 * ASCII is a subset), else Latin-1, which maps every byte to a character and never fails.
 */
export function decodeHeaderBytes(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return latin1.decode(bytes);
  }
}

type Key = keyof MessageSummary;
const FIELDS: ReadonlyMap<string, Key> = new Map<string, Key>([
  ["from", "from"],
  ["subject", "subject"],
  ["date", "date"],
  ["message-id", "messageId"],
]);

/** Picks the summary fields out of an (unparsed) header block. */
export function parseSummaryFields(text: string): MessageSummary {
  const found: Record<Key, string | undefined> = {
    from: undefined,
    subject: undefined,
    date: undefined,
    messageId: undefined,
  };
  let remaining = FIELDS.size;
  let current: Key | undefined;
  let value = "";
  const finish = () => {
    if (current !== undefined) {
      found[current] = value.trim();
      remaining--;
      current = undefined;
    }
  };
  for (const line of text.split("\n")) {
    const l = line.endsWith("\r") ? line.slice(0, -1) : line;
    const first = l.charCodeAt(0);
    if (first === 0x20 || first === 0x09) {
      // RFC 5322 §2.2.3: unfolding removes the CRLF before the white space, keeping the WSP.
      if (current !== undefined) value += l;
      continue;
    }
    finish();
    if (remaining === 0) break;
    const colon = l.indexOf(":");
    if (colon <= 0) continue; // not a field (e.g. an mbox "From " line): skip it
    // RFC 5322 §4.5 obs-optional allows white space between the name and the colon.
    const key = FIELDS.get(l.slice(0, colon).trimEnd().toLowerCase());
    if (key === undefined || found[key] !== undefined) continue; // the first occurrence wins
    current = key;
    value = l.slice(colon + 1);
  }
  finish();
  return {
    from: found.from ?? "",
    subject: found.subject ?? "",
    date: found.date ?? "",
    messageId: found.messageId ?? "",
  };
}
