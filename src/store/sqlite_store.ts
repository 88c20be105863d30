/**
 * The SQLite implementation of the store (`node:sqlite`, WAL, synchronous=FULL).
 *
 * One database file, `DIR/mail.sqlite`, shared by `mail serve` (writing deliveries) and
 * `mail inbox` (reading, marking seen, removing) in separate processes. WAL lets readers proceed
 * while a writer commits (https://www.sqlite.org/wal.html); `busy_timeout` makes the rare
 * writer/writer overlap wait instead of failing with "database is locked".
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type {
  MailboxEntry,
  NewMessage,
  QueueEntry,
  QueueSettlement,
  Store,
  UserInfo,
} from "./types.ts";
import { StoreError, toStoreError } from "./errors.ts";
import { migrate, NewerSchemaError } from "./schema.ts";
import { backupBeforeMigrate } from "./backup.ts";
import { onePiece, pieces } from "./pieces.ts";
import { SQL, type StatementName } from "./sql.ts";

/** Options for {@link openStore}. */
export interface StoreOptions {
  /** `FULL` (default) makes a commit survive power loss, not only a process crash. */
  readonly synchronous?: "FULL" | "NORMAL";
  /** How long a writer waits for another connection's lock, in milliseconds (default 10000). */
  readonly busyTimeoutMs?: number;
  /** Open an existing database only; never create the data directory or the file. */
  readonly mustExist?: boolean;
  /** Replaces the fdatasync of the write-ahead log in deliverManyAsync; tests make it fail. */
  readonly syncLog?: (file: Deno.FsFile) => Promise<void>;
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

/** Default page size of {@link Store.list}. */
const DEFAULT_LIMIT = 50;

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
    return new SqliteStore(db, path, synchronous, options.syncLog);
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

/** A row of SQL.list / SQL.entry. */
interface EntryRow {
  id: number;
  queue_id: string;
  sender: string;
  hdr_from: string | null;
  hdr_subject: string | null;
  hdr_date: string | null;
  size: number;
  seen: number;
  received_at: number;
}

/** A message's size and the bytes its row keeps (null: they are in message_chunks). */
interface ContentRow {
  size: number;
  body: Uint8Array | null;
}

/** A row of SQL.queueDue / queueAll / queueRow. */
interface QueueRowData {
  id: number;
  message_id: number;
  queue_id: string;
  sender: string;
  recipient: string;
  domain: string;
  attempts: number;
  next_attempt: number;
  last_reply: string | null;
  created_at: number;
  warned: number;
  received_at: number;
}

function toQueueEntry(row: QueueRowData): QueueEntry {
  return {
    id: row.id,
    messageRowId: row.message_id,
    messageId: row.queue_id,
    sender: row.sender,
    recipient: row.recipient,
    domain: row.domain,
    attempts: row.attempts,
    nextAttempt: row.next_attempt,
    lastReply: row.last_reply ?? undefined,
    createdAt: row.created_at,
    warned: row.warned !== 0,
    receivedAt: row.received_at,
  };
}

/** The domain of a normalised address, lower-case (address literals included). */
function domainOfAddress(address: string): string {
  return address.slice(address.lastIndexOf("@") + 1).toLowerCase();
}

function toEntry(row: EntryRow): MailboxEntry {
  return {
    id: row.id,
    messageId: row.queue_id,
    sender: row.sender,
    from: row.hdr_from ?? "",
    subject: row.hdr_subject ?? "",
    date: row.hdr_date ?? "",
    size: row.size,
    seen: row.seen !== 0,
    receivedAt: row.received_at,
  };
}

class SqliteStore implements Store {
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #stmt: Record<StatementName, StatementSync>;
  readonly #synchronous: "FULL" | "NORMAL";
  /** PRAGMA synchronous = NORMAL, then back to the configured mode (deliverManyAsync). */
  readonly #unsynced: StatementSync;
  readonly #resynced: StatementSync;
  /** The write-ahead log, kept open for deliverManyAsync's syncs. */
  #walFile: Deno.FsFile | undefined;
  readonly #syncFile: (file: Deno.FsFile) => Promise<void>;
  /** Set once a sync of the log has failed: from then on, every write fails (see #syncLog). */
  #syncFailure: StoreError | undefined;

  constructor(
    db: DatabaseSync,
    path: string,
    synchronous: "FULL" | "NORMAL",
    syncFile: (file: Deno.FsFile) => Promise<void> = (file) => file.syncData(),
  ) {
    this.#db = db;
    this.path = path;
    this.#synchronous = synchronous;
    this.#syncFile = syncFile;
    // Prepared once: parsing and planning are then paid per connection, not per call.
    this.#stmt = Object.fromEntries(
      Object.entries(SQL).map(([name, sql]) => [name, db.prepare(sql)]),
    ) as Record<StatementName, StatementSync>;
    this.#unsynced = db.prepare("PRAGMA synchronous = NORMAL");
    this.#resynced = db.prepare(`PRAGMA synchronous = ${synchronous}`);
  }

  close(): void {
    this.#walFile?.close();
    this.#walFile = undefined;
    if (this.#db.isOpen) this.#db.close();
  }

  deliver(message: NewMessage): void {
    this.#write(() => this.#insert(message));
  }

  deliverMany(messages: readonly NewMessage[]): (Error | undefined)[] {
    // One transaction, one fsync for the lot (group commit); a savepoint per message so that
    // one that fails (a mailbox removed meanwhile) is undone alone. A batch of one needs none:
    // the transaction is undone with it, and the savepoint would only copy the pages it changes.
    if (messages.length === 1) {
      let failed: unknown;
      try {
        this.#write(() => {
          try {
            this.#insert(messages[0]!);
          } catch (e) {
            failed = e;
            throw e;
          }
        });
        return [undefined];
      } catch (e) {
        // As below: the message's own failure is its result; the transaction's is thrown.
        if (failed === undefined) throw e;
        return [this.#messageError(failed)];
      }
    }
    const s = this.#stmt;
    return this.#write(() =>
      messages.map((message): Error | undefined => {
        s.savepoint.run();
        try {
          this.#insert(message);
          s.release.run();
          return undefined;
        } catch (e) {
          s.rollbackTo.run();
          s.release.run();
          return this.#messageError(e);
        }
      })
    );
  }

  #messageError(e: unknown): Error {
    const err = toStoreError(e, this.path);
    return err instanceof Error ? err : new Error(String(err));
  }

  async deliverManyAsync(messages: readonly NewMessage[]): Promise<(Error | undefined)[]> {
    if (this.#synchronous !== "FULL") return this.deliverMany(messages);
    // With synchronous=NORMAL the commit writes its WAL frames to the file (write(2), no
    // fsync) and returns; syncing the WAL file afterwards gives the durability FULL gives,
    // which is one WAL sync after each commit (https://www.sqlite.org/pragma.html#pragma_synchronous).
    // Checkpoints still sync the WAL before, and the database after, as in FULL. Meanwhile
    // the event loop serves other clients instead of blocking in fsync.
    this.#unsynced.run();
    let results: (Error | undefined)[];
    try {
      results = this.deliverMany(messages);
    } finally {
      this.#resynced.run();
    }
    await this.#syncLog();
    return results;
  }

  /**
   * fdatasync of the write-ahead log, on the runtime's blocking thread pool. Any descriptor of
   * the file will do: Linux writes back the file's dirty pages whoever wrote them. One is kept
   * open (opening it cost 1% of the server's time): SQLite removes the log only when the last
   * connection closes, and this connection stays open as long as the descriptor does.
   */
  async #syncLog(): Promise<void> {
    const wal = `${this.path}-wal`;
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
      this.#syncFailure = new StoreError(
        "io",
        `Syncing ${wal} failed (${why}): no mail is accepted until the server is restarted`,
        { cause: e },
      );
      throw this.#syncFailure;
    }
  }

  /**
   * Stores MESSAGE: its bytes once, a mailbox entry per local recipient and a queue row per
   * remote one. Must run inside a write transaction.
   */
  #insert(message: NewMessage): void {
    const recipients = [...new Set(message.recipients)];
    const relay = [...new Set(message.relay ?? [])];
    if (recipients.length === 0 && relay.length === 0) {
      throw new TypeError(`Message ${message.id} has no recipients`);
    }
    {
      const s = this.#stmt;
      if (s.messageIdByQueueId.get(message.id) !== undefined) {
        throw new StoreError("exists", `Message ${message.id} is already stored`);
      }
      // Resolve every mailbox before writing the message, so a missing one fails cheaply; the
      // transaction still undoes any mailbox created for an earlier recipient.
      const mailboxIds = recipients.map((address) => {
        const row = s.mailboxId.get(address) as { id: number } | undefined;
        if (row !== undefined) return row.id;
        if (!message.createMailboxes) {
          throw new StoreError("no-mailbox", `No mailbox for ${address}`);
        }
        return Number(s.insertMailbox.run(address, message.receivedAt).lastInsertRowid);
      });

      const { summary } = message;
      // Most mail fits one piece and is kept in its messages row (schema migration 3).
      const body = onePiece(message.chunks);
      const messageId = Number(
        s.insertMessage.run(
          message.id,
          message.sender,
          message.size,
          message.receivedAt,
          summary.from,
          summary.subject,
          summary.date,
          summary.messageId,
          body ?? null,
        ).lastInsertRowid,
      );
      let stored = body?.length ?? 0;
      if (body === undefined) {
        let seq = 0;
        for (const piece of pieces(message.chunks)) {
          s.insertChunk.run(messageId, seq++, piece);
          stored += piece.length;
        }
      }
      if (stored !== message.size) {
        // A caller bug; storing a wrong size would make read() report corruption later.
        throw new RangeError(
          `Message ${message.id} declares ${message.size} octets but its chunks hold ${stored}`,
        );
      }
      for (const mailboxId of mailboxIds) {
        s.insertEntry.run(mailboxId, messageId, message.receivedAt);
      }
      // The first attempt is immediate: due as of arrival.
      for (const address of relay) {
        s.insertQueue.run(
          messageId,
          address,
          domainOfAddress(address),
          message.receivedAt,
          message.receivedAt,
        );
      }
    }
  }

  queueDue(now: number, limit: number): QueueEntry[] {
    return this.#run(() =>
      (this.#stmt.queueDue.all({ now, limit }) as unknown as QueueRowData[]).map(toQueueEntry)
    );
  }

  queueList(): QueueEntry[] {
    return this.#run(() =>
      (this.#stmt.queueAll.all() as unknown as QueueRowData[]).map(toQueueEntry)
    );
  }

  queueEntry(id: number): QueueEntry | undefined {
    return this.#run(() => {
      const row = this.#stmt.queueRow.get(id) as QueueRowData | undefined;
      return row === undefined ? undefined : toQueueEntry(row);
    });
  }

  queueNextDue(after: number): number | undefined {
    return this.#run(() => {
      const row = this.#stmt.queueNextDue.get({ now: after }) as
        | { next: number | null }
        | undefined;
      return row?.next ?? undefined;
    });
  }

  messageBytes(messageRowId: number): Uint8Array | undefined {
    return this.#run(() => {
      const row = this.#stmt.messageContent.get(messageRowId) as ContentRow | undefined;
      return row === undefined ? undefined : this.#content(messageRowId, row);
    }, true);
  }

  settle(settlement: QueueSettlement): void {
    this.#write(() => {
      const s = this.#stmt;
      for (const d of settlement.deferred ?? []) {
        s.queueDefer.run({ id: d.id, next: d.nextAttempt, reply: d.lastReply });
      }
      for (const id of settlement.warned ?? []) s.queueWarned.run(id);
      // Notices first: a bounce is stored before the row it reports on goes away, all or
      // nothing, so a crash can neither lose it nor send it twice.
      for (const notice of settlement.notices ?? []) this.#insert(notice);
      const messages = new Set<number>();
      for (const id of settlement.finished ?? []) {
        const row = s.queueDelete.get(id) as { message_id: number } | undefined;
        if (row !== undefined) messages.add(row.message_id);
      }
      for (const messageId of messages) this.#collectMessage(messageId);
    });
  }

  queueRetry(now: number, id?: number): number {
    return this.#run(() =>
      Number(
        (id === undefined
          ? this.#stmt.queueRetryAll.run({ now })
          : this.#stmt.queueRetry.run({ now, id })).changes,
      )
    );
  }

  queueDelete(id: number): boolean {
    return this.#write(() => {
      const row = this.#stmt.queueDelete.get(id) as { message_id: number } | undefined;
      if (row === undefined) return false;
      this.#collectMessage(row.message_id);
      return true;
    });
  }

  userExists(address: string): boolean {
    return this.#run(() => this.#stmt.userExists.get(address) !== undefined);
  }

  mailboxExists(address: string): boolean {
    return this.#run(() => this.#stmt.mailboxExists.get(address) !== undefined);
  }

  list(address: string, page: { offset?: number; limit?: number } = {}): MailboxEntry[] {
    const offset = page.offset ?? 0;
    const limit = page.limit ?? DEFAULT_LIMIT;
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new RangeError(`Invalid offset: ${offset}`);
    }
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new RangeError(`Invalid limit: ${limit}`);
    }
    return this.#run(() =>
      (this.#stmt.list.all({ address, limit, offset }) as unknown as EntryRow[]).map(toEntry)
    );
  }

  count(address: string): { total: number; unseen: number } {
    return this.#run(() => {
      const row = this.#stmt.count.get({ address }) as
        | { total: number; unseen: number }
        | undefined;
      return { total: row?.total ?? 0, unseen: row?.unseen ?? 0 };
    });
  }

  entry(address: string, id: number): MailboxEntry | undefined {
    return this.#run(() => {
      const row = this.#stmt.entry.get({ address, id }) as EntryRow | undefined;
      return row === undefined ? undefined : toEntry(row);
    });
  }

  read(address: string, id: number): Uint8Array | undefined {
    // One read transaction: the chunks come from the same snapshot as the entry, even if
    // another process removes the message meanwhile.
    return this.#run(() => {
      const s = this.#stmt;
      const found = s.entryMessage.get({ address, id }) as
        | (ContentRow & { message_id: number })
        | undefined;
      if (found === undefined) return undefined;
      return this.#content(found.message_id, found);
    }, true);
  }

  /** The bytes of message MESSAGEID: those of its row, or else its chunks. Inside a transaction. */
  #content(messageId: number, { size, body }: ContentRow): Uint8Array {
    if (body === null) return this.#readChunks(messageId, size);
    if (body.length !== size) {
      throw new StoreError(
        "corrupt",
        `${this.path}: message ${messageId} should hold ${size} octets but holds ${body.length}`,
      );
    }
    return body;
  }

  /** The bytes of message MESSAGEID, which should hold SIZE octets. Inside a transaction. */
  #readChunks(messageId: number, size: number): Uint8Array {
    // One buffer of the final size; rows are streamed into it, never all held at once.
    const bytes = new Uint8Array(size);
    let at = 0;
    let overflow = false;
    for (const row of this.#stmt.chunks.iterate(messageId)) {
      const data = (row as { data: Uint8Array }).data;
      if (at + data.length > bytes.length) {
        overflow = true;
        break;
      }
      bytes.set(data, at);
      at += data.length;
    }
    if (overflow || at !== size) {
      throw new StoreError(
        "corrupt",
        `${this.path}: message ${messageId} should hold ${size} octets but its ` +
          `chunks hold ${overflow ? "more" : at}`,
      );
    }
    return bytes;
  }

  setSeen(address: string, id: number, seen: boolean): boolean {
    return this.#run(() =>
      Number(this.#stmt.setSeen.run({ address, id, seen: seen ? 1 : 0 }).changes) > 0
    );
  }

  remove(address: string, id: number): boolean {
    return this.#write(() => {
      const row = this.#stmt.deleteEntry.get({ address, id }) as
        | { message_id: number }
        | undefined;
      if (row === undefined) return false;
      this.#collectMessage(row.message_id);
      return true;
    });
  }

  /**
   * Deletes message `messageId` and its bytes if nothing refers to it any more (the single
   * reference check is SQL.messageReferenced). Must run inside a write transaction.
   */
  #collectMessage(messageId: number): boolean {
    const s = this.#stmt;
    const row = s.messageReferenced.get(messageId) as { referenced: number } | undefined;
    if (row?.referenced) return false;
    s.deleteChunks.run(messageId);
    s.deleteMessage.run(messageId);
    return true;
  }

  mailboxes(): string[] {
    return this.#run(() =>
      (this.#stmt.mailboxes.all() as unknown as { address: string }[]).map((r) => r.address)
    );
  }

  addUser(address: string, passwordHash: string): void {
    this.#write(() => {
      const s = this.#stmt;
      if (s.userExists.get(address) !== undefined) {
        throw new StoreError("exists", `User ${address} already exists`);
      }
      const now = Date.now();
      s.insertUser.run(address, passwordHash, now);
      // The mailbox may already exist: catch-all mail, or a user removed and added again.
      s.insertMailboxIfMissing.run(address, now);
    });
  }

  removeUser(address: string): boolean {
    return this.#run(() => Number(this.#stmt.deleteUser.run(address).changes) > 0);
  }

  setPasswordHash(address: string, passwordHash: string): boolean {
    return this.#run(() =>
      Number(this.#stmt.setPasswordHash.run(passwordHash, address).changes) > 0
    );
  }

  passwordHash(address: string): string | undefined {
    return this.#run(() => {
      const row = this.#stmt.passwordHash.get(address) as { password_hash: string } | undefined;
      return row?.password_hash;
    });
  }

  listUsers(): UserInfo[] {
    return this.#run(() =>
      (this.#stmt.listUsers.all() as unknown as { address: string; created_at: number }[])
        .map((r) => ({ address: r.address, createdAt: r.created_at }))
    );
  }

  /**
   * Runs `fn` in a write transaction. BEGIN IMMEDIATE takes the write lock up front (waiting up
   * to busy_timeout), so the transaction cannot fail half-way with SQLITE_BUSY when upgrading a
   * read lock (https://www.sqlite.org/lang_transaction.html). Nothing is visible to other
   * connections before COMMIT; any error rolls everything back.
   */
  #write<T>(fn: () => T): T {
    if (this.#syncFailure) throw this.#syncFailure;
    return this.#transaction("BEGIN IMMEDIATE", fn);
  }

  /**
   * Runs a single statement (autocommit: atomic and durable on its own) or, with `snapshot`, several reads in one deferred
   * transaction, translating SQLite errors.
   */
  #run<T>(fn: () => T, snapshot = false): T {
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
