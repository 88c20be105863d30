/**
 * How a mailbox listing shows each entry: the summary headers stored at delivery, decoded
 * (RFC 2047) and made safe for one terminal line, laid out in aligned columns. Encoded words are
 * decoded by postal-mime's decodeWords, the function it decodes the display names of a parsed
 * message with, so that the list and the reader show a header the same way.
 *
 * @module
 */
import { decodeWords } from "postal-mime";
import { humanSize } from "./human_size.ts";
import { sanitizeLine } from "./sanitize.ts";
import { fit, textWidth, truncate } from "./text_width.ts";
import type { DecodedEntry, ListEntry, ListLayout } from "./types.ts";

/** A display name and an address. */
export interface NameAddress {
  readonly name: string;
  readonly address: string;
}

/**
 * Splits a decoded From value into name and address without a full RFC 5322 §3.4 parse: a
 * listing only needs something short to show. `"Lee, Ann" <ann@x>` gives `Lee, Ann` and `ann@x`.
 */
export function splitNameAddress(value: string): NameAddress {
  const m = /^(.*)<([^<>]*)>\s*$/.exec(value);
  if (!m) return { name: "", address: value.trim() };
  const name = (m[1] ?? "").trim().replace(/^"(.*)"$/, "$1").replace(/\\(.)/g, "$1");
  return { name, address: (m[2] ?? "").trim() };
}

/** Decodes an entry's summary headers. */
export function decodeEntry(entry: ListEntry): DecodedEntry {
  const from = sanitizeLine(decodeWords(entry.from));
  const { name, address } = splitNameAddress(from);
  const parsed = entry.date === "" ? NaN : Date.parse(entry.date);
  return {
    from,
    fromShort: name || address || "(unknown sender)",
    subject: sanitizeLine(decodeWords(entry.subject)),
    date: new Date(Number.isNaN(parsed) ? entry.receivedAt : parsed),
  };
}

const pad2 = (n: number) => String(n).padStart(2, "0");

/** `2026-11-03 09:15` in local time: sortable, short, unambiguous. */
export function shortDate(d: Date): string {
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

const FROM_WIDTH = 24;
const SIZE_WIDTH = 8;
const DATE_WIDTH = 16;

/** The id column width for ENTRIES. */
export function idWidth(entries: readonly ListEntry[]): number {
  return Math.max(1, ...entries.map((e) => String(e.id).length));
}

/**
 * One line: unread marker (`N`, as mail(1) and mutt show new mail), id, date, sender, subject,
 * size. With a width, the subject gets what is left and the line never exceeds it.
 */
export function formatListRow(entry: ListEntry, layout: ListLayout): string {
  const d = decodeEntry(entry);
  const mark = entry.seen ? " " : "N";
  const id = String(entry.id).padStart(layout.idWidth);
  const size = humanSize(entry.size).padStart(SIZE_WIDTH);
  const head = `${mark} ${id}  ${shortDate(d.date).padEnd(DATE_WIDTH)}  ${
    fit(d.fromShort, FROM_WIDTH)
  }  `;
  const subject = d.subject || "(no subject)";
  if (layout.width === undefined) return `${head}${subject}  ${size}`;
  const room = layout.width - textWidth(head) - 2 - SIZE_WIDTH;
  if (room < 8) return truncate(`${head}${subject}`, layout.width);
  return `${head}${fit(subject, room)}  ${size}`;
}
