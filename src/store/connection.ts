/**
 * One open database: its prepared statements, its transactions, and the sync of its log. Every
 * part of the store (delivery, mailboxes, queue, users) works through one of these.
 *
 * @module
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { toStoreError } from "./errors.ts";
import { SQL, type StatementName } from "./sql.ts";
import { type SyncLog, WalSync } from "./wal_sync.ts";
import { Folders } from "./folders.ts";
import { SqliteMtaStsPolicies } from "./mta_sts.ts";

/** A connection to the database at {@link Connection.path}. */
export class Connection {
  /** Path of the database file. */
  readonly path: string;
  /** The statements of ./sql.ts, prepared once: parsing and planning are paid per connection. */
  readonly stmt: Record<StatementName, StatementSync>;
  /** The write-ahead log's sync, and the refusal of writes once one failed. */
  readonly log: WalSync;
  /** The folder queries (UIDs, flags, mod-sequences), prepared once like the rest. */
  readonly folders: Folders;
  /** The MTA-STS policies held (./mta_sts.ts). */
  readonly mtaSts: SqliteMtaStsPolicies;
  readonly #db: DatabaseSync;

  constructor(
    db: DatabaseSync,
    path: string,
    synchronous: "FULL" | "NORMAL",
    syncLog?: SyncLog,
  ) {
    this.#db = db;
    this.path = path;
    this.stmt = Object.fromEntries(
      Object.entries(SQL).map(([name, sql]) => [name, db.prepare(sql)]),
    ) as Record<StatementName, StatementSync>;
    this.log = new WalSync(db, path, synchronous, syncLog);
    this.folders = new Folders(db);
    this.mtaSts = new SqliteMtaStsPolicies(db);
  }

  close(): void {
    this.log.close();
    if (this.#db.isOpen) this.#db.close();
  }

  /**
   * Runs `fn` in a write transaction. BEGIN IMMEDIATE takes the write lock up front (waiting up
   * to busy_timeout), so the transaction cannot fail half-way with SQLITE_BUSY when upgrading a
   * read lock (https://www.sqlite.org/lang_transaction.html). Nothing is visible to other
   * connections before COMMIT; any error rolls everything back. Refused once a sync of the log
   * failed.
   */
  write<T>(fn: () => T): T {
    this.log.assertWritable();
    return this.#transaction("BEGIN IMMEDIATE", fn);
  }

  /**
   * Runs a single statement (autocommit: atomic and durable on its own) or, with `snapshot`,
   * several reads in one deferred transaction, translating SQLite errors.
   */
  run<T>(fn: () => T, snapshot = false): T {
    if (snapshot) return this.#transaction("BEGIN", fn);
    try {
      return fn();
    } catch (e) {
      throw toStoreError(e, this.path);
    }
  }

  #transaction<T>(begin: string, fn: () => T): T {
    try {
      this.#db.exec(begin);
      try {
        const result = fn();
        this.#db.exec("COMMIT");
        return result;
      } catch (e) {
        if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
        throw e;
      }
    } catch (e) {
      throw toStoreError(e, this.path);
    }
  }
}
