/**
 * Folders, UIDs, flags and mod-sequences (the IMAP view of a mailbox, RFC 9051 §2.3): every
 * account's mailbox holds folders; every entry of a folder has a UID, strictly ascending and
 * never reused within the folder's UIDVALIDITY, its flags and the mod-sequence of its last
 * change (RFC 7162). Every change takes the folder's next mod-sequence, and expunged UIDs are
 * remembered with theirs, so "what changed since N" is one indexed query: the whole of
 * CONDSTORE, QRESYNC and telling other sessions (and other processes) about changes.
 *
 * `\Seen` is the entries' `seen` column (what `mail inbox` shows and sets); the other flags and
 * keywords are in `flags`, space-separated.
 *
 * @module
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { FolderEntry, FolderRow } from "./types.ts";

/** Migration 4 (appended to schema.ts's list): folders, UIDs, flags, modseqs, expunged UIDs. */
export const FOLDERS_MIGRATION = `
  CREATE TABLE folders (
    id INTEGER PRIMARY KEY,
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes,
    -- The full name, "/" between levels; INBOX for the inbox.
    name TEXT NOT NULL,
    uid_validity INTEGER NOT NULL,
    uid_next INTEGER NOT NULL,
    highest_modseq INTEGER NOT NULL,
    subscribed INTEGER NOT NULL DEFAULT 1,
    -- RFC 6154: \\Sent, \\Drafts, \\Trash, \\Junk, \\Archive; NULL for none.
    special_use TEXT,
    UNIQUE (mailbox_id, name)
  );
  ALTER TABLE entries ADD COLUMN folder_id INTEGER REFERENCES folders;
  ALTER TABLE entries ADD COLUMN uid INTEGER;
  -- Flags other than \\Seen (the seen column), space-separated; NULL for none.
  ALTER TABLE entries ADD COLUMN flags TEXT;
  ALTER TABLE entries ADD COLUMN modseq INTEGER NOT NULL DEFAULT 1;
  -- The MIME structure (JSON), parsed at the first FETCH that needs it and kept.
  ALTER TABLE messages ADD COLUMN structure TEXT;
  -- UIDs expunged from a folder, with the mod-sequence of their expunge (RFC 7162 §3.2.10).
  CREATE TABLE expunged (
    folder_id INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    PRIMARY KEY (folder_id, uid)
  ) WITHOUT ROWID;
  CREATE INDEX expunged_modseq ON expunged (folder_id, modseq);
  -- The last UIDVALIDITY given, so that a folder made again never repeats one, even after the
  -- folder that had it was deleted.
  CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
  INSERT INTO counters VALUES ('uid_validity', CAST(strftime('%s', 'now') AS INTEGER));
  -- Every existing mailbox gets its INBOX; its mail keeps its order, the entry id as UID.
  INSERT INTO folders (mailbox_id, name, uid_validity, uid_next, highest_modseq)
    SELECT mb.id, 'INBOX', CAST(strftime('%s', 'now') AS INTEGER),
      COALESCE((SELECT max(e.id) FROM entries e WHERE e.mailbox_id = mb.id), 0) + 1, 1
    FROM mailboxes mb;
  UPDATE entries SET uid = id, folder_id =
    (SELECT f.id FROM folders f WHERE f.mailbox_id = entries.mailbox_id AND f.name = 'INBOX');
  CREATE UNIQUE INDEX entries_folder_uid ON entries (folder_id, uid);
  CREATE INDEX entries_folder_modseq ON entries (folder_id, modseq);
  -- Counting a folder's unseen mail touches only its unseen entries.
  CREATE INDEX entries_folder_unseen ON entries (folder_id) WHERE seen = 0;
  -- Listing and counting go by folder now: the mailbox-wide indexes would only cost every
  -- delivery two more index writes.
  DROP INDEX entries_mailbox;
  DROP INDEX entries_unseen;
`;

/**
 * Part of migration 7 (schema.ts): each entry keeps its message's size (RFC822.SIZE), so that
 * opening a folder reads its entries alone and no message row. A message never changes, so the
 * copy never goes stale.
 */
export const ENTRY_SIZE_MIGRATION = `
  ALTER TABLE entries ADD COLUMN size INTEGER;
  UPDATE entries SET size = (SELECT m.size FROM messages m WHERE m.id = entries.message_id);
`;

/**
 * A later migration (schema.ts): subscriptions apart from folders, by name, so that a subscribed
 * folder deleted or renamed stays subscribed under its old name (RFC 9051 §6.3.7: the server
 * must not remove a name from the list unilaterally; LIST (SUBSCRIBED) shows it \NonExistent,
 * RFC 5258 §3.1) and a folder made again under that name is subscribed again, as in Dovecot.
 * The folders' own `subscribed` column is read no more (its default makes every new folder 1).
 */
export const SUBSCRIPTIONS_MIGRATION = `
  CREATE TABLE IF NOT EXISTS subscriptions (
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes ON DELETE CASCADE,
    name TEXT NOT NULL,
    PRIMARY KEY (mailbox_id, name)
  ) WITHOUT ROWID;
  INSERT OR IGNORE INTO subscriptions (mailbox_id, name)
    SELECT mailbox_id, name FROM folders WHERE subscribed = 1;
`;

/** Whether a folder row's name is subscribed (see SUBSCRIPTIONS_MIGRATION). */
const SUBSCRIBED = `EXISTS (SELECT 1 FROM subscriptions s
  WHERE s.mailbox_id = folders.mailbox_id AND s.name = folders.name) AS subscribed`;

/** An entry's size: its own copy (every entry has one since migration 7), else its message's. */
const ENTRY_SIZE = "coalesce(e.size, (SELECT m.size FROM messages m WHERE m.id = e.message_id))";

const SQL = {
  folders: `SELECT id, name, uid_validity, uid_next, highest_modseq, ${SUBSCRIBED}, special_use
    FROM folders WHERE mailbox_id = ? ORDER BY name`,
  folder: `SELECT id, name, uid_validity, uid_next, highest_modseq, ${SUBSCRIBED}, special_use
    FROM folders WHERE mailbox_id = ? AND name = ?`,
  folderById: `SELECT id, name, uid_validity, uid_next, highest_modseq, ${SUBSCRIBED}, special_use
    FROM folders WHERE id = ?`,
  /**
   * The last UIDVALIDITY given. Every folder is made by create(), which records its UIDVALIDITY
   * here (and migration 4 wrote the value it gave INBOXes), so no scan of the folders is needed:
   * one would cost each new mailbox a read of every folder.
   */
  lastValidity: `SELECT value AS v FROM counters WHERE name = 'uid_validity'`,
  saveValidity: `UPDATE counters SET value = ? WHERE name = 'uid_validity'`,
  insertFolder: `INSERT INTO folders
    (mailbox_id, name, uid_validity, uid_next, highest_modseq, special_use)
    VALUES (?, ?, ?, 1, 1, ?)`,
  /** Takes N UIDs and one mod-sequence for a change: returns the first UID and the modseq. */
  bump: `UPDATE folders SET uid_next = uid_next + :n, highest_modseq = highest_modseq + 1
    WHERE id = :id RETURNING uid_next - :n AS first_uid, highest_modseq AS modseq`,
  /** Rows as arrays (see {@link Folders.entries}), in this order. */
  entries: `SELECT e.id, e.message_id, e.uid, e.seen, e.flags, e.modseq, e.received_at,
      ${ENTRY_SIZE}
    FROM entries e WHERE e.folder_id = ? ORDER BY e.uid`,
  changedSince: `SELECT e.id AS entry_id, e.message_id AS message_id, e.uid AS uid,
      e.seen AS seen, e.flags AS flags, e.modseq AS modseq, e.received_at AS received_at,
      ${ENTRY_SIZE} AS size
    FROM entries e WHERE e.folder_id = ? AND e.modseq > ? ORDER BY e.uid`,
  expungedSince: `SELECT uid FROM expunged WHERE folder_id = ? AND modseq > ? ORDER BY uid`,
  entryByUid: `SELECT e.id AS entry_id, e.message_id AS message_id, e.uid AS uid, e.seen AS seen,
      e.flags AS flags, e.modseq AS modseq, e.received_at AS received_at, ${ENTRY_SIZE} AS size
    FROM entries e WHERE e.folder_id = ? AND e.uid = ?`,
  setFlags: `UPDATE entries SET seen = ?, flags = ?, modseq = ? WHERE id = ?`,
  insertEntry: `INSERT INTO entries
    (mailbox_id, message_id, received_at, folder_id, uid, seen, flags, modseq, size)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, (SELECT size FROM messages WHERE id = ?2))`,
  deleteEntry: `DELETE FROM entries WHERE id = ?`,
  recordExpunge: `INSERT OR REPLACE INTO expunged (folder_id, uid, modseq) VALUES (?, ?, ?)`,
  status: `SELECT count(*) AS messages,
      coalesce(sum(e.seen = 0), 0) AS unseen,
      coalesce(sum(e.flags IS NOT NULL AND instr(' ' || e.flags || ' ', ' \\Deleted ') > 0), 0)
        AS deleted,
      coalesce(sum(${ENTRY_SIZE}), 0) AS size
    FROM entries e WHERE e.folder_id = ?`,
  highest: `SELECT id, highest_modseq FROM folders WHERE id = ?`,
  rename: `UPDATE folders SET name = ? WHERE id = ?`,
  deleteFolder: `DELETE FROM folders WHERE id = ?`,
  deleteExpunged: `DELETE FROM expunged WHERE folder_id = ?`,
  subscribe: `INSERT OR IGNORE INTO subscriptions (mailbox_id, name) VALUES (?, ?)`,
  unsubscribe: `DELETE FROM subscriptions WHERE mailbox_id = ? AND name = ?`,
  subscriptions: `SELECT name FROM subscriptions WHERE mailbox_id = ? ORDER BY name`,
  keywords: `SELECT DISTINCT flags FROM entries WHERE folder_id = ? AND flags IS NOT NULL`,
  structure: `SELECT structure FROM messages WHERE id = ?`,
  setStructure: `UPDATE messages SET structure = ? WHERE id = ?`,
} as const;

interface RawFolder {
  id: number;
  name: string;
  uid_validity: number;
  uid_next: number;
  highest_modseq: number;
  subscribed: number;
  special_use: string | null;
}

interface RawEntry {
  entry_id: number;
  message_id: number;
  uid: number;
  seen: number;
  flags: string | null;
  modseq: number;
  received_at: number;
  size: number;
}

/** A row of the entries query: id, message id, uid, seen, flags, modseq, received at, size. */
type EntryArray = [number, number, number, number, string | null, number, number, number];

function folderRow(r: RawFolder): FolderRow {
  return {
    id: r.id,
    name: r.name,
    uidValidity: r.uid_validity,
    uidNext: r.uid_next,
    highestModseq: r.highest_modseq,
    subscribed: r.subscribed !== 0,
    specialUse: r.special_use,
  };
}

/** The flags of an entry row: \Seen from its column, the rest from `flags`. */
export function entryFlags(seen: boolean, flags: string | null): string[] {
  const out = seen ? ["\\Seen"] : [];
  if (flags) out.push(...flags.split(" ").filter((f) => f !== ""));
  return out;
}

function entryRow(r: RawEntry): FolderEntry {
  return {
    entryId: r.entry_id,
    messageId: r.message_id,
    uid: r.uid,
    flags: entryFlags(r.seen !== 0, r.flags),
    modseq: r.modseq,
    receivedAt: r.received_at,
    size: r.size,
  };
}

/** Splits flags into the seen column and the rest (stored sorted, without duplicates). */
export function storedFlags(flags: readonly string[]): { seen: boolean; rest: string | null } {
  const seen = flags.some((f) => f.toLowerCase() === "\\seen");
  // System flags first, then keywords, each alphabetically: the order clients are shown.
  const rest = [...new Set(flags.filter((f) => f.toLowerCase() !== "\\seen" && f !== ""))]
    .sort((a, b) => {
      const sa = a.startsWith("\\");
      const sb = b.startsWith("\\");
      if (sa !== sb) return sa ? -1 : 1;
      return a < b ? -1 : a > b ? 1 : 0;
    });
  return { seen, rest: rest.length ? rest.join(" ") : null };
}

/** Folder queries over one connection. Callers own the transactions. */
export class Folders {
  readonly #db: DatabaseSync;
  readonly #s: { [K in keyof typeof SQL]: StatementSync };

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#s = Object.fromEntries(
      Object.entries(SQL).map(([k, v]) => [k, db.prepare(v)]),
    ) as { [K in keyof typeof SQL]: StatementSync };
    // node:sqlite has it at run time; the type declarations at hand lack it.
    (this.#s.entries as unknown as { setReturnArrays(on: boolean): void }).setReturnArrays(true);
  }

  all(mailboxId: number): FolderRow[] {
    return (this.#s.folders.all(mailboxId) as unknown as RawFolder[]).map(folderRow);
  }

  get(mailboxId: number, name: string): FolderRow | undefined {
    const r = this.#s.folder.get(mailboxId, name) as unknown as RawFolder | undefined;
    return r ? folderRow(r) : undefined;
  }

  byId(id: number): FolderRow | undefined {
    const r = this.#s.folderById.get(id) as unknown as RawFolder | undefined;
    return r ? folderRow(r) : undefined;
  }

  /**
   * Creates a folder. Its UIDVALIDITY is the time in seconds, and always above any this store
   * has given, so a folder deleted and made again never repeats one (RFC 9051 §2.3.1.1).
   */
  create(mailboxId: number, name: string, specialUse: string | null, now: number): FolderRow {
    const last = (this.#s.lastValidity.get() as { v: number | null }).v ?? 0;
    const validity = Math.max(Math.floor(now / 1000), last + 1);
    const id = Number(
      this.#s.insertFolder.run(mailboxId, name, validity, specialUse).lastInsertRowid,
    );
    this.#s.saveValidity.run(validity);
    return this.byId(id)!;
  }

  /** Takes COUNT new UIDs and the next mod-sequence of folder ID. */
  take(id: number, count: number): { firstUid: number; modseq: number } {
    const r = this.#s.bump.get({ id, n: count }) as { first_uid: number; modseq: number };
    return { firstUid: r.first_uid, modseq: r.modseq };
  }

  /**
   * Every entry of a folder, by ascending UID. A folder of many messages is read as rows of
   * arrays, and the entries with equal flags share one flag list (a folder has few distinct
   * ones): opening a large folder makes one object per message, not three.
   */
  entries(folderId: number): FolderEntry[] {
    const rows = this.#s.entries.all(folderId) as unknown as EntryArray[];
    const lists = new Map<string | null, string[]>();
    const seenLists = new Map<string | null, string[]>();
    const out = new Array<FolderEntry>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const [entryId, messageId, uid, seen, stored, modseq, receivedAt, size] = rows[i]!;
      const known = seen !== 0 ? seenLists : lists;
      let flags = known.get(stored);
      if (!flags) {
        flags = entryFlags(seen !== 0, stored);
        known.set(stored, flags);
      }
      out[i] = { entryId, messageId, uid, flags, modseq, receivedAt, size };
    }
    return out;
  }

  entry(folderId: number, uid: number): FolderEntry | undefined {
    const r = this.#s.entryByUid.get(folderId, uid) as unknown as RawEntry | undefined;
    return r ? entryRow(r) : undefined;
  }

  changedSince(folderId: number, modseq: number): FolderEntry[] {
    return (this.#s.changedSince.all(folderId, modseq) as unknown as RawEntry[]).map(entryRow);
  }

  expungedSince(folderId: number, modseq: number): number[] {
    return (this.#s.expungedSince.all(folderId, modseq) as { uid: number }[]).map((r) => r.uid);
  }

  setFlags(entryId: number, flags: readonly string[], modseq: number): void {
    const { seen, rest } = storedFlags(flags);
    this.#s.setFlags.run(seen ? 1 : 0, rest, modseq, entryId);
  }

  /** Adds an entry for a stored message to a folder. */
  addEntry(
    mailboxId: number,
    messageId: number,
    receivedAt: number,
    folderId: number,
    uid: number,
    flags: readonly string[],
    modseq: number,
  ): number {
    const { seen, rest } = storedFlags(flags);
    return Number(
      this.#s.insertEntry.run(
        mailboxId,
        messageId,
        receivedAt,
        folderId,
        uid,
        seen ? 1 : 0,
        rest,
        modseq,
      )
        .lastInsertRowid,
    );
  }

  /** Removes an entry and remembers its UID as expunged at MODSEQ. */
  expunge(folderId: number, entryId: number, uid: number, modseq: number): void {
    this.#s.deleteEntry.run(entryId);
    this.#s.recordExpunge.run(folderId, uid, modseq);
  }

  status(folderId: number): { messages: number; unseen: number; deleted: number; size: number } {
    return this.#s.status.get(folderId) as {
      messages: number;
      unseen: number;
      deleted: number;
      size: number;
    };
  }

  highestModseq(folderId: number): number | undefined {
    return (this.#s.highest.get(folderId) as { highest_modseq: number } | undefined)
      ?.highest_modseq;
  }

  rename(id: number, name: string): void {
    this.#s.rename.run(name, id);
  }

  /** Deletes an empty folder row and what it remembered. */
  drop(id: number): void {
    this.#s.deleteExpunged.run(id);
    this.#s.deleteFolder.run(id);
  }

  /** Subscribes NAME or not; a name need not be a folder's (SUBSCRIPTIONS_MIGRATION). */
  subscribe(mailboxId: number, name: string, subscribed: boolean): void {
    (subscribed ? this.#s.subscribe : this.#s.unsubscribe).run(mailboxId, name);
  }

  /** Every name subscribed in the mailbox, folder or not, in order. */
  subscriptions(mailboxId: number): string[] {
    return (this.#s.subscriptions.all(mailboxId) as { name: string }[]).map((r) => r.name);
  }

  /** Keywords in use in the folder. */
  keywords(folderId: number): string[] {
    const set = new Set<string>();
    for (const r of this.#s.keywords.all(folderId) as { flags: string }[]) {
      for (const f of r.flags.split(" ")) if (f && !f.startsWith("\\")) set.add(f);
    }
    return [...set].sort();
  }

  structure(messageId: number): string | undefined {
    return (this.#s.structure.get(messageId) as { structure: string | null } | undefined)
      ?.structure ?? undefined;
  }

  setStructure(messageId: number, json: string): void {
    this.#s.setStructure.run(json, messageId);
  }

  /** The connection, for the caller's transactions. */
  get db(): DatabaseSync {
    return this.#db;
  }
}
