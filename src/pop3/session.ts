/**
 * One POP3 session as a pure state machine (RFC 1939 §3): bytes in, bytes out, no sockets. The
 * line reader cuts command lines out of the stream, the parser reads them, one table
 * (session_types.ts) says which commands the state accepts, a handler answers against the
 * maildrop the backend opened, and response.ts formats every line.
 *
 * AUTHORIZATION: USER/PASS (RFC 1939 §7), AUTH PLAIN (RFC 5034), STLS (RFC 2595), CAPA
 * (RFC 2449). TRANSACTION: STAT, LIST, UIDL, TOP, RETR, DELE, RSET, NOOP. QUIT in TRANSACTION
 * enters UPDATE: messages retrieved get `\Seen`, deleted ones are expunged, in one backend
 * call. A connection that ends any other way (dropped, timed out, shut down) deletes nothing
 * but still records what was retrieved as seen, as Dovecot does.
 *
 * @module
 */
import {
  type Account,
  type LoginResult,
  type Maildrop,
  type MaildropMessage,
  type Pop3Backend,
  Pop3BackendError,
} from "./backend.ts";
import { capabilities, SASL_MECHANISMS } from "./capabilities.ts";
import {
  type Command,
  isCommandName,
  parseArguments,
  Pop3CommandError,
  splitCommand,
} from "./command.ts";
import { type LineEvent, LineReader, MAX_COMMAND_LINE, MAX_SASL_LINE } from "./line_reader.ts";
import { continuation, err, messageResponse, multiline, ok, topResponse } from "./response.ts";
import { decodePlain } from "../sasl_plain.ts";
import {
  ACCEPTS,
  type Output,
  type SessionEvent,
  type SessionOptions,
  type State,
} from "./session_types.ts";

/** `-ERR` answers to bad commands before the session is ended (Dovecot's limit). */
const DEFAULT_MAX_ERRORS = 20;

/** Octets of answers given to pipelined commands before waiting for the socket to drain. */
const DEFAULT_OUTPUT_BATCH = 262_144;

const NOTHING: Output = { write: [] };

export class Pop3Session {
  readonly #backend: Pop3Backend;
  readonly #opts: SessionOptions;
  readonly #client: string;
  readonly #onEvent: (e: SessionEvent) => void;
  readonly #reader = new LineReader();
  #state: State = "authorization";
  #tls: boolean;
  /** The name USER gave, waiting for PASS. */
  #user: string | undefined;
  /** AUTH PLAIN sent its `+` continuation: the next line is the client's response. */
  #saslPending = false;
  #account: Account | undefined;
  #maildrop: Maildrop | undefined;
  /** Indexes (message number - 1) marked by DELE. */
  readonly #deleted = new Set<number>();
  /** Indexes retrieved by RETR. */
  readonly #retrieved = new Set<number>();
  #errors = 0;
  /** The session is over: no input is read any more, and the maildrop is being released. */
  #done = false;

  constructor(
    options: SessionOptions,
    backend: Pop3Backend,
    client: string,
    onEvent: (e: SessionEvent) => void = () => {},
  ) {
    this.#opts = options;
    this.#backend = backend;
    this.#client = client;
    this.#onEvent = onEvent;
    this.#tls = options.tls;
  }

  /** The state (RFC 1939 §3). */
  get state(): State {
    return this.#state;
  }

  /** Who is logged in, once the maildrop is open. */
  get account(): Account | undefined {
    return this.#account;
  }

  /** Whether a command line has begun and not ended (for the driver's line deadline). */
  get midLine(): boolean {
    return this.#reader.midLine;
  }

  // --- The driver's side ------------------------------------------------------------------

  /** The greeting (RFC 1939 §4). No APOP timestamp: passwords are kept only as slow hashes. */
  greeting(): Output {
    return { write: [ok(`${this.#opts.hostname} POP3 ready`)] };
  }

  /** The handshake that STLS began has completed (RFC 2595 §4). */
  tlsStarted(): void {
    this.#tls = true;
  }

  /** The client was silent too long: RFC 1939 §3 closes without a response or any deletion. */
  timeout(): Output {
    this.#abandon();
    return { write: [], close: true };
  }

  /** The server is stopping: nothing is deleted (as Dovecot, with a code saying it passes). */
  shutdown(): Output {
    this.#abandon();
    return { write: [err("Server shutting down", "SYS/TEMP")], close: true };
  }

  /** The connection is gone (dropped without QUIT): nothing is deleted (RFC 1939 §6). */
  closed(): void {
    this.#abandon();
  }

  /**
   * Takes bytes from the client and answers the whole commands they complete, at once when it
   * can, else with a promise. With {@link Output.more}, commands are left waiting: call again
   * with no bytes once the answers are flushed.
   */
  receive(bytes: Uint8Array): Output | Promise<Output> {
    if (this.#done) return NOTHING;
    this.#reader.push(bytes);
    return this.#answer([], 0);
  }

  /** Answers lines until the input runs out, the batch is full, or the session stops reading. */
  #answer(write: Uint8Array[], size: number): Output | Promise<Output> {
    const batch = this.#opts.outputBatch ?? DEFAULT_OUTPUT_BATCH;
    for (;;) {
      if (this.#done) return { write, close: true };
      if (size >= batch && this.#reader.hasInput) return { write, more: true };
      const ev = this.#reader.next(this.#saslPending ? MAX_SASL_LINE : MAX_COMMAND_LINE);
      if (!ev) return { write };
      const r = this.#line(ev);
      if (r instanceof Promise) {
        return r.then((out) => this.#took(write, size, out));
      }
      if (r.close || r.startTls) return { ...r, write: [...write, ...r.write] };
      for (const chunk of r.write) {
        write.push(chunk);
        size += chunk.length;
      }
    }
  }

  #took(write: Uint8Array[], size: number, out: Output): Output | Promise<Output> {
    if (out.close || out.startTls) return { ...out, write: [...write, ...out.write] };
    for (const chunk of out.write) {
      write.push(chunk);
      size += chunk.length;
    }
    return this.#answer(write, size);
  }

  /** One line: a SASL response, or a command checked against the state's table. */
  #line(ev: LineEvent): Output | Promise<Output> {
    if (this.#saslPending) {
      this.#saslPending = false;
      if (ev.kind === "too-long") return this.#bad("Line too long");
      return this.#guard("AUTH", () => this.#saslResponse(new TextDecoder().decode(ev.line)));
    }
    if (ev.kind === "too-long") return this.#bad("Line too long");
    let command: Command;
    try {
      const { keyword, args } = splitCommand(ev.line);
      if (!isCommandName(keyword)) return this.#bad("Unknown command");
      if (!ACCEPTS[this.#state].has(keyword)) {
        return this.#bad(
          this.#state === "authorization" ? "Log in first" : "Command not valid after login",
        );
      }
      command = parseArguments(keyword, args);
    } catch (e) {
      if (e instanceof Pop3CommandError) return this.#bad(e.message);
      throw e;
    }
    return this.#guard(command.name, () => this.#dispatch(command));
  }

  /**
   * Runs a handler and turns what it throws into replies, in one place: a backend refusal is
   * `-ERR` with its code, a bad argument counts as an error, anything else is logged and ends
   * the connection.
   */
  #guard(name: string, run: () => Output | Promise<Output>): Output | Promise<Output> {
    const fail = (e: unknown): Output => {
      if (e instanceof Pop3BackendError) return { write: [err(said(e), e.code)] };
      if (e instanceof Pop3CommandError) return this.#bad(e.message);
      this.#onEvent({ type: "error", command: name, error: e });
      this.#abandon();
      return { write: [err("Internal error, closing connection", "SYS/TEMP")], close: true };
    };
    try {
      const r = run();
      return r instanceof Promise ? r.catch(fail) : r;
    } catch (e) {
      return fail(e);
    }
  }

  /** A bad command: `-ERR TEXT`, and the end of the session after too many. */
  #bad(text: string): Output {
    if (++this.#errors < (this.#opts.maxErrors ?? DEFAULT_MAX_ERRORS)) {
      return { write: [err(text)] };
    }
    this.#abandon();
    return { write: [err("Too many bad commands, closing connection")], close: true };
  }

  #dispatch(c: Command): Output | Promise<Output> {
    switch (c.name) {
      case "CAPA":
        return {
          write: multiline(
            "Capability list follows",
            capabilities({ startTls: this.#stlsOffered(), loginAllowed: this.#loginAllowed() }),
          ),
        };
      case "QUIT":
        return this.#quit();
      case "STLS":
        if (!this.#stlsOffered()) {
          return { write: [err(this.#tls ? "TLS is already active" : "TLS is not available")] };
        }
        // RFC 2595 §4: whatever the client sent after STLS was sent in the clear; it is not read.
        this.#reader.reset();
        this.#user = undefined;
        return { write: [ok("Begin TLS negotiation")], startTls: true };
      case "USER":
        if (!this.#loginAllowed()) return this.#privacyRequired();
        this.#user = c.user;
        return { write: [ok("Send PASS")] };
      case "PASS": {
        if (!this.#loginAllowed()) return this.#privacyRequired();
        const user = this.#user;
        // RFC 1939 §7: PASS only right after USER; a failed PASS needs USER again.
        this.#user = undefined;
        if (user === undefined) return this.#bad("Send USER first");
        return this.#login(user, c.password);
      }
      case "AUTH":
        return this.#auth(c.mechanism, c.initial);
      case "STAT": {
        const { count, size } = this.#totals();
        return { write: [ok(`${count} ${size}`)] };
      }
      case "LIST":
      case "UIDL": {
        const show = (n: number, m: MaildropMessage) =>
          `${n} ${c.name === "LIST" ? m.size : m.uid}`;
        if (c.message !== undefined) {
          return { write: [ok(show(c.message, this.#message(c.message)))] };
        }
        const lines: string[] = [];
        this.#drop().messages.forEach((m, i) => {
          if (!this.#deleted.has(i)) lines.push(show(i + 1, m));
        });
        const { count, size } = this.#totals();
        const text = c.name === "LIST" ? `${count} messages (${size} octets)` : undefined;
        return { write: multiline(text, lines) };
      }
      case "RETR":
      case "TOP": {
        const message = this.#message(c.message);
        const n = c.message;
        const lines = c.name === "TOP" ? c.lines : undefined;
        const drop = this.#drop();
        const read = lines !== undefined && drop.top
          ? drop.top(message, lines)
          : drop.content(message);
        return then(read, (bytes): Output => {
          if (this.#done) return NOTHING;
          if (bytes === undefined) return { write: [err(`Message ${n} no longer exists`)] };
          if (lines !== undefined) return { write: topResponse(bytes, lines) };
          this.#retrieved.add(n - 1);
          return { write: messageResponse(bytes) };
        });
      }
      case "DELE":
        this.#message(c.message);
        this.#deleted.add(c.message - 1);
        return { write: [ok(`Message ${c.message} deleted`)] };
      case "RSET": {
        this.#deleted.clear();
        const { count, size } = this.#totals();
        return { write: [ok(`Maildrop has ${count} messages (${size} octets)`)] };
      }
      case "NOOP":
        return { write: [ok()] };
    }
  }

  // --- AUTHORIZATION ----------------------------------------------------------------------

  #loginAllowed(): boolean {
    return this.#tls || this.#opts.allowInsecureAuth;
  }

  #stlsOffered(): boolean {
    return this.#opts.startTls && !this.#tls;
  }

  /** A login attempted before TLS where that is not allowed (RFC 2595 §2.2; Dovecot's code). */
  #privacyRequired(): Output {
    const how = this.#stlsOffered() ? "after STLS" : "over TLS";
    return { write: [err(`Plaintext login refused: log in ${how}`, "AUTH")] };
  }

  #auth(mechanism: string | undefined, initial: string | undefined): Output | Promise<Output> {
    if (mechanism === undefined) {
      // Without arguments, the mechanisms (the draft before RFC 5034; clients still ask).
      return { write: multiline(undefined, this.#loginAllowed() ? [...SASL_MECHANISMS] : []) };
    }
    if (mechanism !== "PLAIN") return { write: [err("Unsupported authentication mechanism")] };
    if (!this.#loginAllowed()) return this.#privacyRequired();
    if (initial === undefined) {
      this.#saslPending = true;
      return { write: [continuation()] };
    }
    return this.#plain(initial);
  }

  #saslResponse(text: string): Output | Promise<Output> {
    // RFC 5034 §4: "*" cancels the exchange, and the AUTH command fails.
    if (text.trim() === "*") return { write: [err("Authentication cancelled")] };
    return this.#plain(text);
  }

  #plain(response: string): Output | Promise<Output> {
    const r = decodePlain(response);
    if (r.kind === "malformed") return this.#bad("Invalid SASL response");
    if (r.kind === "other-identity") {
      this.#onEvent({ type: "login", user: r.user, ok: false });
      return { write: [err("Authentication failed: no acting for another user", "AUTH")] };
    }
    return this.#login(r.user, r.password);
  }

  #login(user: string, password: string): Output | Promise<Output> {
    return then(
      this.#backend.authenticate(user, password, this.#client),
      (r: LoginResult): Output | Promise<Output> => {
        this.#onEvent({ type: "login", user, ok: r.kind === "ok" });
        if (this.#done) return NOTHING;
        switch (r.kind) {
          case "ok":
            return this.#open(r.account);
          case "refused":
            return { write: [err("Authentication failed", "AUTH")] };
          case "busy":
            return { write: [err("Too many logins at once: try again later", "SYS/TEMP")] };
          case "locked":
            this.#abandon();
            return {
              write: [err("Too many failed logins: try again later", "SYS/TEMP")],
              close: true,
            };
        }
      },
    );
  }

  /** Opens and locks the maildrop; `IN-USE` from the backend leaves us in AUTHORIZATION. */
  #open(account: Account): Output | Promise<Output> {
    return then(this.#backend.open(account), (maildrop): Output => {
      if (this.#done) {
        // The connection ended while the maildrop opened: let it go at once.
        maildrop.close();
        return NOTHING;
      }
      this.#account = account;
      this.#maildrop = maildrop;
      this.#state = "transaction";
      const { count, size } = this.#totals();
      this.#onEvent({ type: "open", messages: count, size });
      return { write: [ok(`Logged in: ${count} messages (${size} octets)`)] };
    });
  }

  // --- TRANSACTION ------------------------------------------------------------------------

  #drop(): Maildrop {
    return this.#maildrop!;
  }

  /** Messages not marked deleted, and their octets (RFC 1939 §5 STAT). */
  #totals(): { count: number; size: number } {
    let count = 0;
    let size = 0;
    this.#maildrop?.messages.forEach((m, i) => {
      if (this.#deleted.has(i)) return;
      count++;
      size += m.size;
    });
    return { count, size };
  }

  /** Message N, which must exist and not be marked deleted (RFC 1939 §5). */
  #message(n: number): MaildropMessage {
    const m = this.#drop().messages[n - 1];
    if (n < 1 || m === undefined) throw new Pop3CommandError(`No message ${n}`);
    if (this.#deleted.has(n - 1)) throw new Pop3CommandError(`Message ${n} is deleted`);
    return m;
  }

  /** Messages retrieved, less those in EXCEPT. */
  #seen(except: ReadonlySet<number>): MaildropMessage[] {
    const messages = this.#drop().messages;
    return [...this.#retrieved].filter((i) => !except.has(i)).sort((a, b) => a - b).map((i) =>
      messages[i]!
    );
  }

  // --- UPDATE -----------------------------------------------------------------------------

  /** QUIT (RFC 1939 §6): in TRANSACTION the maildrop is updated, then the connection ends. */
  #quit(): Output | Promise<Output> {
    const maildrop = this.#maildrop;
    this.#done = true;
    this.#state = "update";
    this.#reader.reset();
    const bye = `${this.#opts.hostname} POP3 signing off`;
    if (maildrop === undefined) return { write: [ok(bye)], close: true };
    const deleted = [...this.#deleted].sort((a, b) => a - b);
    const expunge = deleted.map((i) => maildrop.messages[i]!);
    const seen = this.#seen(this.#deleted);
    if (expunge.length === 0 && seen.length === 0) {
      maildrop.close();
      return { write: [ok(bye)], close: true };
    }
    const done = (): Output => {
      maildrop.close();
      this.#onEvent({ type: "update", seen: seen.length, expunged: expunge.length });
      const text = expunge.length > 0 ? `${bye}: ${expunge.length} messages deleted` : bye;
      return { write: [ok(text)], close: true };
    };
    const failed = (e: unknown): Output => {
      maildrop.close();
      // RFC 1939 §6: the update is one transaction, so nothing was deleted.
      if (e instanceof Pop3BackendError) {
        return { write: [err(`Deleted messages not removed: ${said(e)}`, e.code)], close: true };
      }
      this.#onEvent({ type: "error", command: "QUIT", error: e });
      return {
        write: [err("Deleted messages not removed: internal error", "SYS/TEMP")],
        close: true,
      };
    };
    try {
      const r = maildrop.update({ seen, expunge });
      return r instanceof Promise ? r.then(done, failed) : done();
    } catch (e) {
      return failed(e);
    }
  }

  /**
   * The session ends without QUIT: nothing is deleted, messages retrieved are marked seen, the
   * lock is released. Runs once; later calls do nothing.
   */
  #abandon(): void {
    if (this.#done) return;
    this.#done = true;
    this.#state = "update";
    this.#reader.reset();
    const maildrop = this.#maildrop;
    if (maildrop === undefined) return;
    const seen = this.#seen(new Set());
    if (seen.length === 0) {
      maildrop.close();
      return;
    }
    const report = (e: unknown) => this.#onEvent({ type: "error", command: "update", error: e });
    const finish = () => {
      maildrop.close();
      this.#onEvent({ type: "update", seen: seen.length, expunged: 0 });
    };
    try {
      const r = maildrop.update({ seen, expunge: [] });
      if (r instanceof Promise) r.then(finish, (e) => (maildrop.close(), report(e)));
      else finish();
    } catch (e) {
      maildrop.close();
      report(e);
    }
  }
}

/** A backend's refusal as one short line of text (it is the store's, not ours to trust). */
function said(e: Pop3BackendError): string {
  return e.message.replace(/[\x00-\x1f\x7f]+/g, " ").slice(0, 200);
}

/** F applied to V, at once when V is a value, once it resolves when it is a promise. */
function then<T, R>(v: T | Promise<T>, f: (t: T) => R | Promise<R>): R | Promise<R> {
  return v instanceof Promise ? v.then(f) : f(v);
}
