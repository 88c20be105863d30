/**
 * Durability without blocking the event loop: a commit made with `synchronous = NORMAL`, then an
 * fdatasync of the write-ahead log on the runtime's blocking thread pool. Together they give what
 * `synchronous = FULL` gives, one sync of the log after each commit
 * (https://www.sqlite.org/pragma.html#pragma_synchronous), while the event loop serves other
 * clients instead of waiting in fsync.
 *
 * A sync that fails closes the connection to writes for good (see {@link WalSync.assertWritable}).
 *
 * @module
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { StoreError } from "./errors.ts";

/** Syncs the log file; the default is fdatasync (`Deno.FsFile.syncData`). */
export type SyncLog = (file: Deno.FsFile) => Promise<void>;

/** The write-ahead log of one connection, synced after the commits that skipped SQLite's sync. */
export class WalSync {
  readonly #path: string;
  readonly #synchronous: "FULL" | "NORMAL";
  /** PRAGMA synchronous = NORMAL, then back to the configured mode (commitThenSync). */
  readonly #unsynced: StatementSync;
  readonly #resynced: StatementSync;
  /** The write-ahead log, kept open for the syncs. */
  #walFile: Deno.FsFile | undefined;
  readonly #syncFile: SyncLog;
  /** Set once a sync of the log has failed: from then on, every write fails (see #sync). */
  #failure: StoreError | undefined;

  /** For the connection to the database at PATH, opened with SYNCHRONOUS. */
  constructor(
    db: DatabaseSync,
    path: string,
    synchronous: "FULL" | "NORMAL",
    syncFile: SyncLog = (file) => file.syncData(),
  ) {
    this.#path = path;
    this.#synchronous = synchronous;
    this.#syncFile = syncFile;
    this.#unsynced = db.prepare("PRAGMA synchronous = NORMAL");
    this.#resynced = db.prepare(`PRAGMA synchronous = ${synchronous}`);
  }

  /** Throws the failure of an earlier sync: no write is trusted after one (see #sync). */
  assertWritable(): void {
    if (this.#failure) throw this.#failure;
  }

  /**
   * Runs COMMIT (code that commits write transactions) without SQLite's own sync of the log,
   * then syncs the log; resolves to COMMIT's result once that sync is done. With synchronous
   * NORMAL configured, the caller asked for no sync: COMMIT runs as it is.
   */
  async commitThenSync<T>(commit: () => T): Promise<T> {
    if (this.#synchronous !== "FULL") return commit();
    // With synchronous=NORMAL the commit writes its WAL frames to the file (write(2), no
    // fsync) and returns; syncing the WAL file afterwards gives the durability FULL gives.
    // Checkpoints still sync the WAL before, and the database after, as in FULL.
    this.#unsynced.run();
    let result: T;
    try {
      result = commit();
    } finally {
      this.#resynced.run();
    }
    await this.#sync();
    return result;
  }

  /** Closes the log's descriptor (before the connection closes). */
  close(): void {
    this.#walFile?.close();
    this.#walFile = undefined;
  }

  /**
   * fdatasync of the write-ahead log, on the runtime's blocking thread pool. Any descriptor of
   * the file will do: Linux writes back the file's dirty pages whoever wrote them. One is kept
   * open (opening it cost 1% of the server's time): SQLite removes the log only when the last
   * connection closes, and this connection stays open as long as the descriptor does.
   */
  async #sync(): Promise<void> {
    const wal = `${this.#path}-wal`;
    try {
      this.#walFile ??= Deno.openSync(wal, { read: true });
      await this.#syncFile(this.#walFile);
    } catch (e) {
      // After a failed fsync, Linux may have dropped the dirty pages and report later syncs as
      // successful: a commit made after the hole could be acknowledged and still be lost, as
      // recovery stops at the first torn frame. So no write is trusted again on this
      // connection; a restart recovers whatever reached the disk. The batch that failed is
      // committed but unacknowledged: its senders retry, and may deliver it twice.
      const why = e instanceof Error ? e.message : String(e);
      this.#failure = new StoreError(
        "io",
        `Syncing ${wal} failed (${why}): no mail is accepted until the server is restarted`,
        { cause: e },
      );
      throw this.#failure;
    }
  }
}
