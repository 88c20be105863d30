/**
 * What the POP3 session needs from the mail store: the contract between the pure protocol
 * module (src/pop3/) and the store that keeps the INBOX IMAP serves. The server wires the
 * SQLite store to it; tests use an in-memory one (tests/_helpers/memory_pop3.ts).
 *
 * The model (RFC 1939 §3, §8):
 * - The maildrop is the account's INBOX as it was when the session opened it: messages in
 *   ascending IMAP UID order, numbered from 1. The numbers never move during the session,
 *   whatever IMAP sessions, deliveries or `mail inbox` do meanwhile; a message delivered after
 *   the open is for the next session.
 * - A message's size is its stored length in octets, exactly what RETR sends before
 *   dot-stuffing (see message_data.ts).
 * - A message's unique-id (UIDL, RFC 1939 §7) is `<uidvalidity>.<uid>` from its IMAP folder
 *   ({@link uniqueId}): stable across sessions, restarts and IMAP activity, never reused for
 *   another message (IMAP UIDs are not, RFC 9051 §2.3.1.1), and 1-70 characters of 0x21-0x7E.
 * - One POP3 session per mailbox: {@link Pop3Backend.open} takes a lock, and a second session's
 *   open throws a {@link Pop3BackendError} with code `IN-USE` until {@link Maildrop.close}.
 *   IMAP is not locked out: a message it expunges meanwhile is answered as gone.
 * - Nothing changes in the store until the session ends: the messages the client retrieved are
 *   marked `\Seen`, and at QUIT the ones it deleted are expunged, all in one
 *   {@link Maildrop.update}. A connection that ends without QUIT deletes nothing (RFC 1939 §6).
 *
 * Methods may return a value or a promise of it; the session handles both. Errors the client
 * should see are thrown as {@link Pop3BackendError}; anything else thrown ends the connection,
 * logged by the server.
 *
 * @module
 */
import type { ResponseCode } from "./response.ts";

/** Who is logged in: the account's address (canonical, lower-case). */
export interface Account {
  readonly address: string;
}

/** How a login ended; the session turns each into its reply. */
export type LoginResult =
  | { readonly kind: "ok"; readonly account: Account }
  /** Wrong name or password: `-ERR [AUTH]`, after whatever delay the backend imposed. */
  | { readonly kind: "refused" }
  /** The client's address is locked out after too many failures: `-ERR [SYS/TEMP]`, closed. */
  | { readonly kind: "locked" }
  /** Too many password checks waiting; not counted as a failure: `-ERR [SYS/TEMP]`. */
  | { readonly kind: "busy" };

/** One message of the maildrop. */
export interface MaildropMessage {
  /** The unique-id UIDL shows ({@link uniqueId}). */
  readonly uid: string;
  /** Octets: the stored length. */
  readonly size: number;
  /** The store's handle of the message, passed back to it (the IMAP UID in INBOX). */
  readonly handle: number;
}

/** What happens to the maildrop when the session ends. */
export interface MaildropUpdate {
  /** Messages retrieved with RETR (and not deleted): they get `\Seen`. */
  readonly seen: readonly MaildropMessage[];
  /** Messages deleted with DELE before QUIT: expunged. Empty unless the session ended by QUIT. */
  readonly expunge: readonly MaildropMessage[];
}

type Maybe<T> = T | Promise<T>;

/** An opened, locked maildrop. */
export interface Maildrop {
  /** The messages as they were at the open, in order: message n is `messages[n - 1]`. */
  readonly messages: readonly MaildropMessage[];
  /**
   * The stored bytes of MESSAGE (its whole length, {@link MaildropMessage.size} octets), or
   * undefined when it is gone (expunged by IMAP since the open).
   */
  content(message: MaildropMessage): Maybe<Uint8Array | undefined>;
  /**
   * The first octets of MESSAGE, at least those TOP sends for LINES body lines (its
   * `topLength`, RFC 1939 §7), so a large message is not read whole for its header; undefined
   * when it is gone. Without it, TOP cuts {@link content}.
   */
  top?(message: MaildropMessage, lines: number): Maybe<Uint8Array | undefined>;
  /**
   * Applies the session's changes in one transaction: `\Seen` on `seen`, and `expunge` removed
   * (those still there; one already gone is no error). The session calls it at most once,
   * before {@link close}, and only when there is something to do.
   */
  update(changes: MaildropUpdate): Maybe<void>;
  /** Releases the lock; the session calls it exactly once, whatever happened before. */
  close(): void;
}

/** The store's side of a POP3 session. */
export interface Pop3Backend {
  /** Checks a login (USER/PASS, AUTH PLAIN); counts failures toward the lockout. */
  authenticate(user: string, password: string, client: string): Maybe<LoginResult>;
  /**
   * Opens and locks the account's INBOX. Throws {@link Pop3BackendError} `IN-USE` while another
   * POP3 session holds it.
   */
  open(account: Account): Maybe<Maildrop>;
}

/** A refusal the client is told about, with its response code (RFC 2449 §8, RFC 3206). */
export class Pop3BackendError extends Error {
  override readonly name = "Pop3BackendError";
  constructor(
    readonly code: ResponseCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The unique-id of the message with IMAP UID in a folder of UIDVALIDITY: `<uidvalidity>.<uid>`,
 * at most 21 characters (two 32-bit numbers), all digits and one dot (RFC 1939 §7 UIDL).
 */
export function uniqueId(uidValidity: number, uid: number): string {
  return `${uidValidity}.${uid}`;
}
