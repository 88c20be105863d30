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
  /**
   * Local mailbox addresses (already normalised); duplicates are ignored. Together with
   * `relay`, at least one recipient.
   */
  readonly recipients: readonly string[];
  /**
   * Remote recipients (already normalised): each gets an outbound queue row, due at once, in
   * the same transaction that stores the message (so the 250 covers them too).
   */
  readonly relay?: readonly string[] | undefined;
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

/** One remote recipient of a queued message, waiting for a final result. */
export interface QueueEntry {
  /** The queue row id (what `mail queue retry|delete ID` takes). */
  readonly id: number;
  /** The store's id of the message (shared by every row of the message). */
  readonly messageRowId: number;
  /** Queue id of the message, as in `250 2.0.0 OK: queued as ID`. */
  readonly messageId: string;
  /** Envelope sender, `""` for the null reverse-path. */
  readonly sender: string;
  readonly recipient: string;
  /** The recipient's domain, lower-case. */
  readonly domain: string;
  /** Attempts that ended in a temporary failure so far. */
  readonly attempts: number;
  /** Milliseconds since the epoch. */
  readonly nextAttempt: number;
  /** The reply (or failure) of the last attempt, for people. */
  readonly lastReply: string | undefined;
  /** When the row was queued (milliseconds since the epoch). */
  readonly createdAt: number;
  /** Whether a delay warning was sent. */
  readonly warned: boolean;
  /** When the message arrived (milliseconds since the epoch). */
  readonly receivedAt: number;
}

/**
 * The outcome of one delivery attempt, committed in one transaction: rows with a final result
 * are removed (and their message once nothing refers to it), the others rescheduled, and any
 * notices (bounces, delay warnings) stored like received mail.
 */
export interface QueueSettlement {
  /** Rows with a final result (delivered, bounced, expired). */
  readonly finished?: readonly number[];
  /** Rows to try again. */
  readonly deferred?: readonly {
    readonly id: number;
    readonly nextAttempt: number;
    readonly lastReply: string;
  }[];
  /** Rows whose sender was just sent a delay warning. */
  readonly warned?: readonly number[];
  /** Messages to store in the same transaction: DSNs to local or remote recipients. */
  readonly notices?: readonly NewMessage[];
}
