/**
 * An in-memory {@link ImapBackend} for tests: the model backend.ts describes, kept in maps, with
 * a fixed table of users. It behaves as the SQLite store must (RFC 9051 §2.3.1.1, RFC 7162):
 *
 * - every account has {@link DEFAULT_FOLDERS}, subscribed;
 * - each folder has a UIDVALIDITY unique within the backend (so a folder created again under an
 *   old name never repeats one), a UIDNEXT, and strictly ascending UIDs that are never reused;
 * - every operation that changes a folder (an append, a copy into it, a STORE that changes
 *   flags, an expunge, a move out of it) takes the folder's next mod-sequence, one per operation
 *   (RFC 7162 §3.1 lets the messages one command changes share it); a STORE that changes nothing
 *   takes none and wakes nobody;
 * - expunged UIDs are remembered with the mod-sequence of their expunge, for `changes`;
 * - keywords a folder has seen stay in its FLAGS; a message's flags are listed with the system
 *   flags first (in {@link SYSTEM_FLAGS} order) and then keywords in the order the folder first
 *   saw them, keywords compared case-insensitively;
 * - RENAME keeps the folder's id and UIDVALIDITY, moves its children and creates missing
 *   superiors (RFC 9051 §6.3.6); renaming INBOX moves its messages to a new folder and leaves
 *   INBOX (and INBOX's children) where they are;
 * - subscriptions are names: DELETE and RENAME leave them (as Dovecot does), CREATE adds none;
 * - `content` parses a message's structure once and keeps it; with `headerOnly` it hands out
 *   only the header's bytes, so a caller that asks for too little finds out;
 * - `searchText` is case-insensitive substring search over the raw bytes read as UTF-8 (BODY:
 *   the body; TEXT: header and body);
 * - `watch` listeners are called in a microtask after each change to their folder (unless
 *   `notify: false`).
 *
 * With `async: true` every method answers with a promise, as a store that does I/O would; with
 * `async: "late"` the work itself waits for a later turn of the event loop, as a store whose
 * queries run elsewhere (a worker, another process) would: other events can come first.
 *
 * @module
 */
import {
  type Account,
  type CopyResult,
  DEFAULT_FOLDERS,
  DELIMITER,
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
  SYSTEM_FLAGS,
} from "../../src/imap/backend.ts";
import type { MessageContent } from "../../src/imap/fetch_data.ts";
import { canonicalName, validFolderName } from "../../src/imap/folder_names.ts";
import { parseStructure, type Part } from "../../src/imap/message_parts.ts";

type Maybe<T> = T | Promise<T>;

interface StoredMessage {
  readonly uid: number;
  flags: string[];
  modseq: number;
  readonly internalDate: Date;
  readonly bytes: Uint8Array;
  structure?: Part;
}

interface Folder {
  readonly id: number;
  readonly owner: string;
  name: string;
  specialUse: SpecialUse | undefined;
  readonly uidValidity: number;
  uidNext: number;
  highestModseq: number;
  /** By ascending UID. */
  messages: StoredMessage[];
  /** UID → the mod-sequence of its expunge. */
  readonly expunged: Map<number, number>;
  /** Keywords seen in the folder, first-seen order; key: lower-cased. */
  readonly keywords: Map<string, string>;
  /** Deleted: gone by name; by id only `changes`, `content` and `watch` still answer. */
  deleted: boolean;
}

interface AccountData {
  readonly address: string;
  readonly password: string;
  /** Folder name → folder id. */
  readonly folders: Map<string, number>;
  readonly subscriptions: Set<string>;
}

/** Options of {@link MemoryImapBackend}. */
export interface MemoryImapOptions {
  /** Login name (any case) → password. */
  readonly users?: Readonly<Record<string, string>>;
  /** The UIDVALIDITY of the first folder created; each further folder gets the next one. */
  readonly uidValidityStart?: number;
  /** Answer every call with a promise (`late`: done and answered in a later event-loop turn). */
  readonly async?: boolean | "late";
  /**
   * Call `watch` listeners (default true). False: a store that learns of changes late or not
   * at all (another process's writes), so a session must ask `changes` to see them.
   */
  readonly notify?: boolean;
}

/** The users of {@link MemoryImapBackend} unless told otherwise. */
export const MEMORY_USERS: Readonly<Record<string, string>> = { alice: "pw", bob: "pw2" };

const SYSTEM = new Map(SYSTEM_FLAGS.map((f) => [f.toLowerCase(), f as string]));
const utf8 = new TextDecoder();

/** The in-memory store. See the module comment for its rules. */
export class MemoryImapBackend implements ImapBackend {
  readonly #accounts = new Map<string, AccountData>();
  readonly #folders = new Map<number, Folder>();
  readonly #listeners = new Map<number, Set<() => void>>();
  readonly #async: boolean | "late";
  readonly #notify: boolean;
  #nextId = 1;
  #nextUidValidity: number;
  /** Every call made, by method name (tests assert on what the session asked for). */
  readonly calls: string[] = [];

  constructor(options: MemoryImapOptions = {}) {
    this.#async = options.async ?? false;
    this.#notify = options.notify ?? true;
    this.#nextUidValidity = options.uidValidityStart ?? 1000;
    for (const [user, password] of Object.entries(options.users ?? MEMORY_USERS)) {
      const address = user.toLowerCase();
      const data: AccountData = {
        address,
        password,
        folders: new Map(),
        subscriptions: new Set(),
      };
      this.#accounts.set(address, data);
      for (const [name, use] of DEFAULT_FOLDERS) {
        this.#newFolder(data, name, use);
        data.subscriptions.add(name);
      }
    }
  }

  #answer<T>(f: () => T): Maybe<T> {
    if (!this.#async) return f();
    if (this.#async === "late") {
      return new Promise((resolve, reject) =>
        setImmediate(() => {
          try {
            resolve(f());
          } catch (e) {
            reject(e);
          }
        })
      );
    }
    try {
      return Promise.resolve(f());
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #account(account: Account): AccountData {
    const data = this.#accounts.get(account.address);
    if (!data) throw new Error(`No such account: ${account.address}`);
    return data;
  }

  #newFolder(data: AccountData, name: string, use: SpecialUse | undefined): Folder {
    const folder: Folder = {
      id: this.#nextId++,
      owner: data.address,
      name,
      specialUse: use,
      uidValidity: this.#nextUidValidity++,
      uidNext: 1,
      highestModseq: 1,
      messages: [],
      expunged: new Map(),
      keywords: new Map(),
      deleted: false,
    };
    this.#folders.set(folder.id, folder);
    data.folders.set(name, folder.id);
    return folder;
  }

  #byName(data: AccountData, name: string, code = "NONEXISTENT"): Folder {
    const id = data.folders.get(canonicalName(name, DELIMITER));
    if (id === undefined) throw new ImapBackendError(code, `No such folder: ${name}`);
    return this.#folders.get(id)!;
  }

  #byId(data: AccountData, id: number, deletedToo = false): Folder {
    const folder = this.#folders.get(id);
    if (!folder || folder.owner !== data.address || (folder.deleted && !deletedToo)) {
      throw new ImapBackendError("NONEXISTENT", "No such folder");
    }
    return folder;
  }

  /** Tells the folder's watchers, after the current task step. */
  #changed(folder: Folder): void {
    const listeners = this.#listeners.get(folder.id);
    if (!this.#notify || !listeners || listeners.size === 0) return;
    queueMicrotask(() => {
      for (const l of [...listeners]) if (listeners.has(l)) l();
    });
  }

  /** Flags as stored: system flags canonical and first, keywords in the folder's order. */
  #normalise(folder: Folder, flags: Iterable<string>): string[] {
    const system = new Set<string>();
    const keywords = new Set<string>();
    for (const f of flags) {
      const lower = f.toLowerCase();
      const sys = SYSTEM.get(lower);
      if (sys) system.add(sys);
      else if (f.startsWith("\\")) continue; // \Recent and unknown system flags are not kept
      else {
        if (!folder.keywords.has(lower)) folder.keywords.set(lower, f);
        keywords.add(lower);
      }
    }
    const out: string[] = SYSTEM_FLAGS.filter((f) => system.has(f));
    for (const [lower, k] of folder.keywords) if (keywords.has(lower)) out.push(k);
    return out;
  }

  #meta(m: StoredMessage): MessageMeta {
    return {
      uid: m.uid,
      flags: [...m.flags],
      modseq: m.modseq,
      internalDate: m.internalDate,
      size: m.bytes.length,
    };
  }

  #status(folder: Folder): FolderStatus {
    let unseen = 0;
    let deleted = 0;
    let size = 0;
    for (const m of folder.messages) {
      if (!m.flags.includes("\\Seen")) unseen++;
      if (m.flags.includes("\\Deleted")) deleted++;
      size += m.bytes.length;
    }
    return {
      uidValidity: folder.uidValidity,
      uidNext: folder.uidNext,
      messages: folder.messages.length,
      unseen,
      deleted,
      size,
      highestModseq: folder.highestModseq,
    };
  }

  /** Adds messages to FOLDER under one new mod-sequence; returns their UIDs. */
  #add(
    folder: Folder,
    items: readonly {
      bytes: Uint8Array;
      flags: readonly string[];
      date: Date;
      structure?: Part | undefined;
    }[],
  ): number[] {
    if (items.length === 0) return [];
    const modseq = ++folder.highestModseq;
    const uids: number[] = [];
    for (const item of items) {
      const uid = folder.uidNext++;
      const message: StoredMessage = {
        uid,
        flags: this.#normalise(folder, item.flags),
        modseq,
        internalDate: item.date,
        bytes: item.bytes,
      };
      if (item.structure) message.structure = item.structure;
      folder.messages.push(message);
      uids.push(uid);
    }
    this.#changed(folder);
    return uids;
  }

  /** Removes the messages with UIDS from FOLDER under one new mod-sequence. */
  #remove(folder: Folder, uids: ReadonlySet<number>): number[] {
    const gone = folder.messages.filter((m) => uids.has(m.uid)).map((m) => m.uid);
    if (gone.length === 0) return [];
    const modseq = ++folder.highestModseq;
    folder.messages = folder.messages.filter((m) => !uids.has(m.uid));
    for (const uid of gone) folder.expunged.set(uid, modseq);
    this.#changed(folder);
    return gone;
  }

  #pick(folder: Folder, uids: readonly number[]): StoredMessage[] {
    const wanted = new Set(uids);
    return folder.messages.filter((m) => wanted.has(m.uid));
  }

  // --- ImapBackend ------------------------------------------------------------------------

  authenticate(user: string, password: string, _client: string): Maybe<Account | undefined> {
    this.calls.push("authenticate");
    return this.#answer(() => {
      const data = this.#accounts.get(user.toLowerCase());
      if (!data || data.password !== password) return undefined;
      return { address: data.address };
    });
  }

  folders(account: Account): Maybe<readonly FolderInfo[]> {
    this.calls.push("folders");
    return this.#answer(() => {
      const data = this.#account(account);
      const out: FolderInfo[] = [];
      for (const [name, id] of data.folders) {
        const f = this.#folders.get(id)!;
        out.push({
          name,
          subscribed: data.subscriptions.has(name),
          ...(f.specialUse ? { specialUse: f.specialUse } : {}),
        });
      }
      return out.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    });
  }

  createFolder(account: Account, name: string, specialUse?: SpecialUse): Maybe<void> {
    this.calls.push("createFolder");
    return this.#answer(() => {
      const data = this.#account(account);
      const canonical = canonicalName(name, DELIMITER);
      if (data.folders.has(canonical)) {
        throw new ImapBackendError("ALREADYEXISTS", `Folder exists already: ${name}`);
      }
      if (!validFolderName(canonical, DELIMITER)) {
        throw new ImapBackendError("CANNOT", `Invalid folder name: ${name}`);
      }
      this.#newFolder(data, canonical, specialUse);
    });
  }

  deleteFolder(account: Account, name: string): Maybe<void> {
    this.calls.push("deleteFolder");
    return this.#answer(() => {
      const data = this.#account(account);
      const folder = this.#byName(data, name);
      if (folder.name === "INBOX") throw new ImapBackendError("CANNOT", "INBOX cannot be deleted");
      // Its messages are expunged with it: sessions that have it selected are told.
      this.#remove(folder, new Set(folder.messages.map((m) => m.uid)));
      data.folders.delete(folder.name);
      folder.deleted = true;
    });
  }

  renameFolder(account: Account, from: string, to: string): Maybe<void> {
    this.calls.push("renameFolder");
    return this.#answer(() => {
      const data = this.#account(account);
      const source = this.#byName(data, from);
      const target = canonicalName(to, DELIMITER);
      if (!validFolderName(target, DELIMITER) || target === "INBOX") {
        throw new ImapBackendError("CANNOT", `Invalid folder name: ${to}`);
      }
      if (data.folders.has(target)) {
        throw new ImapBackendError("ALREADYEXISTS", `Folder exists already: ${to}`);
      }
      if (target.startsWith(source.name + DELIMITER)) {
        throw new ImapBackendError("CANNOT", "A folder cannot move into itself");
      }
      this.#createSuperiors(data, target);
      if (source.name === "INBOX") {
        // RFC 9051 §6.3.6: INBOX's messages move to the new folder; INBOX and its children stay.
        const moved = this.#newFolder(data, target, undefined);
        this.#add(
          moved,
          source.messages.map((m) => ({
            bytes: m.bytes,
            flags: m.flags,
            date: m.internalDate,
            structure: m.structure,
          })),
        );
        this.#remove(source, new Set(source.messages.map((m) => m.uid)));
        return;
      }
      const prefix = source.name + DELIMITER;
      const renames: [string, string][] = [[source.name, target]];
      for (const name of data.folders.keys()) {
        if (name.startsWith(prefix)) renames.push([name, target + name.slice(source.name.length)]);
      }
      for (const [, newName] of renames.slice(1)) {
        if (data.folders.has(newName)) {
          throw new ImapBackendError("ALREADYEXISTS", `Folder exists already: ${newName}`);
        }
      }
      const ids = renames.map(([old]) => data.folders.get(old)!);
      for (const [old] of renames) data.folders.delete(old);
      renames.forEach(([, newName], i) => {
        const folder = this.#folders.get(ids[i]!)!;
        folder.name = newName;
        data.folders.set(newName, folder.id);
      });
    });
  }

  /** RFC 9051 §6.3.6: superiors a RENAME needs are created. */
  #createSuperiors(data: AccountData, name: string): void {
    const levels = name.split(DELIMITER);
    for (let i = 1; i < levels.length; i++) {
      const parent = levels.slice(0, i).join(DELIMITER);
      if (!data.folders.has(parent)) this.#newFolder(data, parent, undefined);
    }
  }

  subscribe(account: Account, name: string, subscribed: boolean): Maybe<void> {
    this.calls.push("subscribe");
    return this.#answer(() => {
      const data = this.#account(account);
      const canonical = canonicalName(name, DELIMITER);
      if (subscribed) data.subscriptions.add(canonical);
      else data.subscriptions.delete(canonical);
    });
  }

  subscriptions(account: Account): Maybe<readonly string[]> {
    this.calls.push("subscriptions");
    return this.#answer(() => [...this.#account(account).subscriptions].sort());
  }

  status(account: Account, name: string): Maybe<FolderStatus> {
    this.calls.push("status");
    return this.#answer(() => this.#status(this.#byName(this.#account(account), name)));
  }

  open(account: Account, name: string): Maybe<OpenedFolder> {
    this.calls.push("open");
    return this.#answer(() => {
      const folder = this.#byName(this.#account(account), name);
      return {
        ...this.#status(folder),
        id: folder.id,
        list: folder.messages.map((m) => this.#meta(m)),
        keywords: [...folder.keywords.values()],
      };
    });
  }

  append(
    account: Account,
    name: string,
    message: Uint8Array,
    flags: readonly string[],
    internalDate: Date,
  ): Maybe<{ readonly uidValidity: number; readonly uid: number }> {
    this.calls.push("append");
    return this.#answer(() => {
      const folder = this.#byName(this.#account(account), name, "TRYCREATE");
      // The caller's buffer may be reused: keep a copy, as a store writing to disk would.
      const [uid] = this.#add(folder, [{ bytes: message.slice(), flags, date: internalDate }]);
      return { uidValidity: folder.uidValidity, uid: uid! };
    });
  }

  changes(account: Account, id: number, modseq: number): Maybe<FolderChanges> {
    this.calls.push("changes");
    return this.#answer(() => {
      const folder = this.#byId(this.#account(account), id, true);
      const expunged = [...folder.expunged].filter(([, m]) => m > modseq).map(([uid]) => uid)
        .sort((a, b) => a - b);
      const answer = {
        highestModseq: folder.highestModseq,
        uidNext: folder.uidNext,
        changed: folder.messages.filter((m) => m.modseq > modseq).map((m) => this.#meta(m)),
        expunged,
      };
      const hook = this.#afterChanges.shift();
      hook?.();
      return answer;
    });
  }

  readonly #afterChanges: (() => void)[] = [];

  /**
   * Runs F once, right after the store has answered the next `changes` call and before the
   * caller sees the answer: a change that lands while a session is applying what it was told.
   */
  afterNextChanges(f: () => void): void {
    this.#afterChanges.push(f);
  }

  content(
    account: Account,
    id: number,
    uid: number,
    headerOnly: boolean,
  ): Maybe<MessageContent | undefined> {
    this.calls.push(headerOnly ? "content(header)" : "content");
    return this.#answer(() => {
      const folder = this.#byId(this.#account(account), id, true);
      const m = folder.messages.find((x) => x.uid === uid);
      if (!m) return undefined;
      m.structure ??= parseStructure(m.bytes);
      const bytes = headerOnly ? m.bytes.subarray(0, m.structure.bodyStart) : m.bytes;
      return { bytes, structure: m.structure };
    });
  }

  store(
    account: Account,
    id: number,
    uids: readonly number[],
    mode: FlagMode,
    flags: readonly string[],
    unchangedSince?: number,
  ): Maybe<StoreResult> {
    this.calls.push("store");
    return this.#answer(() =>
      this.#store(this.#byId(this.#account(account), id), uids, mode, flags, unchangedSince)
    );
  }

  #store(
    folder: Folder,
    uids: readonly number[],
    mode: FlagMode,
    flags: readonly string[],
    unchangedSince?: number,
  ): StoreResult {
    const given = this.#normalise(folder, flags);
    const givenLower = new Set(given.map((f) => f.toLowerCase()));
    const modified: number[] = [];
    const changes: [StoredMessage, string[]][] = [];
    const matched: StoredMessage[] = [];
    for (const m of this.#pick(folder, uids)) {
      // RFC 7162 §3.1.3: a message changed after UNCHANGEDSINCE is left alone and reported.
      if (unchangedSince !== undefined && m.modseq > unchangedSince) {
        modified.push(m.uid);
        continue;
      }
      const next = mode === "replace"
        ? given
        : mode === "add"
        ? this.#normalise(folder, [...m.flags, ...given])
        : m.flags.filter((f) => !givenLower.has(f.toLowerCase()));
      if (sameFlags(next, m.flags)) matched.push(m);
      else changes.push([m, next]);
    }
    if (changes.length > 0) {
      const modseq = ++folder.highestModseq;
      for (const [m, next] of changes) {
        m.flags = next;
        m.modseq = modseq;
      }
      this.#changed(folder);
    }
    const updated = [...matched, ...changes.map(([m]) => m)].sort((a, b) => a.uid - b.uid);
    return { updated: updated.map((m) => this.#meta(m)), modified };
  }

  copy(account: Account, id: number, uids: readonly number[], target: string): Maybe<CopyResult> {
    this.calls.push("copy");
    return this.#answer(() => this.#copy(account, id, uids, target, false));
  }

  move(account: Account, id: number, uids: readonly number[], target: string): Maybe<CopyResult> {
    this.calls.push("move");
    return this.#answer(() => this.#copy(account, id, uids, target, true));
  }

  #copy(
    account: Account,
    id: number,
    uids: readonly number[],
    target: string,
    move: boolean,
  ): CopyResult {
    const data = this.#account(account);
    const source = this.#byId(data, id);
    const to = this.#byName(data, target, "TRYCREATE");
    const picked = this.#pick(source, uids);
    const targetUids = this.#add(
      to,
      picked.map((m) => ({
        bytes: m.bytes,
        flags: m.flags,
        date: m.internalDate,
        structure: m.structure,
      })),
    );
    const sourceUids = picked.map((m) => m.uid);
    if (move) this.#remove(source, new Set(sourceUids));
    return { uidValidity: to.uidValidity, sourceUids, targetUids };
  }

  expunge(account: Account, id: number, uids: readonly number[]): Maybe<readonly number[]> {
    this.calls.push("expunge");
    return this.#answer(() => {
      const folder = this.#byId(this.#account(account), id);
      const deleted = this.#pick(folder, uids).filter((m) => m.flags.includes("\\Deleted"));
      return this.#remove(folder, new Set(deleted.map((m) => m.uid)));
    });
  }

  searchText(
    account: Account,
    id: number,
    uids: readonly number[],
    terms: readonly { readonly where: "body" | "text"; readonly value: string }[],
  ): Maybe<readonly number[]> {
    this.calls.push("searchText");
    return this.#answer(() => {
      const folder = this.#byId(this.#account(account), id);
      const out: number[] = [];
      for (const m of this.#pick(folder, uids)) {
        m.structure ??= parseStructure(m.bytes);
        const whole = utf8.decode(m.bytes).toLowerCase();
        const body = utf8.decode(m.bytes.subarray(m.structure.bodyStart)).toLowerCase();
        const hit = terms.every((t) =>
          (t.where === "body" ? body : whole).includes(t.value.toLowerCase())
        );
        if (hit) out.push(m.uid);
      }
      return out;
    });
  }

  watch(account: Account, id: number, listener: () => void): () => void {
    this.calls.push("watch");
    this.#byId(this.#account(account), id, true);
    let set = this.#listeners.get(id);
    if (!set) this.#listeners.set(id, set = new Set());
    // A listener passed twice is two watchers: wrap it so each stop removes its own.
    const own = () => listener();
    set.add(own);
    return () => {
      set.delete(own);
    };
  }

  // --- For tests --------------------------------------------------------------------------

  /** A delivery from outside any session (SMTP, another process): appends to NAME. */
  deliver(
    user: string,
    name: string,
    message: string | Uint8Array,
    flags: readonly string[] = [],
    internalDate = new Date(Date.UTC(2026, 0, 2, 3, 4, 5)),
  ): { uidValidity: number; uid: number } {
    const bytes = typeof message === "string" ? new TextEncoder().encode(message) : message;
    const folder = this.#byName(this.#accountOf(user), name, "TRYCREATE");
    const [uid] = this.#add(folder, [{ bytes: bytes.slice(), flags, date: internalDate }]);
    return { uidValidity: folder.uidValidity, uid: uid! };
  }

  /** Changes flags from outside the session under test (another session, `mail inbox`). */
  setFlags(
    user: string,
    name: string,
    uids: readonly number[],
    mode: FlagMode,
    flags: readonly string[],
  ): void {
    this.#store(this.#byName(this.#accountOf(user), name), uids, mode, flags);
  }

  /** Removes messages from outside the session under test (`mail inbox --delete`). */
  remove(user: string, name: string, uids: readonly number[]): void {
    const folder = this.#byName(this.#accountOf(user), name);
    this.#remove(folder, new Set(uids));
  }

  /** The folder's id, for calls that take one. */
  folderId(user: string, name: string): number {
    return this.#byName(this.#accountOf(user), name).id;
  }

  /** How many listeners watch folder ID (0 once every session stopped). */
  watchers(id: number): number {
    return this.#listeners.get(id)?.size ?? 0;
  }

  #accountOf(user: string): AccountData {
    const data = this.#accounts.get(user.toLowerCase());
    if (!data) throw new Error(`No such user: ${user}`);
    return data;
  }
}

function sameFlags(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a.map((f) => f.toLowerCase()));
  return b.every((f) => set.has(f.toLowerCase()));
}
