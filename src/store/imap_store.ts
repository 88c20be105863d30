/**
 * The folders of an account's mailbox as IMAP sees them (the MailFolders role): listing,
 * creating, renaming and deleting folders, opening one, what changed in it since a
 * mod-sequence, flags, APPEND, COPY, MOVE and EXPUNGE, each in one transaction. The rules of
 * UIDs and mod-sequences are in ./folders.ts.
 *
 * @module
 */
import type { StatementSync } from "node:sqlite";
import type { Connection } from "./connection.ts";
import { StoreError } from "./errors.ts";
import type { Folders } from "./folders.ts";
import { type DerivedData, HeaderCache, saveDerived } from "./derived.ts";
import { indexable, type IndexAnswer, TextIndex, type TextWhere } from "./fts.ts";
import {
  collectMessage,
  type ContentRow,
  insertMessage,
  messageContent,
  messageRange,
} from "./messages.ts";
import type {
  FolderChangeRows,
  FolderEntry,
  FolderRow,
  FolderStatusRow,
  MailFolders,
  NewMessage,
  UnindexedMessage,
} from "./types.ts";

/** The folders every account has, with their special use (RFC 6154). */
export const DEFAULT_FOLDERS: readonly (readonly [string, string | null])[] = [
  ["INBOX", null],
  ["Sent", "\\Sent"],
  ["Drafts", "\\Drafts"],
  ["Trash", "\\Trash"],
  ["Junk", "\\Junk"],
  ["Archive", "\\Archive"],
];

function hasDeleted(e: FolderEntry): boolean {
  return e.flags.includes("\\Deleted");
}

/** The MailFolders role over one connection. */
export class SqliteFolders implements MailFolders {
  readonly #conn: Connection;
  readonly #f: Folders;
  readonly #text: TextIndex;
  readonly #headers: HeaderCache;
  /** The connection's synchronous mode, and NORMAL for the commits of caches. */
  readonly #syncMode: StatementSync;
  readonly #unsynced: StatementSync;

  constructor(conn: Connection) {
    this.#conn = conn;
    this.#f = conn.folders;
    this.#text = new TextIndex(conn.folders.db);
    this.#headers = new HeaderCache(conn.folders.db);
    this.#syncMode = conn.folders.db.prepare("PRAGMA synchronous");
    this.#unsynced = conn.folders.db.prepare("PRAGMA synchronous = NORMAL");
  }

  #mailbox(address: string): number {
    const row = this.#conn.stmt.mailboxId.get(address) as { id: number } | undefined;
    if (!row) throw new StoreError("no-mailbox", `No mailbox for ${address}`);
    return row.id;
  }

  #folder(address: string, name: string): FolderRow {
    const f = this.#f.get(this.#mailbox(address), name);
    if (!f) throw new StoreError("not-found", `No folder ${name}`);
    return f;
  }

  ensureFolders(address: string): void {
    // Asked at every login: a read when they are all there, as they nearly always are.
    const present = this.#conn.run(() => {
      const row = this.#conn.stmt.mailboxId.get(address) as { id: number } | undefined;
      return row !== undefined && DEFAULT_FOLDERS.every(([name]) => this.#f.get(row.id, name));
    }, true);
    if (present) return;
    this.#conn.write(() => {
      let row = this.#conn.stmt.mailboxId.get(address) as { id: number } | undefined;
      const now = Date.now();
      if (!row) {
        row = { id: Number(this.#conn.stmt.insertMailbox.run(address, now).lastInsertRowid) };
      }
      for (const [name, use] of DEFAULT_FOLDERS) {
        if (this.#f.get(row.id, name)) continue;
        // The default folders are made subscribed (a folder a client CREATEs is not).
        this.#f.create(row.id, name, use, now);
        this.#f.subscribe(row.id, name, true);
      }
    });
  }

  folderList(address: string): FolderRow[] {
    return this.#conn.run(() => this.#f.all(this.#mailbox(address)));
  }

  createFolder(address: string, name: string, specialUse: string | null): void {
    this.#conn.write(() => {
      const mb = this.#mailbox(address);
      if (this.#f.get(mb, name)) throw new StoreError("exists", `Folder ${name} exists`);
      this.#f.create(mb, name, specialUse, Date.now());
    });
  }

  deleteFolder(address: string, name: string): void {
    this.#conn.write(() => {
      const folder = this.#folder(address, name);
      const gone = this.#f.entries(folder.id);
      for (const e of gone) {
        this.#conn.stmt.deleteEntryById.run(e.entryId);
        collectMessage(this.#conn, e.messageId);
      }
      this.#f.drop(folder.id);
    });
  }

  renameFolder(address: string, from: string, to: string): void {
    this.#conn.write(() => {
      const mb = this.#mailbox(address);
      const source = this.#f.get(mb, from);
      if (!source) throw new StoreError("not-found", `No folder ${from}`);
      if (this.#f.get(mb, to)) throw new StoreError("exists", `Folder ${to} exists`);
      if (from === "INBOX") {
        // RFC 9051 §6.3.6: INBOX's messages go to the new folder; INBOX stays, empty.
        const target = this.#f.create(mb, to, null, Date.now());
        const entries = this.#f.entries(source.id);
        if (entries.length === 0) return;
        const { firstUid, modseq } = this.#f.take(target.id, entries.length);
        const gone = this.#f.take(source.id, 0).modseq;
        entries.forEach((e, i) => {
          this.#f.addEntry(mb, e.messageId, e.receivedAt, target.id, firstUid + i, e.flags, modseq);
          this.#f.expunge(source.id, e.entryId, e.uid, gone);
        });
        return;
      }
      // The folder and its children keep their UIDs; only their names change.
      for (const f of this.#f.all(mb)) {
        if (f.name === from || f.name.startsWith(from + "/")) {
          const renamed = to + f.name.slice(from.length);
          if (this.#f.get(mb, renamed)) throw new StoreError("exists", `Folder ${renamed} exists`);
          this.#f.rename(f.id, renamed);
        }
      }
    });
  }

  subscribeFolder(address: string, name: string, subscribed: boolean): void {
    this.#conn.write(() => this.#f.subscribe(this.#mailbox(address), name, subscribed));
  }

  subscriptions(address: string): string[] {
    return this.#conn.run(() => this.#f.subscriptions(this.#mailbox(address)));
  }

  folderStatus(address: string, name: string): FolderStatusRow {
    return this.#conn.run(() => {
      const folder = this.#folder(address, name);
      return { ...folder, ...this.#f.status(folder.id) };
    }, true);
  }

  openFolder(address: string, name: string) {
    return this.#conn.run(() => {
      const folder = this.#folder(address, name);
      return { folder, entries: this.#f.entries(folder.id), keywords: this.#f.keywords(folder.id) };
    }, true);
  }

  appendMessage(
    address: string,
    name: string,
    message: Omit<NewMessage, "recipients" | "relay" | "createMailboxes">,
    flags: readonly string[],
  ): { uidValidity: number; uid: number } {
    return this.#conn.write(() => {
      const folder = this.#folder(address, name);
      const uid = insertMessage(this.#conn, {
        ...message,
        recipients: [address],
        createMailboxes: false,
      }, { folderId: folder.id, flags });
      return { uidValidity: folder.uidValidity, uid: uid! };
    });
  }

  folderChanges(folderId: number, modseq: number): FolderChangeRows {
    return this.#conn.run(() => {
      const folder = this.#f.byId(folderId);
      if (!folder) throw new StoreError("not-found", "The folder is gone");
      return {
        folder,
        changed: this.#f.changedSince(folderId, modseq),
        expunged: this.#f.expungedSince(folderId, modseq),
      };
    }, true);
  }

  folderContent(folderId: number, uid: number) {
    return this.#conn.run(() => {
      const e = this.#f.entry(folderId, uid);
      if (!e) return undefined;
      const row = this.#conn.stmt.messageContent.get(e.messageId) as
        | { size: number; body: Uint8Array | null }
        | undefined;
      if (!row) return undefined;
      return {
        bytes: messageContent(this.#conn, e.messageId, row),
        structure: this.#f.structure(e.messageId),
        messageId: e.messageId,
      };
    }, true);
  }

  folderMessage(folderId: number, uid: number, wholeUpTo: number) {
    return this.#conn.run(() => {
      const e = this.#f.entry(folderId, uid);
      if (!e) return undefined;
      let bytes: Uint8Array | undefined;
      if (e.size <= wholeUpTo) {
        const row = this.#conn.stmt.messageContent.get(e.messageId) as ContentRow | undefined;
        if (!row) return undefined;
        bytes = messageContent(this.#conn, e.messageId, row);
      }
      return {
        messageId: e.messageId,
        size: e.size,
        structure: this.#f.structure(e.messageId),
        bytes,
      };
    }, true);
  }

  messageRange(messageId: number, start: number, end: number) {
    return this.#conn.run(() => messageRange(this.#conn, messageId, start, end), true);
  }

  folderHeader(folderId: number, uid: number) {
    return this.#conn.run(() => this.#headers.get(folderId, uid));
  }

  folderHeaders(folderId: number, uid: number, limit: number) {
    return this.#conn.run(() => this.#headers.range(folderId, uid, limit));
  }

  folderEnvelopes(folderId: number, uid: number, limit: number, version: number) {
    return this.#conn.run(() => this.#headers.envelopes(folderId, uid, limit, version));
  }

  folderBodies(folderId: number, from: number, to: number, maxSize: number) {
    return this.#conn.run(() => this.#headers.bodies(folderId, from, to, maxSize));
  }

  saveDerived(derived: DerivedData): void {
    // A cache: written in a transaction of its own, and harmless to lose, so its commit does
    // not wait for the disk (synchronous is read at each commit: NORMAL in WAL mode keeps the
    // database consistent and only lets a power loss take the latest commits, which the next
    // sync of the log by a durable commit or a checkpoint makes safe;
    // https://www.sqlite.org/pragma.html#pragma_synchronous).
    const mode = (this.#syncMode.get() as { synchronous: number }).synchronous;
    if (mode > 1) this.#unsynced.run();
    try {
      this.#conn.write(() => saveDerived(derived, this.#f, this.#headers, this.#text));
    } finally {
      if (mode > 1) this.#conn.folders.db.exec(`PRAGMA synchronous = ${mode}`);
    }
  }

  setFolderFlags(
    folderId: number,
    uids: readonly number[],
    mode: "replace" | "add" | "remove",
    flags: readonly string[],
    unchangedSince?: number,
  ) {
    return this.#conn.write(() => {
      const updated: FolderEntry[] = [];
      const modified: number[] = [];
      const pending: [FolderEntry, string[]][] = [];
      for (const uid of uids) {
        const e = this.#f.entry(folderId, uid);
        if (!e) continue;
        if (unchangedSince !== undefined && e.modseq > unchangedSince) {
          modified.push(uid);
          continue;
        }
        const lower = new Set(flags.map((f) => f.toLowerCase()));
        let next: string[];
        if (mode === "replace") next = [...flags];
        else if (mode === "add") {
          next = [
            ...e.flags,
            ...flags.filter((f) => !e.flags.some((g) => g.toLowerCase() === f.toLowerCase())),
          ];
        } else next = e.flags.filter((f) => !lower.has(f.toLowerCase()));
        const same = next.length === e.flags.length &&
          next.every((f) => e.flags.some((g) => g.toLowerCase() === f.toLowerCase()));
        // An unchanged message keeps its modseq, and is reported as it is (RFC 7162 §3.1.3).
        if (same) updated.push(e);
        else pending.push([e, next]);
      }
      if (pending.length > 0) {
        const { modseq } = this.#f.take(folderId, 0);
        for (const [e, next] of pending) {
          this.#f.setFlags(e.entryId, next, modseq);
          updated.push(this.#f.entry(folderId, e.uid)!);
        }
      }
      updated.sort((a, b) => a.uid - b.uid);
      return { updated, modified };
    });
  }

  copyMessages(
    folderId: number,
    uids: readonly number[],
    address: string,
    target: string,
    move: boolean,
  ) {
    return this.#conn.write(() => {
      const mb = this.#mailbox(address);
      const dest = this.#f.get(mb, target);
      if (!dest) throw new StoreError("not-found", `No folder ${target}`);
      const entries = uids.map((u) => this.#f.entry(folderId, u)).filter((e): e is FolderEntry =>
        !!e
      );
      if (entries.length === 0) return { uidValidity: dest.uidValidity, source: [], target: [] };
      const { firstUid, modseq } = this.#f.take(dest.id, entries.length);
      const gone = move ? this.#f.take(folderId, 0).modseq : 0;
      entries.forEach((e, i) => {
        this.#f.addEntry(mb, e.messageId, e.receivedAt, dest.id, firstUid + i, e.flags, modseq);
        if (move) this.#f.expunge(folderId, e.entryId, e.uid, gone);
      });
      return {
        uidValidity: dest.uidValidity,
        source: entries.map((e) => e.uid),
        target: entries.map((_, i) => firstUid + i),
      };
    });
  }

  applyDownload(folderId: number, seen: readonly number[], expunge: readonly number[]): void {
    this.#conn.write(() => {
      const gone = new Set(expunge);
      const marked = seen.filter((u) => !gone.has(u))
        .map((u) => this.#f.entry(folderId, u))
        .filter((e): e is FolderEntry => !!e && !e.flags.includes("\\Seen"));
      const doomed = expunge.map((u) => this.#f.entry(folderId, u))
        .filter((e): e is FolderEntry => !!e);
      if (marked.length === 0 && doomed.length === 0) return;
      const { modseq } = this.#f.take(folderId, 0);
      for (const e of marked) this.#f.setFlags(e.entryId, ["\\Seen", ...e.flags], modseq);
      for (const e of doomed) {
        this.#f.expunge(folderId, e.entryId, e.uid, modseq);
        collectMessage(this.#conn, e.messageId);
      }
    });
  }

  expungeMessages(folderId: number, uids: readonly number[]): number[] {
    return this.#conn.write(() => {
      const doomed = uids.map((u) => this.#f.entry(folderId, u)).filter((e): e is FolderEntry =>
        !!e && hasDeleted(e)
      );
      if (doomed.length === 0) return [];
      const { modseq } = this.#f.take(folderId, 0);
      for (const e of doomed) {
        this.#f.expunge(folderId, e.entryId, e.uid, modseq);
        collectMessage(this.#conn, e.messageId);
      }
      return doomed.map((e) => e.uid);
    });
  }

  unindexedMessages(folderId: number, after: number, limit: number, maxBytes: number) {
    return this.#conn.run(() => {
      const out: UnindexedMessage[] = [];
      let bytes = 0;
      for (const { uid, id } of this.#text.unindexed(folderId, after, limit)) {
        if (out.length > 0 && bytes >= maxBytes) break;
        const row = this.#conn.stmt.messageContent.get(id) as ContentRow | undefined;
        if (!row) continue;
        const content = messageContent(this.#conn, id, row);
        bytes += content.length;
        out.push({ uid, messageId: id, bytes: content, structure: this.#f.structure(id) });
      }
      return out;
    }, true);
  }

  searchIndexedText(
    folderId: number,
    where: TextWhere,
    term: string,
  ): IndexAnswer | undefined {
    if (!indexable(term, where)) return undefined;
    return this.#conn.run(() => this.#text.search(folderId, where, term));
  }

  folderModseqs(ids: readonly number[]): Map<number, number> {
    return this.#conn.run(() => {
      const out = new Map<number, number>();
      for (const id of ids) {
        const m = this.#f.highestModseq(id);
        if (m !== undefined) out.set(id, m);
      }
      return out;
    });
  }
}
