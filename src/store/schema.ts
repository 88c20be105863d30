/**
 * The database schema as an ordered list of migrations, embedded in code so that a binary built
 * with `deno compile` carries it (nothing is read from the source tree at run time).
 *
 * `PRAGMA user_version` (https://www.sqlite.org/pragma.html#pragma_user_version) records how many
 * migrations a database has had. Migrations are append-only: never edit a shipped one, add a new
 * one at the end.
 *
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import { ENTRY_SIZE_MIGRATION, FOLDERS_MIGRATION, SUBSCRIPTIONS_MIGRATION } from "./folders.ts";
import { DERIVED_MIGRATION, ENVELOPES_MIGRATION } from "./derived.ts";
import { MTA_STS_MIGRATION } from "./mta_sts.ts";

/** Migration N (1-based) is `MIGRATIONS[N - 1]`; `user_version` = number applied. */
export const MIGRATIONS: readonly string[] = [
  // 1: users, mailboxes, messages stored once, their chunks, and per-mailbox entries.
  `
  CREATE TABLE users (
    address TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );

  -- A mailbox outlives its user (removeUser keeps the mail readable), so it is its own table.
  CREATE TABLE mailboxes (
    id INTEGER PRIMARY KEY,
    address TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
  );

  -- One row per message however many recipients it has; the bytes are in message_chunks.
  CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    queue_id TEXT NOT NULL UNIQUE,
    sender TEXT NOT NULL,
    size INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    hdr_from TEXT,
    hdr_subject TEXT,
    hdr_date TEXT,
    hdr_message_id TEXT
  );

  -- Bounded pieces rather than one blob: a 25 MiB message is written without building a second
  -- 25 MiB copy. WITHOUT ROWID keeps the rows clustered on (message_id, seq), so reading a
  -- message is one range scan (https://www.sqlite.org/withoutrowid.html).
  CREATE TABLE message_chunks (
    message_id INTEGER NOT NULL REFERENCES messages ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (message_id, seq)
  ) WITHOUT ROWID;

  CREATE TABLE entries (
    id INTEGER PRIMARY KEY,
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes,
    message_id INTEGER NOT NULL REFERENCES messages,
    seen INTEGER NOT NULL DEFAULT 0,
    received_at INTEGER NOT NULL
  );

  -- Listing newest first is a backwards scan of this index with LIMIT/OFFSET.
  CREATE INDEX entries_mailbox ON entries (mailbox_id, id);
  -- "Is this message still referenced?" must not scan all entries (remove() asks it).
  CREATE INDEX entries_message ON entries (message_id);
  -- Counting unseen mail touches only unseen entries (a partial index,
  -- https://www.sqlite.org/partialindex.html).
  CREATE INDEX entries_unseen ON entries (mailbox_id) WHERE seen = 0;
  `,
  // 2: the outbound queue: one row per remote recipient of a stored message, until that
  // recipient has a final result (delivered, bounced, expired or deleted).
  `
  CREATE TABLE queue (
    id INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES messages,
    recipient TEXT NOT NULL,
    -- The recipient's domain, lower-case: the destination the runner groups and limits by.
    domain TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    -- Milliseconds since the epoch; a row is due when this is not in the future.
    next_attempt INTEGER NOT NULL,
    last_reply TEXT,
    created_at INTEGER NOT NULL,
    -- 1 once the sender was told that delivery is delayed (RFC 3464 Action: delayed).
    warned INTEGER NOT NULL DEFAULT 0
  );

  -- The runner's poll: the due rows, oldest first, without a scan.
  CREATE INDEX queue_due ON queue (next_attempt, id);
  -- "Is this message still referenced?" also asks the queue.
  CREATE INDEX queue_message ON queue (message_id);
  `,
  // 3: a message of at most one piece (pieces.ts: 256 KiB, which is most mail) keeps its bytes
  // in its own row; NULL means they are in message_chunks, as every message of a database
  // made before this migration has them. A new row goes at the end of the messages table, a
  // rowid B-tree, where an append never rebalances its neighbours; a message_chunks row goes
  // into a WITHOUT ROWID tree (an index B-tree, which does) and holds at most ~1 KiB in its
  // leaf. Measured on a 4 KiB delivery: 8.1 pages written per commit instead of 10.4, and a
  // durable commit 11% faster.
  `
  ALTER TABLE messages ADD COLUMN body BLOB;
  `,
  // 4: folders, UIDs, flags and mod-sequences for IMAP (./folders.ts); existing mail is INBOX's.
  FOLDERS_MIGRATION,
  // 5: what IMAP derives from messages and keeps (./derived.ts): headers apart from bodies, and
  // the full-text index for SEARCH (./fts.ts); filled when first used.
  DERIVED_MIGRATION,
  // 6: the MTA-STS policies of the domains we relay to, kept across restarts (./mta_sts.ts).
  MTA_STS_MIGRATION,
  // 7: what opening a folder and fetching its envelopes read: each entry's size (./folders.ts),
  // and ENVELOPEs kept as IMAP writes them (./derived.ts).
  ENTRY_SIZE_MIGRATION + ENVELOPES_MIGRATION,
  // 8: subscriptions by name, apart from folders: a deleted or renamed folder's stays
  // (./folders.ts).
  SUBSCRIPTIONS_MIGRATION,
];

/** The schema version this program writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Reads `PRAGMA user_version`. */
export function schemaVersion(db: DatabaseSync): number {
  const row = db.prepare("PRAGMA user_version").get() as { user_version: number } | undefined;
  return row?.user_version ?? 0;
}

/**
 * Brings the database up to {@link SCHEMA_VERSION}, each migration in its own transaction.
 *
 * BEGIN IMMEDIATE takes the write lock before the version is re-read, so two processes opening
 * a fresh database at once cannot both apply the same migration. Throws a plain Error when the
 * database was written by a newer program (the caller maps it).
 */
export function migrate(db: DatabaseSync): void {
  for (;;) {
    db.exec("BEGIN IMMEDIATE");
    try {
      const version = schemaVersion(db);
      if (version > SCHEMA_VERSION) {
        throw new NewerSchemaError(version);
      }
      if (version === SCHEMA_VERSION) {
        db.exec("COMMIT");
        return;
      }
      db.exec(MIGRATIONS[version]!);
      // PRAGMA takes no bound parameters; the value is an integer we computed.
      db.exec(`PRAGMA user_version = ${version + 1}`);
      db.exec("COMMIT");
    } catch (e) {
      if (db.isTransaction) db.exec("ROLLBACK");
      throw e;
    }
  }
}

/** The database has a schema version this program does not know. */
export class NewerSchemaError extends Error {
  constructor(readonly version: number) {
    super(
      `Database schema version ${version} is newer than this program supports (${SCHEMA_VERSION})`,
    );
    this.name = "NewerSchemaError";
  }
}
