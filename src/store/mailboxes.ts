/**
 * Mailbox access: listing, counting, reading, flagging and removing the entries of a mailbox's
 * INBOX (`mail inbox`, `mail export`). Listing reads the summary columns stored at delivery,
 * through the entries(folder_id, uid) index: it never parses a message. Marking seen and
 * removing are changes IMAP sees: each takes the folder's next mod-sequence (./folders.ts).
 *
 * @module
 */
import type { Connection } from "./connection.ts";
import { collectMessage, type ContentRow, messageContent } from "./messages.ts";
import { entryFlags } from "./folders.ts";
import type { ListPage, MailboxAccess, MailboxEntry } from "./types.ts";

/** Default page size of {@link MailboxAccess.list}. */
const DEFAULT_LIMIT = 50;

/** The folder `mail inbox` reads. */
const INBOX = "INBOX";

/** A row of SQL.entryInFolder. */
interface FolderEntryRow {
  id: number;
  folder_id: number;
  uid: number;
  seen: number;
  flags: string | null;
  message_id: number;
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

/** {@link MailboxAccess} over one connection. */
export class SqliteMailboxes implements MailboxAccess {
  readonly #conn: Connection;

  readonly #folder: string;

  /** FOLDER is the folder this view reads: INBOX unless another is asked for. */
  constructor(conn: Connection, folder = INBOX) {
    this.#conn = conn;
    this.#folder = folder;
  }

  inFolder(name: string): MailboxAccess {
    return new SqliteMailboxes(this.#conn, name);
  }

  mailboxExists(address: string): boolean {
    return this.#conn.run(() => this.#conn.stmt.mailboxExists.get(address) !== undefined);
  }

  mailboxes(): string[] {
    return this.#conn.run(() =>
      (this.#conn.stmt.mailboxes.all() as unknown as { address: string }[]).map((r) => r.address)
    );
  }

  list(address: string, page: ListPage = {}): MailboxEntry[] {
    const offset = page.offset ?? 0;
    const limit = page.limit ?? DEFAULT_LIMIT;
    const before = page.before ?? Number.MAX_SAFE_INTEGER;
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new RangeError(`Invalid offset: ${offset}`);
    }
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new RangeError(`Invalid limit: ${limit}`);
    }
    if (!Number.isSafeInteger(before)) throw new RangeError(`Invalid id: ${before}`);
    return this.#conn.run(() =>
      (this.#conn.stmt.list.all({
        address,
        folder: this.#folder,
        limit,
        offset,
        before,
      }) as unknown as EntryRow[])
        .map(toEntry)
    );
  }

  count(address: string): { total: number; unseen: number } {
    return this.#conn.run(() => {
      const row = this.#conn.stmt.count.get({ address, folder: this.#folder }) as
        | { total: number; unseen: number }
        | undefined;
      return { total: row?.total ?? 0, unseen: row?.unseen ?? 0 };
    });
  }

  entry(address: string, id: number): MailboxEntry | undefined {
    return this.#conn.run(() => {
      const row = this.#conn.stmt.entry.get({ address, folder: this.#folder, id }) as
        | EntryRow
        | undefined;
      return row === undefined ? undefined : toEntry(row);
    });
  }

  read(address: string, id: number): Uint8Array | undefined {
    const conn = this.#conn;
    // One read transaction: the chunks come from the same snapshot as the entry, even if
    // another process removes the message meanwhile.
    return conn.run(() => {
      const found = conn.stmt.entryMessage.get({ address, folder: this.#folder, id }) as
        | (ContentRow & { message_id: number })
        | undefined;
      if (found === undefined) return undefined;
      return messageContent(conn, found.message_id, found);
    }, true);
  }

  setSeen(address: string, id: number, seen: boolean): boolean {
    const conn = this.#conn;
    return conn.write(() => {
      const row = this.#find(address, id);
      if (row === undefined) return false;
      if ((row.seen !== 0) === seen) return true;
      const flags = entryFlags(seen, row.flags);
      conn.folders.setFlags(row.id, flags, conn.folders.take(row.folder_id, 0).modseq);
      return true;
    });
  }

  /** Removes the entry: an expunge, as IMAP sessions will be told. */
  remove(address: string, id: number): boolean {
    const conn = this.#conn;
    return conn.write(() => {
      const row = this.#find(address, id);
      if (row === undefined) return false;
      conn.folders.expunge(
        row.folder_id,
        row.id,
        row.uid,
        conn.folders.take(row.folder_id, 0).modseq,
      );
      collectMessage(conn, row.message_id);
      return true;
    });
  }

  #find(address: string, id: number): FolderEntryRow | undefined {
    return this.#conn.stmt.entryInFolder.get({ address, folder: this.#folder, id }) as
      | FolderEntryRow
      | undefined;
  }
}
