/**
 * The mail store: messages, mailboxes and users, kept in one SQLite database.
 *
 * The write side is shaped like the SMTP transaction: a delivery names the sender and the local
 * recipients and hands over the body; it becomes visible, in every mailbox at once, only when
 * its single database transaction commits, and the caller replies 250 only after that.
 *
 * @module
 */

export { openStore, StoreError } from "./sqlite_store.ts";
export type { Store, StoreOptions } from "./sqlite_store.ts";
export { hashPassword, verifyPassword } from "./password.ts";

/** A message ready to be committed: envelope and exact bytes. */
export interface NewMessage {
  /** Queue id shown to the client in `250 2.0.0 queued as ID` and in Received. */
  readonly id: string;
  /** Envelope sender (MAIL FROM), `""` for the null reverse-path. */
  readonly sender: string;
  /** Local mailbox addresses (already normalised), at least one; duplicates are ignored. */
  readonly recipients: readonly string[];
  /** Message bytes as stored, in order; their concatenation is the message. */
  readonly chunks: readonly Uint8Array[];
  /** Total size in octets (sum of the chunk lengths). */
  readonly size: number;
  /** Summary header values, raw (unfolded but not RFC 2047-decoded), for fast listing. */
  readonly summary: MessageSummaryHeaders;
  /** Milliseconds since the epoch. */
  readonly receivedAt: number;
  /** Mailboxes that do not exist yet are created (catch-all); otherwise they must exist. */
  readonly createMailboxes: boolean;
}

/** Header values extracted once at delivery so that listing never parses messages. */
export interface MessageSummaryHeaders {
  readonly from: string;
  readonly subject: string;
  readonly date: string;
  readonly messageId: string;
}

/** One entry of a mailbox listing. */
export interface MailboxEntry {
  /** The entry id within the store (what `mail inbox ADDRESS ID` takes). */
  readonly id: number;
  /** Queue id of the message. */
  readonly messageId: string;
  readonly sender: string;
  readonly from: string;
  readonly subject: string;
  readonly date: string;
  readonly size: number;
  readonly seen: boolean;
  readonly receivedAt: number;
}

/** A user account as listed (never with its hash). */
export interface UserInfo {
  readonly address: string;
  readonly createdAt: number;
}
