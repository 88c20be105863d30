/**
 * The values the mime folder produces and takes, kept in a leaf so that light modules (the
 * summary taken at delivery, the CLI's option handling) can name them without loading the
 * reader's libraries.
 *
 * @module
 */

/** Header values taken once at delivery so that listing a mailbox never parses a message. */
export interface MessageSummary {
  /** Raw values: unfolded and trimmed, not RFC 2047-decoded; `""` when the field is absent. */
  readonly from: string;
  readonly subject: string;
  readonly date: string;
  readonly messageId: string;
}

/** What a listing row shows of a stored message (the store's listing entry has these fields). */
export interface ListEntry {
  /** The id `mail inbox ADDRESS ID` takes. */
  readonly id: number;
  /** Raw summary values, as stored at delivery. */
  readonly from: string;
  readonly subject: string;
  readonly date: string;
  readonly size: number;
  readonly seen: boolean;
  /** Milliseconds since the epoch. */
  readonly receivedAt: number;
}

/** An entry's fields decoded for people (and for `--json`). */
export interface DecodedEntry {
  /** The whole From value, decoded: `Jürgen Müller <juergen@example.test>`. */
  readonly from: string;
  /** What the list column shows: the display name, else the address. */
  readonly fromShort: string;
  readonly subject: string;
  /** The message's date: the Date header when it parses (RFC 5322 §3.3), else received time. */
  readonly date: Date;
}

/** Layout of one listing. */
export interface ListLayout {
  /** Total columns available; no limit when absent (output that is not a terminal). */
  readonly width?: number;
  /** Width of the id column (the longest id on the page). */
  readonly idWidth: number;
}

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

/** How to lay a message out for a terminal. */
export interface TerminalOptions {
  /** Use ANSI styles (the caller decides: a TTY, and NO_COLOR unset). */
  readonly color: boolean;
  /** Columns to wrap header values to; unlimited when absent. */
  readonly width?: number;
}
