/**
 * One IMAP session as a pure state machine (RFC 9051 §3): bytes in, bytes out, no sockets. The
 * framer cuts commands out of the stream, the parser reads them, one table (session_types.ts)
 * says which commands the state accepts, a handler answers, and updates about the selected
 * folder (other sessions' changes, new mail) go out before each tagged status and, during IDLE,
 * as they happen (through `notify`).
 *
 * IMAP4rev1 (RFC 3501) and IMAP4rev2 (RFC 9051) are both served: rev1 until the client sends
 * `ENABLE IMAP4rev2`. The differences live here: names in modified UTF-7 or UTF-8, `* n RECENT`
 * and `[UNSEEN n]`, SEARCH or ESEARCH responses.
 *
 * @module
 */
import { type Account, type ImapBackend, ImapBackendError } from "./backend.ts";
import { decodePlain } from "../sasl_plain.ts";
import { capabilities } from "./capabilities.ts";
import { type Command, CommandError, parseCommand } from "./command.ts";
import { canonicalName, decodeMutf7, encodeMutf7 } from "./folder_names.ts";
import { CommandFramer, DEFAULT_FRAMER_LIMITS, type FrameEvent } from "./framer.ts";
import {
  atom,
  continuation,
  type Encoding,
  list,
  num,
  type ResponseCode,
  str,
  tagged,
  untagged,
  untaggedStatus,
} from "./response.ts";
import type { SelectedView } from "./selected.ts";
import type { Result, SessionContext } from "./session_context.ts";
import {
  append,
  create,
  del,
  listFolders,
  namespace,
  rename,
  select,
  status,
  subscribe,
} from "./session_folders.ts";
import {
  close,
  copyOrMove,
  expunge,
  fetch,
  search,
  store,
  updateFetch,
} from "./session_messages.ts";
import { flagsResponses } from "./flags.ts";
import {
  ACCEPTS,
  type Output,
  type SessionEvent,
  type SessionOptions,
  type State,
} from "./session_types.ts";
import { compactSet, formatSequenceSet } from "./sequence_set.ts";

/** Capabilities ENABLE can turn on (RFC 5161). */
const ENABLABLE = ["IMAP4REV2", "CONDSTORE", "QRESYNC", "UTF8=ACCEPT"];

/** BAD responses before the session is ended. */
const DEFAULT_MAX_ERRORS = 30;

/** Where the session stands between commands. */
type Pending =
  | undefined
  | { readonly kind: "sasl"; readonly tag: string }
  | { readonly kind: "idle"; readonly tag: string };

export class ImapSession implements SessionContext {
  readonly backend: ImapBackend;
  readonly #opts: SessionOptions;
  readonly #client: string;
  readonly #notify: (out: Output) => void;
  /** Resolves once the client has taken what was written (the socket has room again). */
  readonly #drained: () => Promise<void>;
  readonly #onEvent: (e: SessionEvent) => void;
  #framer: CommandFramer;
  #state: State = "not-authenticated";
  #account: Account | undefined;
  #selected: SelectedView | undefined;
  #tls: boolean;
  #enabled = new Set<string>();
  #condstore = false;
  #pending: Pending;
  #errors = 0;
  /** Set when the selected folder may have changed since the client was last told. */
  #dirty = false;
  #unwatch: (() => void) | undefined;
  /** A command (or an IDLE update) is being answered: updates wait for its end. */
  #busy = false;
  /** The look for changes under way during IDLE, which DONE waits for. */
  #looking: Promise<void> | undefined;
  /** Answers made in the current {@link receive} and not yet handed to the driver. */
  #unwritten: Uint8Array[] = [];
  /** Updates found during IDLE that could not be sent before it ended: they go before DONE's OK. */
  #owed: Uint8Array[][] = [];

  constructor(
    options: SessionOptions,
    backend: ImapBackend,
    client: string,
    notify: (out: Output) => void = () => {},
    onEvent: (e: SessionEvent) => void = () => {},
    drained: () => Promise<void> = () => Promise.resolve(),
  ) {
    this.#opts = options;
    this.backend = backend;
    this.#client = client;
    this.#notify = notify;
    this.#onEvent = onEvent;
    this.#drained = drained;
    this.#tls = options.tls;
    this.#framer = this.#newFramer();
  }

  #newFramer(): CommandFramer {
    return new CommandFramer({
      ...DEFAULT_FRAMER_LIMITS,
      maxAppendLiteral: this.#opts.maxMessageSize,
      ...this.#opts.limits,
    });
  }

  // --- SessionContext ---------------------------------------------------------------------

  get state(): State {
    return this.#state;
  }

  get account(): Account {
    return this.#account!;
  }

  get selected(): SelectedView | undefined {
    return this.#selected;
  }

  get rev2(): boolean {
    return this.#enabled.has("IMAP4REV2");
  }

  get condstore(): boolean {
    return this.#condstore;
  }

  get qresync(): boolean {
    return this.#enabled.has("QRESYNC");
  }

  get maxMessageSize(): number {
    return this.#opts.maxMessageSize;
  }

  get encoding(): Encoding {
    return { utf8: this.rev2 || this.#enabled.has("UTF8=ACCEPT") };
  }

  /** Whether a command is under way (for the driver's line deadline). */
  get midCommand(): boolean {
    return this.#framer.midCommand;
  }

  folderName(wire: string): string {
    const name = this.encoding.utf8 ? wire : decodeMutf7(wire);
    if (name === undefined) {
      throw new CommandError("Invalid modified UTF-7 in folder name", undefined);
    }
    return canonicalName(name);
  }

  wireName(name: string): string {
    return this.encoding.utf8 ? name : encodeMutf7(name);
  }

  select(view: SelectedView | undefined): void {
    this.#unwatch?.();
    this.#unwatch = undefined;
    this.#selected = view;
    this.#dirty = false;
    this.#state = view ? "selected" : "authenticated";
    if (view) {
      this.#unwatch = this.backend.watch(this.account, view.id, () => this.#changed());
    }
  }

  useCondstore(): void {
    this.#condstore = true;
  }

  async flush(data: Uint8Array[][]): Promise<void> {
    if (data.length === 0) return;
    // The answers to earlier commands of the same read go first.
    const earlier = this.#unwritten.splice(0);
    this.#notify({ write: [...earlier, ...data.flat()] });
    await this.#drained();
  }

  // --- The driver's side ------------------------------------------------------------------

  /** The greeting (RFC 9051 §7.1.1): OK with the capabilities. */
  greeting(): Output {
    return {
      write: untaggedStatus("OK", `${this.#opts.hostname} ready`, this.#capabilityCode()),
    };
  }

  /** The handshake that STARTTLS began has completed. */
  tlsStarted(): void {
    this.#tls = true;
  }

  /** The client was silent too long (RFC 9051 §5.4 autologout). */
  timeout(): Output {
    this.#end();
    return { write: untaggedStatus("BYE", "Autologout; idle for too long"), close: true };
  }

  /** The server is stopping. */
  shutdown(): Output {
    this.#end();
    return { write: untaggedStatus("BYE", "Server shutting down"), close: true };
  }

  /** The connection is gone: stop watching. */
  closed(): void {
    this.#end();
  }

  #end(): void {
    this.#unwatch?.();
    this.#unwatch = undefined;
    this.#state = "logout";
  }

  /** Takes bytes from the client; answers at once when it can, else with a promise. */
  receive(bytes: Uint8Array): Output | Promise<Output> {
    if (this.#state === "logout") return { write: [] };
    const events = this.#framer.push(bytes);
    // Answers to the commands of this read so far; a flush writes them first, keeping order.
    const write: Uint8Array[] = [];
    this.#unwritten = write;
    let close = false;
    let startTls = false;
    const take = (o: Output) => {
      write.push(...o.write);
      close ||= o.close === true;
      startTls ||= o.startTls === true;
    };
    const step = (i: number): Output | Promise<Output> => {
      for (; i < events.length && !close && !startTls; i++) {
        const r = this.#event(events[i]!);
        if (r instanceof Promise) {
          return r.then((o) => {
            take(o);
            return step(i + 1);
          });
        }
        take(r);
      }
      if (startTls) {
        // RFC 9051 §6.2.1: nothing the client sent after STARTTLS is read as a command.
        this.#framer = this.#newFramer();
      }
      return { write, close, startTls };
    };
    return step(0);
  }

  #event(e: FrameEvent): Output | Promise<Output> {
    if (e.kind === "continue") {
      return { write: continuation("Ready for literal data") };
    }
    if (e.kind === "refused") {
      const tag = e.tag ?? "*";
      const big = e.reason === "literal-too-large";
      const text = e.reason === "too-long"
        ? "Command line too long"
        : big
        ? "Literal too large"
        : "Too many literals";
      const status = big && e.command === "APPEND" ? "NO" : "BAD";
      const write = tag === "*"
        ? untaggedStatus("BAD", text)
        : tagged(tag, status, text, big ? { name: "TOOBIG" } : undefined);
      if (e.close) {
        this.#end();
        return {
          write: [...write, ...untaggedStatus("BYE", "Literal too large, closing")],
          close: true,
        };
      }
      return this.#countError({ write });
    }
    const pending = this.#pending;
    if (pending?.kind === "sasl") return this.#saslResponse(pending.tag, e.bytes);
    if (pending?.kind === "idle") return this.#idleDone(pending.tag, e.bytes);
    let parsed;
    try {
      parsed = parseCommand(e.bytes);
    } catch (err) {
      if (!(err instanceof CommandError)) throw err;
      const write = err.tag
        ? tagged(err.tag, "BAD", err.message)
        : untaggedStatus("BAD", err.message);
      return this.#countError({ write });
    }
    const { tag, command } = parsed;
    if (!ACCEPTS[this.#state].has(command.name)) {
      const why = this.#state === "not-authenticated"
        ? "Not logged in"
        : "Command not valid in this state";
      return this.#countError({ write: tagged(tag, "BAD", why) });
    }
    return this.#run(tag, command);
  }

  #countError(out: Output): Output {
    if (++this.#errors < (this.#opts.maxErrors ?? DEFAULT_MAX_ERRORS)) return out;
    this.#end();
    return { write: [...out.write, ...untaggedStatus("BYE", "Too many errors")], close: true };
  }

  /** Runs one command; an unexpected failure ends the connection with BYE (logged). */
  #run(tag: string, command: Command): Output | Promise<Output> {
    this.#busy = true;
    const fail = (err: unknown): Output => {
      this.#busy = false;
      if (err instanceof ImapBackendError) {
        return this.#finish(tag, {
          data: [],
          status: "NO",
          text: err.message,
          code: { name: err.code },
        });
      }
      if (err instanceof CommandError) {
        return this.#countError({ write: tagged(tag, "BAD", err.message) });
      }
      this.#onEvent({ type: "error", command: command.name, error: err });
      this.#end();
      return { write: untaggedStatus("BYE", "Internal error, closing connection"), close: true };
    };
    try {
      const r = this.#dispatch(tag, command);
      if (r instanceof Promise) {
        // Failures of the answer (the updates after it too) end here, never in the driver.
        return r.then((res) => this.#afterCommand(tag, res)).catch(fail);
      }
      const out = this.#afterCommand(tag, r);
      return out instanceof Promise ? out.catch(fail) : out;
    } catch (err) {
      return fail(err);
    }
  }

  #afterCommand(tag: string, r: Result | Output): Output | Promise<Output> {
    if (!("status" in r)) {
      this.#busy = false;
      return r;
    }
    // RFC 9051 §7.5.1: expunges may go with the answer to any command but FETCH, STORE and
    // SEARCH by sequence number (their handlers say so).
    const expunges = r.expungesAllowed ?? true;
    const owed = this.#owed;
    this.#owed = [];
    const view = this.#selected;
    if (view && (this.#dirty || r.refresh || (expunges && view.expungesPending))) {
      return this.#updates(expunges).then(
        (updates) => {
          this.#busy = false;
          return this.#finish(tag, { ...r, data: [...r.data, ...owed, ...updates] });
        },
        (err) => {
          this.#busy = false;
          throw err;
        },
      );
    }
    this.#busy = false;
    return this.#finish(tag, { ...r, data: [...r.data, ...owed] });
  }

  #finish(tag: string, r: Result): Output {
    const write: Uint8Array[] = [];
    for (const d of r.data) write.push(...d);
    write.push(...tagged(tag, r.status, r.text, r.code, this.encoding));
    return { write };
  }

  /** What changed in the selected folder since the client was last told, as responses. */
  async #updates(expunges: boolean): Promise<Uint8Array[][]> {
    const view = this.#selected;
    if (!view) return [];
    this.#dirty = false;
    let changes;
    try {
      changes = await this.backend.changes(this.account, view.id, view.highestModseq);
    } catch (e) {
      if (!(e instanceof ImapBackendError) || e.code !== "NONEXISTENT") throw e;
      // Another session deleted (or renamed) the selected folder: it is closed for this one.
      this.select(undefined);
      return [untaggedStatus("OK", "Mailbox no longer exists", { name: "CLOSED" })];
    }
    const out: Uint8Array[][] = [];
    // A keyword another session set is announced before the messages that carry it.
    if (view.learnKeywords(changes.changed)) {
      out.push(...flagsResponses(view.keywords, view.readOnly, this.encoding));
    }
    for (const u of view.apply(changes, expunges, this.qresync)) {
      if (u.kind === "exists") out.push(untagged([num(u.count), atom("EXISTS")], this.encoding));
      else if (u.kind === "expunge") {
        out.push(untagged([num(u.seq), atom("EXPUNGE")], this.encoding));
      } else if (u.kind === "vanished") {
        out.push(
          untagged([atom("VANISHED"), atom(formatSequenceSet(compactSet(u.uids)))], this.encoding),
        );
      } else out.push(updateFetch(this, u.seq, u.meta));
    }
    return out;
  }

  /** The store says the selected folder changed: tell an idling client now. */
  #changed(): void {
    this.#dirty = true;
    if (this.#pending?.kind !== "idle" || this.#busy) return;
    this.#busy = true;
    this.#looking = this.#updates(true).then(
      (updates) => {
        this.#busy = false;
        this.#looking = undefined;
        if (updates.length > 0) {
          // The view has taken these changes: they must reach the client, now if it still
          // idles, else before the answer to its DONE.
          if (this.#pending?.kind === "idle") this.#notify({ write: updates.flat() });
          else this.#owed.push(...updates);
        }
        // A change that came while we looked is looked at too.
        if (this.#dirty && this.#pending?.kind === "idle") this.#changed();
      },
      (err) => {
        this.#busy = false;
        this.#looking = undefined;
        this.#onEvent({ type: "error", command: "IDLE", error: err });
      },
    );
  }

  #dispatch(tag: string, c: Command): Result | Output | Promise<Result | Output> {
    switch (c.name) {
      case "CAPABILITY":
        return {
          data: [untagged([atom("CAPABILITY"), ...this.#capabilities().map((x) => atom(x))])],
          status: "OK",
          text: "CAPABILITY completed",
        };
      case "NOOP":
      case "CHECK":
        // RFC 9051 §6.1.2: NOOP is the client's poll: always look, announced or not.
        return { data: [], status: "OK", text: `${c.name} completed`, refresh: true };
      case "LOGOUT":
        this.#end();
        return {
          write: [
            ...untaggedStatus("BYE", "Logging out"),
            ...tagged(tag, "OK", "LOGOUT completed"),
          ],
          close: true,
        };
      case "ID":
        return {
          data: [untagged([atom("ID"), list([str("name"), str("mail")])])],
          status: "OK",
          text: "ID completed",
        };
      case "STARTTLS":
        if (this.#tls || !this.#opts.startTls) {
          return { data: [], status: "BAD", text: "TLS is not available" };
        }
        return { write: tagged(tag, "OK", "Begin TLS negotiation now"), startTls: true };
      case "LOGIN":
        if (!this.#loginAllowed()) return this.#privacyRequired();
        return this.#login(c.user, c.password);
      case "AUTHENTICATE":
        return this.#authenticate(tag, c.mechanism, c.initial);
      case "ENABLE": {
        const now = c.capabilities.filter((x) => ENABLABLE.includes(x) && !this.#enabled.has(x));
        for (const x of now) this.#enabled.add(x);
        if (now.includes("CONDSTORE") || now.includes("QRESYNC")) this.#condstore = true;
        const names = now.map((x) => x === "IMAP4REV2" ? "IMAP4rev2" : x);
        return {
          data: [untagged([atom("ENABLED"), ...names.map((x) => atom(x))])],
          status: "OK",
          text: "ENABLE completed",
        };
      }
      case "IDLE":
        this.#pending = { kind: "idle", tag };
        return this.#startIdle();
      case "SELECT":
      case "EXAMINE":
        return select(this, c).catch((e) => {
          // A failed SELECT leaves no folder selected (RFC 9051 §6.3.2).
          if (this.#selected) this.select(undefined);
          throw e;
        });
      case "CREATE":
        return create(this, c);
      case "DELETE":
        return del(this, c);
      case "RENAME":
        return rename(this, c);
      case "SUBSCRIBE":
      case "UNSUBSCRIBE":
        return subscribe(this, c);
      case "LIST":
      case "LSUB":
        return listFolders(this, c);
      case "NAMESPACE":
        return namespace(this);
      case "STATUS":
        return status(this, c);
      case "APPEND":
        return append(this, c);
      case "CLOSE":
      case "UNSELECT":
        return close(this, c);
      case "EXPUNGE":
        return expunge(this, c);
      case "SEARCH":
        return search(this, c, tag);
      case "FETCH":
        return fetch(this, c);
      case "STORE":
        return store(this, c);
      case "COPY":
      case "MOVE":
        return copyOrMove(this, c);
    }
  }

  // --- Capabilities and login -------------------------------------------------------------

  #loginAllowed(): boolean {
    return this.#tls || this.#opts.allowInsecureAuth;
  }

  #privacyRequired(): Result {
    return {
      data: [],
      status: "NO",
      text: "Log in after STARTTLS, or over implicit TLS",
      code: { name: "PRIVACYREQUIRED" },
    };
  }

  #capabilities(): string[] {
    return capabilities(this.#state === "not-authenticated", {
      startTls: this.#opts.startTls && !this.#tls,
      loginAllowed: this.#loginAllowed(),
      maxMessageSize: this.#opts.maxMessageSize,
    });
  }

  #capabilityCode(): ResponseCode {
    return { name: "CAPABILITY", args: this.#capabilities().map((c) => atom(c)) };
  }

  async #login(user: string, password: string): Promise<Result> {
    const account = await this.backend.authenticate(user, password, this.#client);
    this.#onEvent({ type: "login", user, ok: account !== undefined });
    if (!account) {
      return {
        data: [],
        status: "NO",
        text: "Authentication failed",
        code: { name: "AUTHENTICATIONFAILED" },
      };
    }
    this.#account = account;
    this.#state = "authenticated";
    // RFC 9051 §6.2.3: the capabilities may change with the login; say them.
    return { data: [], status: "OK", text: "Logged in", code: this.#capabilityCode() };
  }

  #authenticate(
    tag: string,
    mechanism: string,
    initial: string | undefined,
  ): Result | Output | Promise<Result> {
    if (mechanism !== "PLAIN") {
      return {
        data: [],
        status: "NO",
        text: "Unsupported authentication mechanism",
        code: { name: "CANNOT" },
      };
    }
    if (!this.#loginAllowed()) return this.#privacyRequired();
    if (initial === undefined) {
      this.#pending = { kind: "sasl", tag };
      return { write: continuation("") };
    }
    return this.#plain(initial);
  }

  #saslResponse(tag: string, line: Uint8Array): Output | Promise<Output> {
    this.#pending = undefined;
    const text = new TextDecoder().decode(line).trim();
    // RFC 9051 §6.2.2: "*" cancels the exchange.
    if (text === "*") return { write: tagged(tag, "BAD", "Authentication cancelled") };
    const r = this.#plain(text);
    return r instanceof Promise ? r.then((res) => this.#finish(tag, res)) : this.#finish(tag, r);
  }

  /** RFC 4616: [authzid] NUL authcid NUL passwd, base64; `=` is empty (RFC 4959). */
  #plain(b64: string): Result | Promise<Result> {
    const r = decodePlain(b64);
    if (r.kind === "malformed") return { data: [], status: "BAD", text: "Invalid SASL response" };
    // No acting for another user: an authorization identity must be the user itself.
    if (r.kind === "other-identity") {
      return {
        data: [],
        status: "NO",
        text: "Authentication failed",
        code: { name: "AUTHORIZATIONFAILED" },
      };
    }
    return this.#login(r.user, r.password);
  }

  // --- IDLE (RFC 2177, RFC 9051 §6.3.13) ---------------------------------------------------

  #startIdle(): Output | Promise<Output> {
    const write = continuation("idling");
    const view = this.#selected;
    if (!view || (!this.#dirty && !view.expungesPending)) return { write };
    // Changes already waiting are told at once, in the same answer; one that comes while we
    // look (#changed then finds us busy and only marks the folder dirty) is looked at too.
    return (async () => {
      const out = [...write];
      for (let looks = 0; looks < 10 && (looks === 0 || this.#dirty); looks++) {
        out.push(...(await this.#updates(true)).flat());
      }
      return { write: out };
    })();
  }

  #idleDone(tag: string, line: Uint8Array): Output | Promise<Output> {
    this.#pending = undefined;
    const text = new TextDecoder().decode(line).trim().toUpperCase();
    const finish = (): Output | Promise<Output> => {
      if (text !== "DONE") {
        const owed = this.#owed;
        this.#owed = [];
        return this.#countError({
          write: [...owed.flat(), ...tagged(tag, "BAD", "Expected DONE")],
        });
      }
      return this.#afterCommand(tag, { data: [], status: "OK", text: "IDLE terminated" });
    };
    // A look under way when DONE came ends first: what it found goes before the OK.
    const looking = this.#looking;
    return looking ? looking.then(finish) : finish();
  }
}
