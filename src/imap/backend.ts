/**
 * What the IMAP session needs from the mail store: the contract between the pure protocol
 * module (src/imap/) and the store that keeps folders, UIDs, flags and mod-sequences. The server
 * wires the SQLite store to it; tests use an in-memory one.
 *
 * The model (RFC 9051 §2.3): each folder has a UIDVALIDITY, a UIDNEXT and strictly ascending
 * UIDs never reused; every change to a folder (a message added, flags changed, a message
 * expunged) takes the next mod-sequence of that folder (RFC 7162), and the folder remembers
 * which UIDs were expunged at which mod-sequence. A session learns what changed since it last
 * looked by asking for the changes after the highest mod-sequence it has seen: that one
 * mechanism serves CONDSTORE, QRESYNC and telling every session about every other session's
 * (and other processes') changes.
 *
 * Methods may return a value or a promise of it; the session handles both. Errors the client
 * should see are thrown as {@link ImapBackendError} with a response code; anything else thrown
 * becomes `NO [SERVERBUG]` for that command, logged by the server.
 *
 * @module
 */

import type { MessageContent } from "./fetch_data.ts";

/** The flags of RFC 9051 §2.3.2 that the server keeps for every message. */
export const SYSTEM_FLAGS = ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"] as const;
export type SystemFlag = typeof SYSTEM_FLAGS[number];

/** The special uses of RFC 6154 that folders are created with. */
export type SpecialUse =
  | "\\Sent"
  | "\\Drafts"
  | "\\Trash"
  | "\\Junk"
  | "\\Archive"
  | "\\All"
  | "\\Flagged";

/** The folders every account has, with their special use (created with the account). */
export const DEFAULT_FOLDERS: readonly (readonly [string, SpecialUse | undefined])[] = [
  ["INBOX", undefined],
  ["Sent", "\\Sent"],
  ["Drafts", "\\Drafts"],
  ["Trash", "\\Trash"],
  ["Junk", "\\Junk"],
  ["Archive", "\\Archive"],
];

/** The hierarchy delimiter of folder names. */
export const DELIMITER = "/";

/** Who is logged in: the account's address (the login name, lower-case). */
export interface Account {
  readonly address: string;
}

/** A folder as LIST shows it. */
export interface FolderInfo {
  /** The full name, with {@link DELIMITER} between levels; `INBOX` for the inbox. */
  readonly name: string;
  readonly specialUse?: SpecialUse;
  readonly subscribed: boolean;
}

/** STATUS of a folder (RFC 9051 §6.3.11, RFC 7162 HIGHESTMODSEQ). */
export interface FolderStatus {
  readonly uidValidity: number;
  readonly uidNext: number;
  readonly messages: number;
  readonly unseen: number;
  readonly deleted: number;
  /** Octets of all its messages (RFC 9051 STATUS SIZE). */
  readonly size: number;
  readonly highestModseq: number;
}

/** One message as a selected folder lists it. */
export interface MessageMeta {
  readonly uid: number;
  /** System flags and keywords, as stored. */
  readonly flags: readonly string[];
  readonly modseq: number;
  /** When the message arrived (INTERNALDATE). */
  readonly internalDate: Date;
  /** RFC822.SIZE: the stored message's length in octets. */
  readonly size: number;
}

/** What changed in a folder after a mod-sequence. */
export interface FolderChanges {
  readonly highestModseq: number;
  readonly uidNext: number;
  /** Messages added or whose flags changed after the mod-sequence, by ascending UID. */
  readonly changed: readonly MessageMeta[];
  /** UIDs expunged after the mod-sequence, ascending. */
  readonly expunged: readonly number[];
}

/** A folder opened by SELECT or EXAMINE: its state and every message in it, by ascending UID. */
export interface OpenedFolder extends FolderStatus {
  /** The store's handle of the folder, passed back to the calls about it. */
  readonly id: number;
  readonly messages: number;
  readonly list: readonly MessageMeta[];
  /** Keywords in use in the folder (for FLAGS and PERMANENTFLAGS). */
  readonly keywords: readonly string[];
}

/** The outcome of a STORE on some messages. */
export interface StoreResult {
  /** The messages whose flags are now as listed (changed, or matched), with their new modseq. */
  readonly updated: readonly MessageMeta[];
  /** UIDs not changed because they changed after UNCHANGEDSINCE (RFC 7162 §3.1.3). */
  readonly modified: readonly number[];
}

/** COPYUID/APPENDUID data (RFC 4315): the target's UIDVALIDITY and the UIDs in order. */
export interface CopyResult {
  readonly uidValidity: number;
  readonly sourceUids: readonly number[];
  readonly targetUids: readonly number[];
}

/** A refusal the client is told about, with its response code (RFC 9051 §7.1, RFC 5530). */
export class ImapBackendError extends Error {
  override readonly name = "ImapBackendError";
  constructor(
    /** e.g. NONEXISTENT, ALREADYEXISTS, TRYCREATE, CANNOT, TOOBIG, OVERQUOTA, INUSE, LIMIT. */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Maybe<T> = T | Promise<T>;

/** How flags change (STORE FLAGS, +FLAGS, -FLAGS). */
export type FlagMode = "replace" | "add" | "remove";

/** The store's side of an IMAP session. */
export interface ImapBackend {
  /** Checks a login; undefined when refused. The one place passwords are verified. */
  authenticate(user: string, password: string, client: string): Maybe<Account | undefined>;

  /** Every folder of the account. */
  folders(account: Account): Maybe<readonly FolderInfo[]>;
  /** Throws ALREADYEXISTS, CANNOT (a bad name). */
  createFolder(account: Account, name: string, specialUse?: SpecialUse): Maybe<void>;
  /** Throws NONEXISTENT; CANNOT for INBOX. Its messages are expunged with it. */
  deleteFolder(account: Account, name: string): Maybe<void>;
  /**
   * Throws NONEXISTENT, ALREADYEXISTS. Renaming INBOX moves its messages to the new folder and
   * leaves INBOX empty (RFC 9051 §6.3.6). Child folders move along.
   */
  renameFolder(account: Account, from: string, to: string): Maybe<void>;
  /**
   * SUBSCRIBE/UNSUBSCRIBE; a name need not exist (RFC 9051 §6.3.7). Subscriptions are by name:
   * DELETE and RENAME leave them as they are (as Dovecot does).
   */
  subscribe(account: Account, name: string, subscribed: boolean): Maybe<void>;
  /** Every name subscribed, whether a folder has it or not (LSUB, LIST (SUBSCRIBED)). */
  subscriptions(account: Account): Maybe<readonly string[]>;
  /** Throws NONEXISTENT. */
  status(account: Account, name: string): Maybe<FolderStatus>;
  /** Throws NONEXISTENT. */
  open(account: Account, name: string): Maybe<OpenedFolder>;

  /**
   * Stores a message in a folder (APPEND), durably before it returns, with its flags and
   * internal date. Throws TRYCREATE when the folder does not exist. Returns its UID.
   */
  append(
    account: Account,
    name: string,
    message: Uint8Array,
    flags: readonly string[],
    internalDate: Date,
  ): Maybe<{ readonly uidValidity: number; readonly uid: number }>;

  /** What changed in folder ID after MODSEQ. */
  changes(account: Account, id: number, modseq: number): Maybe<FolderChanges>;
  /**
   * The message with UID in folder ID: its stored bytes and its structure (parse it with
   * parseStructure once and keep it; it is plain JSON-safe data); undefined when it is gone.
   * HEADER_ONLY: the caller needs no more than the header (ENVELOPE, header sections), so
   * `bytes` may end where the header does.
   */
  content(
    account: Account,
    id: number,
    uid: number,
    headerOnly: boolean,
  ): Maybe<MessageContent | undefined>;
  /**
   * Optional: the ENVELOPE of the message with UID in folder ID (whose UIDVALIDITY is given),
   * as `encodeEnvelope` (envelope.ts) encodes it for a connection with or without UTF8, for a
   * backend that keeps it; undefined when the message is gone. Without it, ENVELOPE is built
   * from the header.
   */
  envelope?(
    account: Account,
    id: number,
    uidValidity: number,
    uid: number,
    utf8: boolean,
  ): Maybe<Uint8Array | undefined>;
  /**
   * Changes the flags of the messages with UIDS (those that still exist); with UNCHANGEDSINCE,
   * only those whose modseq is not above it (RFC 7162 §3.1.3).
   */
  store(
    account: Account,
    id: number,
    uids: readonly number[],
    mode: FlagMode,
    flags: readonly string[],
    unchangedSince?: number,
  ): Maybe<StoreResult>;
  /** Copies messages to folder TARGET (COPY); throws TRYCREATE when it does not exist. */
  copy(account: Account, id: number, uids: readonly number[], target: string): Maybe<CopyResult>;
  /** Moves messages (MOVE, RFC 6851): copy and expunge in one transaction. */
  move(account: Account, id: number, uids: readonly number[], target: string): Maybe<CopyResult>;
  /** Expunges the messages with UIDS that have \Deleted; returns the UIDs expunged. */
  expunge(account: Account, id: number, uids: readonly number[]): Maybe<readonly number[]>;
  /**
   * UIDs (of those given) whose text contains every one of TERMS, case-insensitively (SEARCH
   * BODY and TEXT; RFC 9051 §6.4.4). `where` says whether the header counts too.
   */
  searchText(
    account: Account,
    id: number,
    uids: readonly number[],
    terms: readonly { readonly where: "body" | "text"; readonly value: string }[],
  ): Maybe<readonly number[]>;

  /**
   * Calls LISTENER whenever folder ID of the account may have changed (a delivery, another
   * session, another process); returns the function that stops it. IDLE and the end of each
   * command then ask {@link changes}.
   */
  watch(account: Account, id: number, listener: () => void): () => void;
}
