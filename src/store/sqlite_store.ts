/**
 * The SQLite store: every role of {@link Store} over one connection (./connection.ts), each
 * implemented in its own module: delivery (./delivery.ts, durable through ./wal_sync.ts),
 * mailboxes (./mailboxes.ts), the outbound queue (./outbound_queue.ts) and users (./users.ts).
 * Opened by ./open.ts.
 *
 * @module
 */
import type { Connection } from "./connection.ts";
import { SqliteDelivery } from "./delivery.ts";
import { SqliteMailboxes } from "./mailboxes.ts";
import { SqliteQueue } from "./outbound_queue.ts";
import type {
  ListPage,
  MailboxAccess,
  MailboxEntry,
  MtaStsPolicies,
  NewMessage,
  QueueEntry,
  QueueSettlement,
  Store,
  UserInfo,
} from "./types.ts";
import { SqliteUsers } from "./users.ts";
import { SqliteFolders } from "./imap_store.ts";

/** A {@link Store} that hands each call to the module of its role. */
export class SqliteStore implements Store {
  readonly path: string;
  readonly #conn: Connection;
  readonly #delivery: SqliteDelivery;
  readonly #mailboxes: SqliteMailboxes;
  readonly #queue: SqliteQueue;
  readonly #users: SqliteUsers;
  /** The folders role, handed out whole: its callers (the IMAP backend) use it as one. */
  readonly folders: SqliteFolders;
  /** The MTA-STS policies held (./mta_sts.ts). */
  readonly mtaSts: MtaStsPolicies;

  constructor(conn: Connection) {
    this.#conn = conn;
    this.path = conn.path;
    this.#delivery = new SqliteDelivery(conn);
    this.#mailboxes = new SqliteMailboxes(conn);
    this.#queue = new SqliteQueue(conn);
    this.#users = new SqliteUsers(conn);
    this.folders = new SqliteFolders(conn);
    this.mtaSts = conn.mtaSts;
  }

  close(): void {
    this.#conn.close();
  }

  // --- MailDelivery ---
  deliver(message: NewMessage): void {
    this.#delivery.deliver(message);
  }
  deliverMany(messages: readonly NewMessage[]): (Error | undefined)[] {
    return this.#delivery.deliverMany(messages);
  }
  deliverManyAsync(messages: readonly NewMessage[]): Promise<(Error | undefined)[]> {
    return this.#delivery.deliverManyAsync(messages);
  }

  // --- MailboxAccess ---
  mailboxExists(address: string): boolean {
    return this.#mailboxes.mailboxExists(address);
  }
  mailboxes(): string[] {
    return this.#mailboxes.mailboxes();
  }
  inFolder(name: string): MailboxAccess {
    return this.#mailboxes.inFolder(name);
  }
  list(address: string, page?: ListPage): MailboxEntry[] {
    return this.#mailboxes.list(address, page);
  }
  count(address: string): { total: number; unseen: number } {
    return this.#mailboxes.count(address);
  }
  entry(address: string, id: number): MailboxEntry | undefined {
    return this.#mailboxes.entry(address, id);
  }
  read(address: string, id: number): Uint8Array | undefined {
    return this.#mailboxes.read(address, id);
  }
  setSeen(address: string, id: number, seen: boolean): boolean {
    return this.#mailboxes.setSeen(address, id, seen);
  }
  remove(address: string, id: number): boolean {
    return this.#mailboxes.remove(address, id);
  }

  // --- OutboundQueue ---
  queueDue(now: number, limit: number): QueueEntry[] {
    return this.#queue.queueDue(now, limit);
  }
  queueList(): QueueEntry[] {
    return this.#queue.queueList();
  }
  queueEntry(id: number): QueueEntry | undefined {
    return this.#queue.queueEntry(id);
  }
  queueNextDue(after: number): number | undefined {
    return this.#queue.queueNextDue(after);
  }
  messageBytes(messageRowId: number): Uint8Array | undefined {
    return this.#queue.messageBytes(messageRowId);
  }
  settle(settlement: QueueSettlement): void {
    this.#queue.settle(settlement);
  }
  queueRetry(now: number, id?: number): number {
    return this.#queue.queueRetry(now, id);
  }
  queueDelete(id: number): boolean {
    return this.#queue.queueDelete(id);
  }

  // --- UserAccounts ---
  userExists(address: string): boolean {
    return this.#users.userExists(address);
  }
  addUser(address: string, passwordHash: string): void {
    this.#users.addUser(address, passwordHash);
  }
  removeUser(address: string): boolean {
    return this.#users.removeUser(address);
  }
  setPasswordHash(address: string, passwordHash: string): boolean {
    return this.#users.setPasswordHash(address, passwordHash);
  }
  passwordHash(address: string): string | undefined {
    return this.#users.passwordHash(address);
  }
  listUsers(): UserInfo[] {
    return this.#users.listUsers();
  }
}
