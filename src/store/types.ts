/**
 * The store's interface: the records it takes and returns, and the roles its consumers see
 * ({@link Store} is all of them). Types only, so that both the face (./mod.ts) and the SQLite
 * implementation import it without a cycle.
 *
 * @module
 */
import type { BodyRow, DerivedData, EnvelopeRow } from "./derived.ts";
import type { IndexAnswer, TextWhere } from "./fts.ts";

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
  /**
   * The folder the local copies go to (Junk for DMARC quarantine); INBOX when absent or when a
   * mailbox has no folder of that name.
   */
  readonly folder?: string | undefined;
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

// --- The roles: each consumer takes the one it needs (or a Pick of it) ---

/** The write side of an SMTP transaction: what the server's backend and `mail import` use. */
export interface MailDelivery {
  /**
   * Stores the message once and adds one mailbox entry per distinct recipient, in a single
   * transaction that is durable when this returns. Throws StoreError("no-mailbox") naming the
   * first recipient whose mailbox does not exist when `createMailboxes` is false; then nothing
   * is stored.
   */
  deliver(message: NewMessage): void;
  /**
   * Stores several messages in one transaction (group commit): durable together when this
   * returns. Returns per message undefined, or the error that message alone failed with (its
   * changes undone, the others kept). Throws when the transaction as a whole fails.
   */
  deliverMany(messages: readonly NewMessage[]): (Error | undefined)[];
  /**
   * As {@link deliverMany}, but the wait for the disk happens off the main thread: the
   * transaction commits without SQLite's own sync of the write-ahead log, and the promise
   * resolves once the log file has been synced (fdatasync) on a worker thread of the runtime.
   * Until it resolves, the commit may still be lost to a power cut: reply only after it.
   */
  deliverManyAsync(messages: readonly NewMessage[]): Promise<(Error | undefined)[]>;
}

/**
 * Reading and changing mailboxes: what `mail inbox` and `mail export` use. A mailbox is named by
 * its address; an entry is one message in one mailbox, named by its id. Mailbox access for IMAP
 * (folders, UIDs, flags) grows this role; delivery and the queue need not change for it.
 */
/** A page of a mailbox listing, newest first. */
export interface ListPage {
  /** Entries to skip. */
  readonly offset?: number;
  /** Entries at most (default 50). */
  readonly limit?: number;
  /** Only entries older than the one with this id (a keyset page: no skipping). */
  readonly before?: number;
}

export interface MailboxAccess {
  /** The same access to folder NAME of each mailbox instead of INBOX (`mail inbox --folder`). */
  inFolder(name: string): MailboxAccess;
  /** Whether ADDRESS has a mailbox (a user's, or one created by catch-all delivery). */
  mailboxExists(address: string): boolean;
  /** All mailbox addresses, sorted. */
  mailboxes(): string[];
  /** Entries newest first; `offset`/`limit` paginate (limit default 50). Uses an index, never parses. */
  list(address: string, page?: ListPage): MailboxEntry[];
  /** Number of entries and unseen entries in the mailbox. */
  count(address: string): { total: number; unseen: number };
  /** One entry of that mailbox, or undefined. */
  entry(address: string, id: number): MailboxEntry | undefined;
  /** The exact stored bytes of that entry's message, or undefined. */
  read(address: string, id: number): Uint8Array | undefined;
  /** Sets the seen flag; false when there is no such entry. */
  setSeen(address: string, id: number, seen: boolean): boolean;
  /** Removes the entry, and the message once no entry refers to it; false when not found. */
  remove(address: string, id: number): boolean;
}

/** The outbound queue, one row per remote recipient (see QueueEntry): the runner and `mail queue`. */
export interface OutboundQueue {
  /** Rows due at NOW (milliseconds), oldest first, at most LIMIT. Uses the queue_due index. */
  queueDue(now: number, limit: number): QueueEntry[];
  /** Every row, the next due first. */
  queueList(): QueueEntry[];
  /** One row, or undefined. */
  queueEntry(id: number): QueueEntry | undefined;
  /** The earliest next attempt later than AFTER, or undefined when there is none. */
  queueNextDue(after: number): number | undefined;
  /** The exact stored bytes of a message by its store id, or undefined once it is gone. */
  messageBytes(messageRowId: number): Uint8Array | undefined;
  /** Commits the outcome of a delivery attempt in one short transaction (see QueueSettlement). */
  settle(settlement: QueueSettlement): void;
  /** Makes row ID, or every row when ID is undefined, due at NOW; the number of rows changed. */
  queueRetry(now: number, id?: number): number;
  /** Removes row ID without a bounce (an operator's decision); false when there is none. */
  queueDelete(id: number): boolean;
}

/** User accounts: `mail user`, and the server's recipient and AUTH checks. */
export interface UserAccounts {
  /** Whether ADDRESS is a user (created with `mail user add`). */
  userExists(address: string): boolean;
  /** Adds a user and creates their mailbox; StoreError("exists") if present. */
  addUser(address: string, passwordHash: string): void;
  /** Removes the account (login, local recipient); the mailbox and its mail stay readable. */
  removeUser(address: string): boolean;
  /** Replaces the password hash; false when there is no such user. */
  setPasswordHash(address: string, passwordHash: string): boolean;
  /** The stored hash, for verification only. */
  passwordHash(address: string): string | undefined;
  /** Every user, sorted by address. */
  listUsers(): UserInfo[];
}

/** An MTA-STS policy held for a destination domain (RFC 8461 §5), as fetched. */
export interface MtaStsPolicyRow {
  readonly domain: string;
  /** The id of the `_mta-sts` TXT record it was fetched for. */
  readonly id: string;
  /** The policy file's fields (re-parsed when read). */
  readonly policy: string;
  readonly fetchedAt: number;
  /** When its max_age runs out (milliseconds). */
  readonly expiresAt: number;
}

/** The MTA-STS policies held, one per domain. */
export interface MtaStsPolicies {
  get(domain: string): MtaStsPolicyRow | undefined;
  /** Keeps P, replacing the domain's previous policy. */
  put(p: MtaStsPolicyRow): void;
}

/** An open store: every role, over one database connection. */
export interface Store extends MailDelivery, MailboxAccess, OutboundQueue, UserAccounts {
  /** The folders of the mailboxes as IMAP and POP3 see them. */
  readonly folders: MailFolders;
  /** The MTA-STS policies held for the domains we relay to (the queue's). */
  readonly mtaSts: MtaStsPolicies;
  /** Path of the database file. */
  readonly path: string;
  /** Closes the connection; the store is unusable afterwards. */
  close(): void;
}

// --- Folders (IMAP) ---

/** One folder row. */
export interface FolderRow {
  readonly id: number;
  readonly name: string;
  readonly uidValidity: number;
  readonly uidNext: number;
  readonly highestModseq: number;
  readonly subscribed: boolean;
  readonly specialUse: string | null;
}

/** One entry as the IMAP view lists it. */
export interface FolderEntry {
  readonly entryId: number;
  readonly messageId: number;
  readonly uid: number;
  /** All flags: \Seen (from the seen column) first, then the rest as stored. */
  readonly flags: string[];
  readonly modseq: number;
  readonly receivedAt: number;
  readonly size: number;
}

/** A folder's state and counts (STATUS). */
export interface FolderStatusRow extends FolderRow {
  readonly messages: number;
  readonly unseen: number;
  readonly deleted: number;
  readonly size: number;
}

/** What changed in a folder after a mod-sequence. */
export interface FolderChangeRows {
  readonly folder: FolderRow;
  readonly changed: FolderEntry[];
  readonly expunged: number[];
}

/** A message the text index lacks: its UID in the folder asked about, its bytes and structure. */
export interface UnindexedMessage {
  readonly uid: number;
  readonly messageId: number;
  readonly bytes: Uint8Array;
  /** Its kept MIME structure (JSON), if one was kept. */
  readonly structure: string | undefined;
}

/** The MailFolders role: everything IMAP asks of the store. */
export interface MailFolders {
  /** Makes the default folders of ADDRESS's mailbox that are missing (creating the mailbox). */
  ensureFolders(address: string): void;
  folderList(address: string): FolderRow[];
  /** Throws StoreError "exists". */
  createFolder(address: string, name: string, specialUse: string | null): void;
  /** Expunges its messages with it. Throws "not-found". */
  deleteFolder(address: string, name: string): void;
  /** Children move along; INBOX's messages move to a new folder and INBOX stays. */
  renameFolder(address: string, from: string, to: string): void;
  /** A name need not be a folder's; RENAME and DELETE leave subscriptions as they are. */
  subscribeFolder(address: string, name: string, subscribed: boolean): void;
  /** Every name subscribed, folder or not, in order. */
  subscriptions(address: string): string[];
  /** Throws "not-found". */
  folderStatus(address: string, name: string): FolderStatusRow;
  /** Throws "not-found". */
  openFolder(
    address: string,
    name: string,
  ): { folder: FolderRow; entries: FolderEntry[]; keywords: string[] };
  /** Stores MESSAGE in folder NAME with FLAGS; durable when it returns. Throws "not-found". */
  appendMessage(
    address: string,
    name: string,
    message: Omit<NewMessage, "recipients" | "relay" | "createMailboxes">,
    flags: readonly string[],
  ): { uidValidity: number; uid: number };
  folderChanges(folderId: number, modseq: number): FolderChangeRows;
  /** The message with UID: its bytes, its kept structure (JSON) and its id. */
  folderContent(
    folderId: number,
    uid: number,
  ): { bytes: Uint8Array; structure: string | undefined; messageId: number } | undefined;
  /**
   * The message with UID: its id, size and kept structure (JSON), and its bytes only when it
   * holds at most WHOLEUPTO octets (larger ones are read with {@link messageRange}).
   */
  folderMessage(folderId: number, uid: number, wholeUpTo: number):
    | {
      messageId: number;
      size: number;
      structure: string | undefined;
      bytes: Uint8Array | undefined;
    }
    | undefined;
  /** Octets START to END of message MESSAGEID alone (clamped); undefined when it is gone. */
  messageRange(messageId: number, start: number, end: number): Uint8Array | undefined;
  /**
   * The message with UID (its id) and its header when kept (./derived.ts): null when it is not
   * kept yet. Undefined when there is no such message.
   */
  folderHeader(
    folderId: number,
    uid: number,
  ): { messageId: number; header: Uint8Array | null } | undefined;
  /** {@link folderHeader} of up to LIMIT messages from UID on, in UID order (with their UID). */
  folderHeaders(
    folderId: number,
    uid: number,
    limit: number,
  ): { uid: number; messageId: number; header: Uint8Array | null }[];
  /**
   * Up to LIMIT messages from UID on, in UID order, each with its kept ENVELOPE when one made
   * by VERSION is kept (rows, see EnvelopeRow).
   */
  folderEnvelopes(folderId: number, uid: number, limit: number, version: number): EnvelopeRow[];
  /**
   * The messages with UIDs FROM to TO of at most MAXSIZE octets, with their bytes, in UID order
   * (rows, see BodyRow); larger ones, and those kept in pieces, are left out.
   */
  folderBodies(folderId: number, from: number, to: number, maxSize: number): BodyRow[];
  /** Keeps what was derived from messages (structures, headers, text), in one transaction. */
  saveDerived(derived: DerivedData): void;
  setFolderFlags(
    folderId: number,
    uids: readonly number[],
    mode: "replace" | "add" | "remove",
    flags: readonly string[],
    unchangedSince?: number,
  ): { updated: FolderEntry[]; modified: number[] };
  /** Copies (or moves) messages to folder TARGET of ADDRESS. Throws "not-found" for TARGET. */
  copyMessages(
    folderId: number,
    uids: readonly number[],
    address: string,
    target: string,
    move: boolean,
  ): { uidValidity: number; source: number[]; target: number[] };
  /**
   * A POP3 session's end (RFC 1939 §6), in one transaction: \Seen on SEEN, and EXPUNGE removed
   * whatever their flags (those already gone are no error).
   */
  applyDownload(folderId: number, seen: readonly number[], expunge: readonly number[]): void;
  /** Expunges those of UIDS that have \Deleted; returns them. */
  expungeMessages(folderId: number, uids: readonly number[]): number[];
  /** The highest mod-sequence of each folder (those that exist). */
  folderModseqs(ids: readonly number[]): Map<number, number>;
  /**
   * Up to LIMIT messages of folder FOLDERID after UID AFTER that the text index (./fts.ts)
   * lacks, in UID order, stopping once MAXBYTES are read (never before the first).
   */
  unindexedMessages(
    folderId: number,
    after: number,
    limit: number,
    maxBytes: number,
  ): UnindexedMessage[];
  /**
   * UIDs of folder FOLDERID whose indexed message holds TERM (case-insensitively) in WHERE, or
   * may hold it (see fts.ts's IndexAnswer); undefined when the index cannot answer TERM (see
   * fts.ts's indexable): then scan.
   */
  searchIndexedText(folderId: number, where: TextWhere, term: string): IndexAnswer | undefined;
}
