/**
 * mbox in its mboxrd variant (https://www.loc.gov/preservation/digital/formats/fdd/fdd000385.shtml,
 * and RFC 4155 for the family): each message is a `From SENDER DATE` line, the message with
 * every line matching `>*From ` given one more `>`, and one empty line. Reading removes exactly
 * what writing added, so a message comes back byte for byte: its line endings (CRLF as received
 * over SMTP) are kept, and a line that was `>From ` stays distinct from one that was `From `.
 *
 * Python's `mailbox.mbox`, mutt, Thunderbird and Dovecot read this layout; none of them needs
 * a Content-Length header, and none is added (it would change the message).
 *
 * @module
 */
import { concatBytes } from "../bytes.ts";

const LF = 0x0a;
const GT = 0x3e;
const FROM_ = new TextEncoder().encode("From ");

/** The sender a From_ line shows for the null reverse-path `<>` (as Postfix and Python do). */
export const NULL_SENDER = "MAILER-DAEMON";

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** C's asctime() in UTC, e.g. `Tue Nov  3 10:01:00 2026`: the date format of a From_ line. */
export function asctime(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${
    String(d.getUTCDate()).padStart(2, " ")
  } ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${
    two(d.getUTCSeconds())
  } ${d.getUTCFullYear()}`;
}

/** The From_ line, with its LF, for envelope SENDER (`""`: null) received at MS. */
export function fromLine(sender: string, ms: number): Uint8Array {
  // A From_ line is one line of words: no control characters, no empty sender.
  const s = sender === "" ? NULL_SENDER : sender.replace(/[\x00-\x20\x7f]/g, "_");
  return new TextEncoder().encode(`From ${s} ${asctime(ms)}\n`);
}

/** Whether LINE (from START) is `>*From `. */
function isFromLine(bytes: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end && bytes[i] === GT) i++;
  if (end - i < FROM_.length) return false;
  for (let k = 0; k < FROM_.length; k++) if (bytes[i + k] !== FROM_[k]) return false;
  return true;
}

/**
 * One message as mboxrd: From_ line, quoted message, separating empty line. The parts are
 * returned in order; their concatenation is the entry.
 */
export function mboxEntry(
  message: { sender: string; receivedAt: number; bytes: Uint8Array },
): Uint8Array[] {
  const { bytes } = message;
  const parts: Uint8Array[] = [fromLine(message.sender, message.receivedAt)];
  let start = 0;
  let copied = 0;
  while (start < bytes.length) {
    const nl = bytes.indexOf(LF, start);
    const end = nl < 0 ? bytes.length : nl + 1;
    if (isFromLine(bytes, start, end)) {
      parts.push(bytes.subarray(copied, start), Uint8Array.of(GT));
      copied = start;
    }
    start = end;
  }
  parts.push(bytes.subarray(copied));
  // Exactly one LF, always: after a message ending in a newline it is the empty line that
  // separates entries; after one that does not, it ends its last line. Reading drops it.
  parts.push(Uint8Array.of(LF));
  return parts.filter((p) => p.length > 0);
}

/** One message read back from an mbox. */
export interface MboxMessage {
  /** Envelope sender from the From_ line, `""` for MAILER-DAEMON. */
  readonly sender: string;
  /** The From_ line's date, milliseconds since the epoch; undefined if it does not parse. */
  readonly receivedAt: number | undefined;
  /** The message, unquoted. */
  readonly bytes: Uint8Array;
}

/** A file that is not an mbox (it does not start with a From_ line). */
export class MboxFormatError extends Error {
  override name = "MboxFormatError";
}

const ASCTIME_TAIL =
  /\s((?:Sun|Mon|Tue|Wed|Thu|Fri|Sat) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +(\d{1,2}) (\d\d):(\d\d):(\d\d)(?: [+-]\d{4}| [A-Z]{3,4})? (\d{4}))(?:\s.*)?$/;

/** Parses a From_ line (without `From ` and its line ending) into sender and date. */
export function parseFromLine(rest: string): { sender: string; receivedAt: number | undefined } {
  const m = ASCTIME_TAIL.exec(rest);
  let sender: string;
  let receivedAt: number | undefined;
  if (m) {
    sender = rest.slice(0, m.index).trim();
    receivedAt = Date.UTC(
      Number(m[7]),
      MONTHS.indexOf(m[2]!),
      Number(m[3]),
      Number(m[4]),
      Number(m[5]),
      Number(m[6]),
    );
  } else {
    const space = rest.indexOf(" ");
    sender = space < 0 ? rest : rest.slice(0, space);
    const parsed = space < 0 ? NaN : Date.parse(rest.slice(space + 1));
    receivedAt = Number.isNaN(parsed) ? undefined : parsed;
  }
  if (sender === NULL_SENDER || sender === "<>") sender = "";
  return { sender, receivedAt };
}

/**
 * Reads messages from an mboxrd stream, one at a time (a large mbox is never held whole).
 * Lines are split on LF only, as mbox readers do; the LF before a From_ line belongs to the
 * separator, and one `>` is removed from every `>+From ` line.
 */
export async function* readMbox(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<MboxMessage> {
  const decoder = new TextDecoder("utf-8", { fatal: false });
  let header: { sender: string; receivedAt: number | undefined } | undefined;
  let lines: Uint8Array[] = [];
  let first = true;

  function* finish(): Generator<MboxMessage> {
    if (header === undefined) return;
    // Drop the separator: the LF that ends the message's last (or empty) line.
    const last = lines[lines.length - 1];
    if (last !== undefined && last.length > 0 && last[last.length - 1] === LF) {
      lines[lines.length - 1] = last.subarray(0, last.length - 1);
    }
    yield { ...header, bytes: concatBytes(lines) };
    lines = [];
  }

  function* line(bytes: Uint8Array): Generator<MboxMessage> {
    if (bytes.length >= FROM_.length && FROM_.every((b, i) => bytes[i] === b)) {
      yield* finish();
      let end = bytes.length;
      if (bytes[end - 1] === LF) end--;
      if (bytes[end - 1] === 0x0d) end--;
      header = parseFromLine(decoder.decode(bytes.subarray(FROM_.length, end)));
      first = false;
      return;
    }
    if (first) {
      // Leading empty lines are tolerated; anything else means this is not an mbox.
      if (bytes.every((b) => b === LF || b === 0x0d)) return;
      throw new MboxFormatError("not an mbox file: it does not begin with a 'From ' line");
    }
    if (bytes[0] === GT && isFromLine(bytes, 0, bytes.length)) bytes = bytes.subarray(1);
    lines.push(bytes);
  }

  let pending: Uint8Array[] = [];
  let pendingSize = 0;
  for await (const chunk of stream) {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(LF, start);
      if (nl < 0) break;
      let piece = chunk.subarray(start, nl + 1);
      if (pending.length > 0) {
        piece = concatBytes([...pending, piece]);
        pending = [];
        pendingSize = 0;
      } else {
        piece = piece.slice(); // the stream may reuse its buffer
      }
      yield* line(piece);
      start = nl + 1;
    }
    if (start < chunk.length) {
      pending.push(chunk.slice(start));
      pendingSize += chunk.length - start;
    }
  }
  if (pendingSize > 0) yield* line(concatBytes(pending));
  yield* finish();
}
