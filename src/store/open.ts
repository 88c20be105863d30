/**
 * Opening the store: the database file of a data directory, its pragmas (WAL, synchronous=FULL),
 * the backup and migrations an upgrade needs.
 *
 * One database file, `DIR/mail.sqlite`, shared by `mail serve` (writing deliveries) and
 * `mail inbox` (reading, marking seen, removing) in separate processes. WAL lets readers proceed
 * while a writer commits (https://www.sqlite.org/wal.html); `busy_timeout` makes the rare
 * writer/writer overlap wait instead of failing with "database is locked".
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { backupBeforeMigrate } from "./backup.ts";
import { Connection } from "./connection.ts";
import { StoreError, toStoreError } from "./errors.ts";
import { migrate, NewerSchemaError } from "./schema.ts";
import { SqliteStore } from "./sqlite_store.ts";
import type { Store } from "./types.ts";
import type { SyncLog } from "./wal_sync.ts";

/** Options for {@link openStore}. */
export interface StoreOptions {
  /** `FULL` (default) makes a commit survive power loss, not only a process crash. */
  readonly synchronous?: "FULL" | "NORMAL";
  /** How long a writer waits for another connection's lock, in milliseconds (default 10000). */
  readonly busyTimeoutMs?: number;
  /** Open an existing database only; never create the data directory or the file. */
  readonly mustExist?: boolean;
  /** Replaces the fdatasync of the write-ahead log in deliverManyAsync; tests make it fail. */
  readonly syncLog?: SyncLog;
}

/** File name of the database inside the data directory. */
export const DATABASE_FILE = "mail.sqlite";

/** The name the database had in earlier builds: a directory they made keeps it. */
export const LEGACY_DATABASE_FILE = "mail.db";

/**
 * The database of DIR: `mail.sqlite`, or `mail.db` in a directory an earlier build created (it
 * is used where it is, never renamed: a rename could race another `mail` command that has it
 * open, and its WAL and shared-memory files are named after it).
 */
export function databasePath(dataDir: string): string {
  const current = join(dataDir, DATABASE_FILE);
  const legacy = join(dataDir, LEGACY_DATABASE_FILE);
  return !existsSync(current) && existsSync(legacy) ? legacy : current;
}

/** Opens (creating if needed) the database of DIR ({@link databasePath}), applying migrations. */
export function openStore(dataDir: string, options: StoreOptions = {}): Store {
  const path = databasePath(dataDir);
  const busyTimeoutMs = options.busyTimeoutMs ?? 10_000;
  if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new RangeError(`Invalid busy timeout: ${busyTimeoutMs}`);
  }
  const synchronous = options.synchronous ?? "FULL";
  if (synchronous !== "FULL" && synchronous !== "NORMAL") {
    throw new RangeError(`Invalid synchronous mode: ${synchronous}`);
  }

  if (options.mustExist) {
    requireExisting(dataDir, "Data directory", true);
    requireExisting(path, "Mail database", false);
  } else {
    try {
      // 0o700: the directory holds everyone's mail and password hashes.
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw toStoreError(e, dataDir);
    }
  }

  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path);
  } catch (e) {
    throw toStoreError(e, path);
  }
  try {
    // busy_timeout first: switching to WAL and migrating need locks another process may hold.
    // PRAGMAs take no bound parameters; both values are validated above.
    db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
    // The first statement to read the file: a non-database fails here with SQLITE_NOTADB.
    db.exec("PRAGMA journal_mode = WAL");
    // In WAL mode NORMAL may lose the last commits on power loss; FULL syncs the WAL on every
    // commit, which is what a 250 reply promises (https://www.sqlite.org/pragma.html#pragma_synchronous).
    db.exec(`PRAGMA synchronous = ${synchronous}`);
    // Off by default in SQLite, per connection (https://www.sqlite.org/foreignkeys.html).
    db.exec("PRAGMA foreign_keys = ON");
    // 512 KiB of page cache instead of SQLite's 2 MiB: the server writes new pages and reads
    // a few index pages per delivery, and the default was 1.5 MiB of its peak memory.
    db.exec("PRAGMA cache_size = -512");
    // Before an upgrade changes an existing database: a copy to go back to (./backup.ts).
    backupBeforeMigrate(db, path);
    migrate(db);
    // A savepoint keeps the pages it changes in a sub-journal, spilled past 64 KiB to a file
    // created and deleted in /var/tmp; in memory instead, a delivery makes no such system calls
    // and needs no writable temporary directory (https://www.sqlite.org/pragma.html#pragma_temp_store).
    // Set after the migrations: one that builds an index sorts its keys, which for a large
    // database belongs in temporary files, not in memory.
    db.exec("PRAGMA temp_store = MEMORY");
    return new SqliteStore(new Connection(db, path, synchronous, options.syncLog));
  } catch (e) {
    db.close();
    if (e instanceof NewerSchemaError) {
      throw new StoreError("corrupt", `${path}: ${e.message}`, { cause: e });
    }
    throw toStoreError(e, path, "corrupt");
  }
}

/** Throws StoreError("not-found") unless `path` exists and is a directory (or a file). */
function requireExisting(path: string, what: string, directory: boolean): void {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch (e) {
    if ((e as { code?: unknown }).code === "ENOENT" || e instanceof Deno.errors.NotFound) {
      throw new StoreError("not-found", `${what} ${path} does not exist`, { cause: e });
    }
    throw toStoreError(e, path);
  }
  if (isDirectory !== directory) {
    throw new StoreError(
      "not-found",
      `${what} ${path} is not a ${directory ? "directory" : "file"}`,
    );
  }
}
