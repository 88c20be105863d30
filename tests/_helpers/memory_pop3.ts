/**
 * An in-memory {@link Pop3Backend} for tests: the model src/pop3/backend.ts describes, kept in
 * maps, with a fixed table of users. It behaves as the store must:
 *
 * - each account's INBOX has a UIDVALIDITY and strictly ascending UIDs never reused;
 * - `open` takes the account's POP3 lock (a second open throws `IN-USE` until `close`) and
 *   lists the INBOX as it is then, by ascending UID, with `<uidvalidity>.<uid>` unique-ids;
 * - `content` answers undefined for a message expunged since (by "IMAP": {@link expungeUid});
 * - `update` marks `seen` and removes `expunge` in one step, ignoring messages already gone;
 * - every call is recorded, and any method can be made to fail once (`failNext`).
 *
 * With `async: true` every method answers with a promise, as a store that does I/O would.
 *
 * @module
 */
import {
  type Account,
  type LoginResult,
  type Maildrop,
  type MaildropMessage,
  type MaildropUpdate,
  type Pop3Backend,
  Pop3BackendError,
  uniqueId,
} from "../../src/pop3/backend.ts";

type Maybe<T> = T | Promise<T>;

interface Stored {
  readonly uid: number;
  readonly bytes: Uint8Array;
  seen: boolean;
}

interface Inbox {
  readonly uidValidity: number;
  uidNext: number;
  messages: Stored[];
  locked: boolean;
}

/** What a test can make fail once, and with what. */
export type Failure = "authenticate" | "open" | "content" | "update";

export interface MemoryPop3Options {
  /** Users and their passwords (names compared in lower case); default alice/pw, bob/pw. */
  readonly users?: Readonly<Record<string, string>>;
  readonly async?: boolean;
}

export class MemoryPop3Backend implements Pop3Backend {
  readonly #users: Map<string, string>;
  readonly #async: boolean;
  readonly #inboxes = new Map<string, Inbox>();
  #nextValidity = 1_700_000_000;
  readonly #fail = new Map<Failure, unknown>();
  /** Clients (addresses) answered `locked`; `busy` makes every login answer busy. */
  readonly lockedClients = new Set<string>();
  busy = false;
  /** Every update applied, in order, with the account it was for. */
  readonly updates: { readonly address: string; readonly update: MaildropUpdate }[] = [];
  /** Opens and closes of maildrops. */
  opens = 0;
  closes = 0;
  /** Messages handed out by `content`. */
  contentCalls = 0;

  constructor(options: MemoryPop3Options = {}) {
    const users = options.users ?? { alice: "pw", bob: "pw" };
    this.#users = new Map(Object.entries(users).map(([u, p]) => [u.toLowerCase(), p]));
    this.#async = options.async ?? false;
  }

  /** Makes the next call of METHOD throw ERROR (once). */
  failNext(method: Failure, error: unknown): void {
    this.#fail.set(method, error);
  }

  /** Delivers MESSAGE to ADDRESS's INBOX; returns its UID. */
  deliver(address: string, message: Uint8Array | string): number {
    const inbox = this.#inbox(address);
    const bytes = typeof message === "string" ? new TextEncoder().encode(message) : message;
    const uid = inbox.uidNext++;
    inbox.messages.push({ uid, bytes, seen: false });
    return uid;
  }

  /** Removes the message with UID as an IMAP session's EXPUNGE would. */
  expungeUid(address: string, uid: number): void {
    const inbox = this.#inbox(address);
    inbox.messages = inbox.messages.filter((m) => m.uid !== uid);
  }

  /** The INBOX of ADDRESS as stored now. */
  inbox(address: string): readonly { uid: number; bytes: Uint8Array; seen: boolean }[] {
    return this.#inbox(address).messages.map((m) => ({ ...m }));
  }

  /** The UIDVALIDITY of ADDRESS's INBOX. */
  uidValidity(address: string): number {
    return this.#inbox(address).uidValidity;
  }

  /** Whether a POP3 session holds ADDRESS's maildrop. */
  isLocked(address: string): boolean {
    return this.#inbox(address).locked;
  }

  authenticate(user: string, password: string, client: string): Maybe<LoginResult> {
    return this.#answer("authenticate", (): LoginResult => {
      if (this.lockedClients.has(client)) return { kind: "locked" };
      if (this.busy) return { kind: "busy" };
      const address = user.toLowerCase();
      if (this.#users.get(address) !== password) return { kind: "refused" };
      return { kind: "ok", account: { address } };
    });
  }

  open(account: Account): Maybe<Maildrop> {
    return this.#answer("open", () => {
      const inbox = this.#inbox(account.address);
      if (inbox.locked) {
        throw new Pop3BackendError("IN-USE", "Mailbox is locked by another POP3 session");
      }
      inbox.locked = true;
      this.opens++;
      const messages: MaildropMessage[] = inbox.messages.map((m) => ({
        uid: uniqueId(inbox.uidValidity, m.uid),
        size: m.bytes.length,
        handle: m.uid,
      }));
      return this.#maildrop(account.address, inbox, messages);
    });
  }

  #maildrop(address: string, inbox: Inbox, messages: readonly MaildropMessage[]): Maildrop {
    let closed = false;
    return {
      messages,
      content: (m) =>
        this.#answer("content", () => {
          this.contentCalls++;
          return inbox.messages.find((s) => s.uid === m.handle)?.bytes;
        }),
      update: (changes) =>
        this.#answer("update", () => {
          if (closed) throw new Error("update after close");
          const gone = new Set(changes.expunge.map((m) => m.handle));
          for (const s of inbox.messages) {
            if (changes.seen.some((m) => m.handle === s.uid)) s.seen = true;
          }
          inbox.messages = inbox.messages.filter((s) => !gone.has(s.uid));
          this.updates.push({ address, update: changes });
        }),
      close: () => {
        if (closed) throw new Error("Maildrop closed twice");
        closed = true;
        inbox.locked = false;
        this.closes++;
      },
    };
  }

  #inbox(address: string): Inbox {
    let inbox = this.#inboxes.get(address);
    if (!inbox) {
      inbox = { uidValidity: this.#nextValidity++, uidNext: 1, messages: [], locked: false };
      this.#inboxes.set(address, inbox);
    }
    return inbox;
  }

  #answer<T>(method: Failure, f: () => T): Maybe<T> {
    const run = () => {
      if (this.#fail.has(method)) {
        const e = this.#fail.get(method);
        this.#fail.delete(method);
        throw e;
      }
      return f();
    };
    if (!this.#async) return run();
    return Promise.resolve().then(run);
  }
}
