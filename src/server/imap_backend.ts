/**
 * The IMAP session's backend over the SQLite store: logins through the shared
 * {@link Authenticator}, folders through the store's MailFolders role, message structures parsed
 * once and kept, full-text search over decoded text, and change notices for IDLE.
 *
 * Changes reach watchers two ways: at once when this process made them through here, and by a
 * look at the watched folders' highest mod-sequence every {@link POLL_MS} for everything else
 * (SMTP deliveries, `mail inbox` in another process), so a client idling in IMAP hears of new
 * mail within a second of its 250.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { clearInterval, setInterval } from "node:timers";
import {
  type Account,
  type CopyResult,
  type FlagMode,
  type FolderChanges,
  type FolderInfo,
  type FolderStatus,
  type ImapBackend,
  ImapBackendError,
  type MessageMeta,
  type OpenedFolder,
  type SpecialUse,
  type StoreResult,
} from "../imap/backend.ts";
import type { MessageContent } from "../imap/fetch_data.ts";
import { parseStructure, type Part } from "../imap/message_parts.ts";
import { binaryContent } from "../imap/sections.ts";
import { summarize } from "../mime/mod.ts";
import { newQueueId } from "../queue_id.ts";
import { type FolderEntry, type Store, StoreError } from "../store/mod.ts";
import type { Authenticator } from "./authenticator.ts";

/** How often watched folders are looked at for changes made elsewhere. */
export const POLL_MS = 500;

function meta(e: FolderEntry): MessageMeta {
  return {
    uid: e.uid,
    flags: e.flags,
    modseq: e.modseq,
    internalDate: new Date(e.receivedAt),
    size: e.size,
  };
}

/** The store's refusals as the IMAP response codes of RFC 5530. */
function mapped<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof StoreError) {
      if (e.kind === "not-found") throw new ImapBackendError("NONEXISTENT", e.message);
      if (e.kind === "exists") throw new ImapBackendError("ALREADYEXISTS", e.message);
      if (e.kind === "no-mailbox") throw new ImapBackendError("NONEXISTENT", e.message);
    }
    throw e;
  }
}

/** Text of the text parts of a message (decoded transfer encoding and charset), for SEARCH. */
function searchableText(bytes: Uint8Array, root: Part, withHeader: boolean): string {
  const out: string[] = [];
  if (withHeader) out.push(Buffer.from(bytes.subarray(root.headerStart, root.bodyStart)).toString("latin1"));
  const walk = (p: Part, numbers: number[]) => {
    if (p.children) {
      p.children.forEach((c, i) => walk(c, [...numbers, i + 1]));
      return;
    }
    if (p.message) {
      const m = p.message;
      out.push(Buffer.from(bytes.subarray(m.headerStart, m.bodyStart)).toString("latin1"));
      walk(m, numbers);
      return;
    }
    if (p.type !== "text") return;
    let content: Uint8Array;
    try {
      content = binaryContent(bytes, root, numbers.length ? numbers : [1])?.bytes ?? new Uint8Array();
    } catch {
      content = bytes.subarray(p.bodyStart, p.bodyEnd);
    }
    const charset = p.params.find(([k]) => k.toLowerCase() === "charset")?.[1] ?? "utf-8";
    let text: string;
    try {
      text = new TextDecoder(charset).decode(content);
    } catch {
      text = new TextDecoder().decode(content);
    }
    out.push(text);
  };
  walk(root, []);
  return out.join("\n").toLowerCase();
}

/** {@link ImapBackend} over the store. */
export class StoreImapBackend implements ImapBackend {
  readonly #store: Store;
  readonly #auth: Authenticator;
  readonly #watchers = new Map<number, Set<() => void>>();
  readonly #seen = new Map<number, number>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(store: Store, auth: Authenticator) {
    this.#store = store;
    this.#auth = auth;
  }

  async authenticate(user: string, password: string, client: string): Promise<Account | undefined> {
    const outcome = await this.#auth.login(user, password, client, "imap");
    if (outcome.kind === "busy") {
      throw new ImapBackendError("UNAVAILABLE", "Too many logins at once, try again later");
    }
    if (outcome.kind !== "ok") return undefined;
    // Accounts made before folders existed get theirs at their first login.
    this.#store.folders.ensureFolders(outcome.user);
    return { address: outcome.user };
  }

  folders(account: Account): FolderInfo[] {
    return mapped(() =>
      this.#store.folders.folderList(account.address).map((f) => ({
        name: f.name,
        subscribed: f.subscribed,
        ...(f.specialUse ? { specialUse: f.specialUse as SpecialUse } : {}),
      }))
    );
  }

  createFolder(account: Account, name: string, specialUse?: SpecialUse): void {
    mapped(() => this.#store.folders.createFolder(account.address, name, specialUse ?? null));
  }

  deleteFolder(account: Account, name: string): void {
    mapped(() => this.#store.folders.deleteFolder(account.address, name));
  }

  renameFolder(account: Account, from: string, to: string): void {
    mapped(() => this.#store.folders.renameFolder(account.address, from, to));
  }

  subscribe(account: Account, name: string, subscribed: boolean): void {
    mapped(() => this.#store.folders.subscribeFolder(account.address, name, subscribed));
  }

  status(account: Account, name: string): FolderStatus {
    const s = mapped(() => this.#store.folders.folderStatus(account.address, name));
    return {
      uidValidity: s.uidValidity,
      uidNext: s.uidNext,
      messages: s.messages,
      unseen: s.unseen,
      deleted: s.deleted,
      size: s.size,
      highestModseq: s.highestModseq,
    };
  }

  open(account: Account, name: string): OpenedFolder {
    const { folder, entries, keywords } = mapped(() =>
      this.#store.folders.openFolder(account.address, name)
    );
    const list = entries.map(meta);
    return {
      id: folder.id,
      uidValidity: folder.uidValidity,
      uidNext: folder.uidNext,
      highestModseq: folder.highestModseq,
      messages: list.length,
      unseen: list.filter((m) => !m.flags.includes("\\Seen")).length,
      deleted: list.filter((m) => m.flags.includes("\\Deleted")).length,
      size: list.reduce((n, m) => n + m.size, 0),
      list,
      keywords,
    };
  }

  append(
    account: Account,
    name: string,
    message: Uint8Array,
    flags: readonly string[],
    internalDate: Date,
  ): { uidValidity: number; uid: number } {
    const r = mapped(() => {
      try {
        return this.#store.folders.appendMessage(account.address, name, {
          id: newQueueId(),
          sender: account.address,
          chunks: [message],
          size: message.length,
          summary: summarize([message]),
          receivedAt: internalDate.getTime(),
        }, flags);
      } catch (e) {
        // RFC 9051 §6.3.12: APPEND to a folder that does not exist says TRYCREATE.
        if (e instanceof StoreError && e.kind === "not-found") {
          throw new ImapBackendError("TRYCREATE", `No folder ${name}`);
        }
        throw e;
      }
    });
    this.#kickAll();
    return r;
  }

  changes(_account: Account, id: number, modseq: number): FolderChanges {
    const c = mapped(() => this.#store.folders.folderChanges(id, modseq));
    return {
      highestModseq: c.folder.highestModseq,
      uidNext: c.folder.uidNext,
      changed: c.changed.map(meta),
      expunged: c.expunged,
    };
  }

  content(_account: Account, id: number, uid: number): MessageContent | undefined {
    const found = this.#store.folders.folderContent(id, uid);
    if (!found) return undefined;
    let structure: Part | undefined;
    if (found.structure) {
      try {
        structure = JSON.parse(found.structure) as Part;
      } catch {
        structure = undefined;
      }
    }
    if (!structure) {
      // Parsed once, at the first FETCH that needs it, and kept with the message.
      structure = parseStructure(found.bytes);
      this.#store.folders.saveStructure(found.messageId, JSON.stringify(structure));
    }
    return { bytes: found.bytes, structure };
  }

  store(
    _account: Account,
    id: number,
    uids: readonly number[],
    mode: FlagMode,
    flags: readonly string[],
    unchangedSince?: number,
  ): StoreResult {
    const r = this.#store.folders.setFolderFlags(id, uids, mode, flags, unchangedSince);
    this.#kick(id);
    return { updated: r.updated.map(meta), modified: r.modified };
  }

  copy(account: Account, id: number, uids: readonly number[], target: string): CopyResult {
    return this.#copy(account, id, uids, target, false);
  }

  move(account: Account, id: number, uids: readonly number[], target: string): CopyResult {
    return this.#copy(account, id, uids, target, true);
  }

  #copy(account: Account, id: number, uids: readonly number[], target: string, move: boolean): CopyResult {
    let r;
    try {
      r = this.#store.folders.copyMessages(id, uids, account.address, target, move);
    } catch (e) {
      if (e instanceof StoreError && e.kind === "not-found") {
        throw new ImapBackendError("TRYCREATE", `No folder ${target}`);
      }
      throw e;
    }
    this.#kickAll();
    return { uidValidity: r.uidValidity, sourceUids: r.source, targetUids: r.target };
  }

  expunge(_account: Account, id: number, uids: readonly number[]): number[] {
    const r = this.#store.folders.expungeMessages(id, uids);
    this.#kick(id);
    return r;
  }

  searchText(
    account: Account,
    id: number,
    uids: readonly number[],
    terms: readonly { where: "body" | "text"; value: string }[],
  ): number[] {
    const wanted = terms.map((t) => ({ ...t, value: t.value.toLowerCase() }));
    const found: number[] = [];
    for (const uid of uids) {
      const content = this.content(account, id, uid);
      if (!content) continue;
      const body = searchableText(content.bytes, content.structure, false);
      let text: string | undefined;
      const ok = wanted.every((t) => {
        if (t.where === "body") return body.includes(t.value);
        text ??= searchableText(content.bytes, content.structure, true);
        return text.includes(t.value);
      });
      if (ok) found.push(uid);
    }
    return found;
  }

  watch(_account: Account, id: number, listener: () => void): () => void {
    let set = this.#watchers.get(id);
    if (!set) {
      set = new Set();
      this.#watchers.set(id, set);
      this.#seen.set(id, this.#store.folders.folderModseqs([id]).get(id) ?? 0);
    }
    set.add(listener);
    // The sessions keep the process alive, never this timer.
    this.#timer ??= setInterval(() => this.#poll(), POLL_MS).unref();
    return () => {
      set!.delete(listener);
      if (set!.size === 0) {
        this.#watchers.delete(id);
        this.#seen.delete(id);
      }
      if (this.#watchers.size === 0 && this.#timer !== undefined) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    };
  }

  /** Looks at every watched folder's highest mod-sequence; tells the watchers of those moved. */
  #poll(): void {
    let now: Map<number, number>;
    try {
      now = this.#store.folders.folderModseqs([...this.#watchers.keys()]);
    } catch {
      return; // The database is busy or gone for a moment: the next look will see it.
    }
    for (const [id, modseq] of now) {
      if (modseq !== this.#seen.get(id)) {
        this.#seen.set(id, modseq);
        for (const l of this.#watchers.get(id) ?? []) l();
      }
    }
  }

  #kick(id: number): void {
    const modseq = this.#store.folders.folderModseqs([id]).get(id);
    if (modseq !== undefined && this.#seen.has(id)) this.#seen.set(id, modseq);
    for (const l of this.#watchers.get(id) ?? []) l();
  }

  #kickAll(): void {
    this.#poll();
  }
}
