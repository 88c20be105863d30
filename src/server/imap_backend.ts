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
import { clearInterval, clearTimeout, setImmediate, setInterval, setTimeout } from "node:timers";
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
import { encodeEnvelopeOf, ENVELOPE_VERSION } from "../imap/envelope.ts";
import { emptyPart, headerEnd, parseStructure, type Part } from "../imap/message_parts.ts";
import { summarize } from "../mime/mod.ts";
import { newQueueId } from "../queue_id.ts";
import {
  type DerivedData,
  type EnvelopeRow,
  type FolderEntry,
  type FolderRow,
  type KeptEnvelope,
  type MessageText,
  type Store,
  StoreError,
  type UnindexedMessage,
} from "../store/mod.ts";
import type { Authenticator } from "./authenticator.ts";
import { StoredMessage } from "./stored_message.ts";
import { type SearchableText, searchableText, textHas } from "./message_text.ts";
import { EnvelopeMemory } from "./envelope_memory.ts";

/** How often watched folders are looked at for changes made elsewhere. */
export const POLL_MS = 500;

/**
 * Messages up to this size are read whole with their row; a larger one only as far as a FETCH
 * asks (a partial of a 10 MiB message then reads its octets, not 10 MiB).
 */
const WHOLE_UP_TO = 64 * 1024;

/** Octets read first for the header of a larger message (headers are a few KiB). */
const HEADER_PREFIX = 64 * 1024;

/** Messages of the folders kept as last opened, altogether (about 70 octets each). */
const MAX_OPENED_MESSAGES = 100_000;

/** ENVELOPEs held in memory (about 470 octets each: some 35,000 messages). */
const ENVELOPE_MEMORY_BYTES = 16 * 1024 * 1024;

/**
 * ENVELOPEs made at once from their messages at a folder's first FETCH of them, and the
 * largest message read for it in a batch (larger ones are read alone).
 */
const MAKE_BATCH = 64;
const MAKE_UP_TO = 64 * 1024;

/** Headers read at once when a FETCH walks up a folder (about 1 KiB each). */
const READ_AHEAD = 256;

/**
 * Messages indexed per transaction (each costs about a millisecond: the batch is how long other
 * clients may wait), messages read at once by a search, and the most bytes read for either.
 */
const INDEX_BATCH = 32;
const SEARCH_BATCH = 256;
const INDEX_BATCH_BYTES = 4 * 1024 * 1024;
/** Folders remembered as indexed (beyond it the memory is dropped, and rebuilt by a query). */
const MAX_INDEXED_FOLDERS = 10_000;

/**
 * What was derived from messages is written once the process has had nothing new to keep for
 * this long (a FETCH of many messages makes them all first, and never waits for their writes),
 * in transactions of at most {@link SAVE_BATCH} rows, other clients served in between; at once
 * when more than {@link MAX_UNSAVED_BYTES} wait.
 */
const SAVE_QUIET_MS = 50;
const SAVE_BATCH = 1000;
const MAX_UNSAVED_BYTES = 16 * 1024 * 1024;

/** Derived data not yet kept, by message id. */
interface Unsaved {
  readonly structures: Map<number, string>;
  readonly headers: Map<number, Uint8Array>;
  readonly envelopes: Map<number, KeptEnvelope>;
}

/** Nothing derived and not yet kept. */
function unsavedNone(): Unsaved {
  return { structures: new Map(), headers: new Map(), envelopes: new Map() };
}

/** Takes up to N rows out of U (structures first, then headers, then ENVELOPEs). */
function takeRows(u: Unsaved, n: number): DerivedData {
  const take = <V>(from: Map<number, V>): Map<number, V> => {
    const out = new Map<number, V>();
    for (const [k, v] of from) {
      if (n <= 0) break;
      out.set(k, v);
      from.delete(k);
      n--;
    }
    return out;
  };
  return { structures: take(u.structures), headers: take(u.headers), envelopes: take(u.envelopes) };
}

/**
 * A message's header alone, as content: what FETCH needs for ENVELOPE and header sections. Its
 * structure says just that: a header and an empty body (the rest of it is never looked at).
 */
function headerContent(header: Uint8Array): MessageContent {
  // A header from 0 to its end, and an empty body after it.
  const structure: Part = { ...emptyPart(header.length), headerStart: 0 };
  return { bytes: header, structure };
}

/** A kept structure, or undefined when it does not parse. */
function parsedStructure(json: string): Part | undefined {
  try {
    return JSON.parse(json) as Part;
  } catch {
    return undefined;
  }
}

/**
 * A message as a selected folder keeps it, for as long as the folder is selected: every
 * session holds one per message, so it is small. Its INTERNALDATE is made when asked for, and
 * equal flag lists are one shared, frozen array (a folder has few distinct ones).
 */
class Meta implements MessageMeta {
  constructor(
    readonly uid: number,
    readonly flags: readonly string[],
    readonly modseq: number,
    readonly receivedAt: number,
    readonly size: number,
  ) {}

  get internalDate(): Date {
    return new Date(this.receivedAt);
  }
}

/** Flag lists shared between messages (see {@link Meta}); bounded, as peers make keywords. */
const flagLists = new Map<string, readonly string[]>();
const MAX_FLAG_LISTS = 4096;

function sharedFlags(flags: readonly string[]): readonly string[] {
  const key = flags.join(" ");
  let shared = flagLists.get(key);
  if (!shared) {
    if (flagLists.size >= MAX_FLAG_LISTS) flagLists.clear();
    shared = Object.freeze([...flags]);
    flagLists.set(key, shared);
  }
  return shared;
}

function meta(e: FolderEntry): MessageMeta {
  return new Meta(e.uid, sharedFlags(e.flags), e.modseq, e.receivedAt, e.size);
}

/** An opened folder of FOLDER's state and LIST. */
function openedFolder(
  folder: FolderRow,
  list: readonly MessageMeta[],
  keywords: readonly string[],
): OpenedFolder {
  let unseen = 0;
  let deleted = 0;
  let size = 0;
  for (const m of list) {
    if (!m.flags.includes("\\Seen")) unseen++;
    if (m.flags.includes("\\Deleted")) deleted++;
    size += m.size;
  }
  return {
    id: folder.id,
    uidValidity: folder.uidValidity,
    uidNext: folder.uidNext,
    highestModseq: folder.highestModseq,
    messages: list.length,
    unseen,
    deleted,
    size,
    list,
    keywords,
  };
}

/** The keywords in use among LIST's flags, sorted (as the store lists them). */
function keywordsOf(list: readonly MessageMeta[]): string[] {
  const lists = new Set<readonly string[]>();
  const out = new Set<string>();
  for (const m of list) {
    if (lists.has(m.flags)) continue;
    lists.add(m.flags);
    for (const f of m.flags) if (!f.startsWith("\\")) out.add(f);
  }
  return [...out].sort();
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

/** {@link ImapBackend} over the store. */
export class StoreImapBackend implements ImapBackend {
  readonly #store: Store;
  readonly #auth: Authenticator;
  readonly #watchers = new Map<number, Set<() => void>>();
  readonly #seen = new Map<number, number>();
  /** Folders whose messages are all in the text index, with the mod-sequence they had then. */
  readonly #indexedAt = new Map<number, number>();
  /** Answers of {@link changes} given in this turn of the event loop, by folder and modseq. */
  readonly #answered = new Map<string, FolderChanges>();
  /** Headers read ahead for a FETCH of many messages, for this turn of the event loop. */
  #ahead:
    | {
      folder: number;
      last: number;
      headers: Map<number, { messageId: number; header: Uint8Array | null }>;
    }
    | undefined;
  /** What was derived and is not yet kept (see {@link SAVE_QUIET_MS}), and its octets. */
  readonly #unsaved = unsavedNone();
  #unsavedBytes = 0;
  /** When something was last given to {@link #keep}, and the pending write's timer. */
  #lastKept = 0;
  #saveTimer: ReturnType<typeof setTimeout> | undefined;
  #saveSoon = false;
  /**
   * Folders as last opened, by account and name, least recently opened first: a SELECT of one
   * unchanged since reads only its row, and of one changed since, what changed (the query that
   * tells sessions of changes). At most {@link MAX_OPENED_MESSAGES} messages in all.
   */
  readonly #opened = new Map<string, OpenedFolder>();
  #openedMessages = 0;
  /** ENVELOPEs in memory, for FETCHes of the same messages again. */
  readonly #envelopes = new EnvelopeMemory(ENVELOPE_MEMORY_BYTES);
  /** ENVELOPEs read ahead for a FETCH of many messages, for this turn of the event loop. */
  #envelopesAhead: { folder: number; rows: EnvelopeRow[]; at: number } | undefined;
  /** Folders queued for indexing or being indexed, and the queue's end. */
  readonly #indexing = new Map<number, Promise<void>>();
  #indexChain: Promise<void> = Promise.resolve();
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

  subscriptions(account: Account): readonly string[] {
    return mapped(() => this.#store.folders.subscriptions(account.address));
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
    const key = JSON.stringify([account.address, name]);
    const known = this.#opened.get(key);
    let opened = known && this.#reopen(known, name);
    if (!opened) {
      const { folder, entries, keywords } = mapped(() =>
        this.#store.folders.openFolder(account.address, name)
      );
      // Entries with equal flags share their list: each is made shared once.
      const shared = new Map<readonly string[], readonly string[]>();
      const list = entries.map((e) => {
        let flags = shared.get(e.flags);
        if (!flags) shared.set(e.flags, flags = sharedFlags(e.flags));
        return new Meta(e.uid, flags, e.modseq, e.receivedAt, e.size);
      });
      opened = openedFolder(folder, list, keywords);
    }
    if (known) {
      this.#opened.delete(key);
      this.#openedMessages -= known.list.length;
    }
    if (opened.list.length <= MAX_OPENED_MESSAGES) {
      this.#opened.set(key, opened);
      this.#openedMessages += opened.list.length;
      for (const [k, f] of this.#opened) {
        if (this.#openedMessages <= MAX_OPENED_MESSAGES) break;
        this.#opened.delete(k);
        this.#openedMessages -= f.list.length;
      }
    }
    return opened;
  }

  /**
   * KNOWN as it is now, from what changed since it was opened (the query that tells sessions of
   * changes); undefined when the folder is gone, renamed or made again.
   */
  #reopen(known: OpenedFolder, name: string): OpenedFolder | undefined {
    let c;
    try {
      c = this.#store.folders.folderChanges(known.id, known.highestModseq);
    } catch (e) {
      if (e instanceof StoreError && e.kind === "not-found") return undefined;
      throw e;
    }
    const folder = c.folder;
    if (folder.name !== name || folder.uidValidity !== known.uidValidity) return undefined;
    if (c.changed.length === 0 && c.expunged.length === 0) {
      return folder.highestModseq === known.highestModseq && folder.uidNext === known.uidNext
        ? known
        : { ...known, highestModseq: folder.highestModseq, uidNext: folder.uidNext };
    }
    const gone = new Set(c.expunged);
    const changed = new Map(c.changed.map((e) => [e.uid, e]));
    const list: MessageMeta[] = [];
    for (const m of known.list) {
      if (gone.has(m.uid)) continue;
      const e = changed.get(m.uid);
      if (!e) list.push(m);
      else {
        list.push(meta(e));
        changed.delete(m.uid);
      }
    }
    // The rest are new, with UIDs above all the others, ascending.
    for (const e of changed.values()) list.push(meta(e));
    return openedFolder(folder, list, keywordsOf(list));
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
    // When a change reaches the sessions watching a folder, they all ask this, most with the
    // same mod-sequence: one query answers them all, for this turn of the event loop (a write
    // made here forgets the answers at once; one made elsewhere is news at the next look).
    const key = `${id} ${modseq}`;
    const known = this.#answered.get(key);
    if (known) return known;
    const c = mapped(() => this.#store.folders.folderChanges(id, modseq));
    const answer = {
      highestModseq: c.folder.highestModseq,
      uidNext: c.folder.uidNext,
      changed: c.changed.map(meta),
      expunged: c.expunged,
    };
    if (this.#answered.size === 0) setImmediate(() => this.#answered.clear());
    this.#answered.set(key, answer);
    return answer;
  }

  content(
    _account: Account,
    id: number,
    uid: number,
    headerOnly = false,
  ): MessageContent | undefined {
    const folders = this.#store.folders;
    if (headerOnly) {
      // The header alone, when it is kept: a few hundred octets instead of the whole message.
      const kept = this.#header(id, uid);
      if (!kept) return undefined;
      if (kept.header) return headerContent(kept.header);
      const unsaved = this.#unsaved.headers.get(kept.messageId);
      if (unsaved) return headerContent(unsaved);
    }
    if (!headerOnly) return this.#message(id, uid);
    const found = folders.folderMessage(id, uid, WHOLE_UP_TO);
    if (!found) return undefined;
    const header = this.#headerOf(found);
    if (!header) return undefined;
    this.#keep({ headers: new Map([[found.messageId, header]]) });
    return headerContent(header);
  }

  /**
   * The header of message FOUND (a copy, to keep): cut out of its bytes when it came whole, else
   * read without its body: up to where the kept structure says the body starts, or from the
   * first {@link HEADER_PREFIX} octets when the blank line is in them (the whole message else).
   * Undefined when the message is gone.
   */
  #headerOf(
    found: { messageId: number; structure: string | undefined; bytes: Uint8Array | undefined },
  ): Uint8Array | undefined {
    const structure = found.structure === undefined ? undefined : parsedStructure(found.structure);
    const cut = (bytes: Uint8Array) =>
      bytes.slice(0, structure?.bodyStart ?? headerEnd(bytes, 0, bytes.length));
    if (found.bytes) return cut(found.bytes);
    const read = (end: number) => this.#store.folders.messageRange(found.messageId, 0, end);
    if (structure) return read(structure.bodyStart);
    const prefix = read(HEADER_PREFIX);
    if (!prefix) return undefined;
    const end = headerEnd(prefix, 0, prefix.length);
    if (end < prefix.length) return prefix.slice(0, end);
    const whole = read(Infinity);
    return whole && cut(whole);
  }

  /**
   * The message with UID in folder ID: whole with its row when small, else read only as far as
   * the FETCH asks (a partial or a section reads the octets it names; stored_message.ts).
   */
  #message(id: number, uid: number): MessageContent | undefined {
    const folders = this.#store.folders;
    const found = folders.folderMessage(id, uid, WHOLE_UP_TO);
    if (!found) return undefined;
    const { messageId } = found;
    // A structure parsed a moment ago may not be written yet.
    const structure = found.structure ?? this.#unsaved.structures.get(messageId);
    return new StoredMessage(
      found.bytes,
      structure === undefined ? undefined : parsedStructure(structure),
      (start, end) => folders.messageRange(messageId, start, end),
      (structure) => this.#keep({ structures: new Map([[messageId, JSON.stringify(structure)]]) }),
    );
  }

  /**
   * The kept header of UID in folder ID. A FETCH of many messages asks for them in ascending
   * UID order, one at a time: once it goes up, the next headers are read with it, in one query,
   * and kept until the end of this turn of the event loop (never longer: they are not watched).
   */
  #header(
    id: number,
    uid: number,
  ): { messageId: number; header: Uint8Array | null } | undefined {
    const ahead = this.#ahead;
    if (ahead?.folder === id) {
      const hit = ahead.headers.get(uid);
      if (hit) return hit;
      if (uid > ahead.last) {
        const rows = this.#store.folders.folderHeaders(id, uid, READ_AHEAD);
        if (rows.length === 0) return undefined;
        ahead.headers = new Map(rows.map((r) => [r.uid, r]));
        ahead.last = uid;
        return ahead.headers.get(uid);
      }
    }
    if (!this.#ahead) setImmediate(() => this.#ahead = undefined);
    this.#ahead = { folder: id, last: uid, headers: new Map() };
    return this.#store.folders.folderHeader(id, uid);
  }

  /**
   * The ENVELOPE of UID in folder ID as FETCH writes it: kept encoded since the message's first
   * FETCH, else made from its header now and kept (a message never changes, so neither does
   * its ENVELOPE); held in memory as well (./envelope_memory.ts), by the folder's UIDVALIDITY.
   */
  envelope(
    account: Account,
    id: number,
    uidValidity: number,
    uid: number,
    utf8: boolean,
  ): Uint8Array | undefined {
    let kept = this.#envelopes.get(uidValidity, uid);
    if (!kept) {
      const row = this.#envelopeRow(id, uid);
      if (!row) return undefined;
      if (!row[2]) this.#makeEnvelopes(id);
      const [, messageId, ascii, utf8Form] = row;
      if (ascii) kept = { ascii, utf8: utf8Form };
      else {
        const content = this.content(account, id, uid, true);
        if (!content) return undefined;
        const { headerStart, bodyStart } = content.structure;
        kept = encodeEnvelopeOf(content.bytes, headerStart, bodyStart);
        this.#keep({ envelopes: new Map([[messageId, { version: ENVELOPE_VERSION, ...kept }]]) });
      }
      this.#envelopes.put(uidValidity, uid, kept);
    }
    return utf8 && kept.utf8 ? kept.utf8 : kept.ascii;
  }

  /**
   * Makes the ENVELOPEs that the rows read ahead for folder ID lack, from the row just asked
   * for on, {@link MAKE_BATCH} at a time: their messages are read in one query and their
   * ENVELOPEs kept (not their headers: most clients that fetch ENVELOPEs ask for no header
   * field, and one asked for is kept then). Those too large or kept in pieces are left to be
   * made one at a time.
   */
  #makeEnvelopes(id: number): void {
    const ahead = this.#envelopesAhead;
    if (ahead?.folder !== id) return;
    const run = ahead.rows.slice(ahead.at, ahead.at + MAKE_BATCH).filter((r) => !r[2]);
    if (run.length === 0) return;
    const bodies = this.#store.folders.folderBodies(
      id,
      run[0]![0],
      run[run.length - 1]![0],
      MAKE_UP_TO,
    );
    const byUid = new Map(run.map((r) => [r[0], r]));
    const envelopes = new Map<number, KeptEnvelope>();
    for (const [uid, messageId, bytes] of bodies) {
      const row = byUid.get(uid);
      if (!row || row[1] !== messageId) continue;
      const end = headerEnd(bytes, 0, bytes.length);
      const made = encodeEnvelopeOf(bytes, 0, end);
      row[2] = made.ascii;
      row[3] = made.utf8;
      envelopes.set(messageId, { version: ENVELOPE_VERSION, ...made });
    }
    this.#keep({ envelopes });
  }

  /**
   * UID's row of folder ID with its kept ENVELOPE; undefined when it is gone. A FETCH of many
   * messages asks in ascending UID order: the rows are read {@link READ_AHEAD} at a time and
   * kept until the end of this turn of the event loop.
   */
  #envelopeRow(id: number, uid: number): EnvelopeRow | undefined {
    let ahead = this.#envelopesAhead;
    if (ahead?.folder === id && ahead.rows.length > 0) {
      const { rows } = ahead;
      // The rows are a run of the folder's UIDs: one between the first and the last that is
      // not among them is gone.
      if (uid >= rows[0]![0] && uid <= rows[rows.length - 1]![0]) {
        if (rows[ahead.at]![0] > uid) ahead.at = 0;
        while (rows[ahead.at]![0] < uid) ahead.at++;
        const row = rows[ahead.at]!;
        return row[0] === uid ? row : undefined;
      }
    }
    if (!this.#envelopesAhead) setImmediate(() => this.#envelopesAhead = undefined);
    ahead = {
      folder: id,
      rows: this.#store.folders.folderEnvelopes(id, uid, READ_AHEAD, ENVELOPE_VERSION),
      at: 0,
    };
    this.#envelopesAhead = ahead;
    const row = ahead.rows[0];
    return row?.[0] === uid ? row : undefined;
  }

  /**
   * Keeps what was derived from messages, later: once nothing new came for
   * {@link SAVE_QUIET_MS}, so that no response waits for the writes of a cache (what is not
   * yet written is derived again if it is asked for by another process meanwhile, or lost with
   * this one: the bytes stay the truth).
   */
  #keep(derived: DerivedData): void {
    const u = this.#unsaved;
    for (const [k, v] of derived.structures ?? []) {
      u.structures.set(k, v);
      this.#unsavedBytes += v.length;
    }
    for (const [k, v] of derived.headers ?? []) {
      u.headers.set(k, v);
      this.#unsavedBytes += v.length;
    }
    for (const [k, v] of derived.envelopes ?? []) {
      u.envelopes.set(k, v);
      this.#unsavedBytes += v.ascii.length + (v.utf8?.length ?? 0);
    }
    this.#lastKept = performance.now();
    this.#scheduleSave();
  }

  #scheduleSave(): void {
    if (this.#unsavedBytes >= MAX_UNSAVED_BYTES) {
      if (this.#saveSoon) return;
      this.#saveSoon = true;
      setImmediate(() => {
        this.#saveSoon = false;
        this.#saveBatch();
      });
      return;
    }
    if (this.#saveTimer !== undefined) return;
    const wait = this.#lastKept + SAVE_QUIET_MS - performance.now();
    this.#saveTimer = setTimeout(() => {
      this.#saveTimer = undefined;
      if (performance.now() - this.#lastKept < SAVE_QUIET_MS) this.#scheduleSave();
      else this.#saveBatch();
    }, Math.max(1, wait));
    // A pending write of a cache never keeps the process alive.
    this.#saveTimer.unref();
  }

  /** Writes a batch of what is unsaved, and schedules the rest. */
  #saveBatch(): void {
    const u0 = this.#unsaved;
    if (u0.structures.size + u0.headers.size + u0.envelopes.size === 0) return;
    const batch = takeRows(this.#unsaved, SAVE_BATCH);
    this.#save(batch);
    const u = this.#unsaved;
    if (u.structures.size + u.headers.size + u.envelopes.size === 0) this.#unsavedBytes = 0;
    else if (this.#unsavedBytes >= MAX_UNSAVED_BYTES) this.#scheduleSave();
    else if (performance.now() - this.#lastKept >= SAVE_QUIET_MS) {
      // Still quiet: the next batch after the clients waiting now are served.
      if (!this.#saveSoon) {
        this.#saveSoon = true;
        setImmediate(() => {
          this.#saveSoon = false;
          this.#saveBatch();
        });
      }
    } else this.#scheduleSave();
  }

  #save(batch: DerivedData): void {
    for (const m of [batch.structures, batch.headers, batch.envelopes]) {
      for (const v of m?.values() ?? []) {
        this.#unsavedBytes -= typeof v === "string" || v instanceof Uint8Array
          ? v.length
          : v.ascii.length + (v.utf8?.length ?? 0);
      }
    }
    try {
      this.#store.folders.saveDerived(batch);
    } catch {
      // A cache: what was not kept is derived again when next needed.
    }
  }

  /** Writes at once everything derived and not yet kept (a server stopping; tests). */
  keepNow(): void {
    if (this.#saveTimer !== undefined) clearTimeout(this.#saveTimer);
    this.#saveTimer = undefined;
    const u = this.#unsaved;
    while (u.structures.size + u.headers.size + u.envelopes.size > 0) {
      this.#save(takeRows(u, SAVE_BATCH));
    }
    this.#unsavedBytes = 0;
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

  #copy(
    account: Account,
    id: number,
    uids: readonly number[],
    target: string,
    move: boolean,
  ): CopyResult {
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

  /**
   * SEARCH BODY and TEXT. What the text index holds, it answers (and the messages it can only
   * narrow to are looked at); what it does not hold yet is read and decoded here, as a scan
   * would, and then indexed after the answer, in the background (see {@link #indexFolder}). So
   * the first search of a folder costs about a scan, and the later ones a query.
   */
  async searchText(
    account: Account,
    id: number,
    uids: readonly number[],
    terms: readonly { where: "body" | "text"; value: string }[],
  ): Promise<number[]> {
    const folders = this.#store.folders;
    const wanted = new Set(uids);
    const matches = (text: SearchableText, list: readonly typeof terms[number][]) =>
      list.every((t) => textHas(text, t.where, t.value));
    // The messages the index lacks, read in batches (other clients served in between).
    const unindexed = new Set<number>();
    const found = new Set<number>();
    const modseq = folders.folderModseqs([id]).get(id);
    if (modseq === undefined || this.#indexedAt.get(id) !== modseq) {
      for (let after = 0;;) {
        const batch = folders.unindexedMessages(id, after, SEARCH_BATCH, INDEX_BATCH_BYTES);
        if (batch.length === 0) break;
        for (const m of batch) {
          after = m.uid;
          if (!wanted.has(m.uid)) continue;
          unindexed.add(m.uid);
          if (matches(searchableText(m.bytes, this.#structureOf(m)), terms)) found.add(m.uid);
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
      void this.#indexFolder(id);
    }
    // The rest from the index: terms it cannot answer, and those it only narrowed, are then
    // checked in the text of the messages left.
    let left = uids.filter((u) => !unindexed.has(u));
    const check: typeof terms[number][] = [];
    for (const t of terms) {
      const answer = folders.searchIndexedText(id, t.where, t.value);
      if (!answer) {
        check.push(t);
        continue;
      }
      const hits = new Set(answer.uids);
      left = left.filter((u) => hits.has(u));
      if (!answer.exact) check.push(t);
    }
    for (const uid of left) {
      if (check.length === 0) {
        found.add(uid);
        continue;
      }
      const content = this.content(account, id, uid, false);
      if (content && matches(searchableText(content.bytes, content.structure), check)) {
        found.add(uid);
      }
    }
    return uids.filter((u) => found.has(u));
  }

  /** The structure of M: its kept one, or else parsed now and kept. */
  #structureOf(m: UnindexedMessage): Part {
    const kept = m.structure === undefined ? undefined : parsedStructure(m.structure);
    if (kept) return kept;
    const structure = parseStructure(m.bytes);
    this.#keep({ structures: new Map([[m.messageId, JSON.stringify(structure)]]) });
    return structure;
  }

  /**
   * Indexes folder ID's messages that the text index lacks, in the background: a batch at a
   * time, other clients served between batches, one folder after another (so a few searches
   * of unindexed folders cannot take all of the process). Once a folder is indexed it is not
   * looked at again until its mod-sequence moves. Resolves when it is done (tests wait for it).
   */
  #indexFolder(id: number): Promise<void> {
    const queued = this.#indexing.get(id);
    if (queued) return queued;
    // After the answer that asked for it has gone out (a turn of the event loop later).
    const work = this.#indexChain.then(() => new Promise((resolve) => setImmediate(resolve)))
      .then(() => this.#fillIndex(id)).catch(() => {
        // The store was busy or closed: the next search reads what is still missing.
      }).finally(() => this.#indexing.delete(id));
    this.#indexing.set(id, work);
    this.#indexChain = work;
    return work;
  }

  /** Resolves once the text index has caught up with what searches of this process found. */
  whenIndexed(): Promise<void> {
    return this.#indexChain;
  }

  async #fillIndex(id: number): Promise<void> {
    const folders = this.#store.folders;
    const modseq = folders.folderModseqs([id]).get(id);
    if (modseq === undefined || this.#indexedAt.get(id) === modseq) return;
    for (let after = 0;;) {
      const batch = folders.unindexedMessages(id, after, INDEX_BATCH, INDEX_BATCH_BYTES);
      if (batch.length === 0) break;
      const texts: MessageText[] = [];
      const structures = new Map<number, string>();
      const headers = new Map<number, Uint8Array>();
      for (const m of batch) {
        after = m.uid;
        let structure = m.structure === undefined ? undefined : parsedStructure(m.structure);
        if (!structure) {
          structure = parseStructure(m.bytes);
          structures.set(m.messageId, JSON.stringify(structure));
        }
        // The bytes are at hand: the header is kept too, for the FETCHes to come.
        headers.set(m.messageId, m.bytes.slice(0, structure.bodyStart));
        texts.push({ messageId: m.messageId, ...searchableText(m.bytes, structure) });
      }
      folders.saveDerived({ texts, structures, headers });
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (this.#indexedAt.size >= MAX_INDEXED_FOLDERS) this.#indexedAt.clear();
    this.#indexedAt.set(id, modseq);
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
    this.#answered.clear();
    const modseq = this.#store.folders.folderModseqs([id]).get(id);
    if (modseq !== undefined && this.#seen.has(id)) this.#seen.set(id, modseq);
    for (const l of this.#watchers.get(id) ?? []) l();
  }

  #kickAll(): void {
    this.#answered.clear();
    this.#poll();
  }
}
