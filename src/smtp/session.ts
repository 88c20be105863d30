/**
 * The server side of an SMTP conversation as a state machine, without sockets.
 *
 * Bytes go in through {@link SmtpSession.receive}; replies come out as a string for the I/O
 * driver to write, plus whether to close. Everything the session needs from the outside world
 * (which recipients exist, where a message is stored) comes through {@link SessionBackend}.
 * Tests drive the whole dialogue, framing included, with no network.
 *
 * The parts: session_state.ts holds the states and the one table of what each accepts, which
 * this file consults before it dispatches a command; session_commands.ts (HELO/EHLO, STARTTLS,
 * RSET, NOOP, QUIT, VRFY, HELP), session_transaction.ts (MAIL, RCPT, DATA) and session_auth.ts
 * (AUTH) run the commands; session_types.ts is what the server sees.
 *
 * @module
 */
import { parseCommand } from "./command.ts";
import { DEFAULT_MAX_COMMAND_LINE, type LineEvent, LineReader } from "./line_reader.ts";
import { errorToReply, formatReply, type Reply, reply, SmtpError } from "./reply.ts";
import { auth, saslResponse } from "./session_auth.ts";
import { hello, help, noop, quit, rset, startTls, vrfy } from "./session_commands.ts";
import {
  type Conversation,
  isVerb,
  moveTo,
  outOfSequence,
  resetTransaction,
  roleOf,
  type State,
  type Verb,
} from "./session_state.ts";
import { data, finishData, mail, rcpt } from "./session_transaction.ts";
import {
  type ClientInfo,
  DEFAULT_MAX_ERRORS,
  type Output,
  type SessionBackend,
  type SessionConfig,
  type SessionEvent,
} from "./session_types.ts";

export * from "./session_types.ts";
export { ACCEPTS, outOfSequence, type State, STATES, type Verb, VERBS } from "./session_state.ts";

type Handler = (c: Conversation, args: string) => Reply | Promise<Reply>;

/** Each command's handler; none of them checks the state (see {@link ACCEPTS}). */
const HANDLERS: { readonly [V in Verb]: Handler } = {
  HELO: (c, args) => hello(c, args, false),
  EHLO: (c, args) => hello(c, args, true),
  STARTTLS: startTls,
  AUTH: auth,
  MAIL: mail,
  RCPT: rcpt,
  DATA: data,
  RSET: rset,
  NOOP: noop,
  QUIT: quit,
  VRFY: vrfy,
  HELP: help,
};

const utf8 = new TextDecoder("utf-8", { fatal: true });
// Control characters other than TAB have no place in a command line (and NUL is a classic
// way to make two parsers disagree about where a string ends).
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

/**
 * 502 for a command this session does not offer at all, in any state (RFC 5321 §4.2.4):
 * STARTTLS without a certificate, AUTH anywhere but on a submission port that checks passwords.
 */
function notOffered(c: Conversation, verb: Verb): Reply | undefined {
  if (verb === "STARTTLS" && !c.config.startTls) {
    return reply(502, "5.5.1", "STARTTLS not available");
  }
  if (verb === "AUTH" && (roleOf(c) !== "submission" || !c.backend.authenticate)) {
    return reply(502, "5.5.1", "AUTH not available on this port");
  }
  return undefined;
}

/** One SMTP server session. Create one per connection. */
export class SmtpSession {
  readonly #c: Conversation;
  readonly #lines: LineReader;
  #errors = 0;

  constructor(
    config: SessionConfig,
    backend: SessionBackend,
    client: ClientInfo,
    onEvent: (e: SessionEvent) => void = () => {},
  ) {
    this.#c = {
      config,
      backend,
      client,
      onEvent,
      state: "fresh",
      esmtp: false,
      helo: "",
      tx: undefined,
      data: undefined,
      tls: client.tls,
      authUser: undefined,
      sasl: undefined,
    };
    this.#lines = new LineReader(config.maxCommandLine ?? DEFAULT_MAX_COMMAND_LINE);
  }

  get state(): State {
    return this.#c.state;
  }

  /** Whether a mail transaction is under way (graceful shutdown lets it finish). */
  get inTransaction(): boolean {
    const s = this.#c.state;
    return s === "mail" || s === "rcpt" || s === "data";
  }

  /** Whether a line (command or DATA) has begun and not ended: the per-line deadline runs. */
  get midLine(): boolean {
    return this.#c.state === "data" ? this.#c.data!.midLine : this.#lines.buffered > 0;
  }

  /** The authenticated user, if any. */
  get authUser(): string | undefined {
    return this.#c.authUser;
  }

  /**
   * The TLS handshake after STARTTLS succeeded. RFC 3207 §4.2: the client must start over with
   * EHLO, and nothing learnt before TLS (EHLO name, AUTH) carries over.
   */
  tlsStarted(description: string): void {
    const c = this.#c;
    c.tls = description;
    resetTransaction(c);
    c.esmtp = false;
    c.helo = "";
    c.authUser = undefined;
    c.sasl = undefined;
    moveTo(c, "fresh");
  }

  /**
   * The opening 220 (RFC 5321 §4.3.1), on two lines so that the driver can send the last one a
   * moment later and catch clients that speak first (see {@link SmtpSession.earlyTalker}).
   */
  greeting(): Output {
    const host = this.#c.config.hostname;
    return this.#out(reply(220, undefined, `${host} ESMTP\n${host} ready`), false);
  }

  /** The client spoke before the greeting was complete (RFC 5321 §3.1): refuse and close. */
  earlyTalker(): Output {
    return this.#out(
      reply(554, "5.5.0", `${this.#c.config.hostname} Early talker: wait for the greeting`),
      true,
    );
  }

  /** The client was silent too long (RFC 5321 §4.5.3.2). */
  timeout(): Output {
    return this.#out(
      reply(421, "4.4.2", `${this.#c.config.hostname} Timeout, closing connection`),
      true,
    );
  }

  /** The server is shutting down (RFC 5321 §3.8). */
  shutdown(): Output {
    return this.#out(reply(421, "4.3.2", `${this.#c.config.hostname} Service shutting down`), true);
  }

  /**
   * Feeds bytes from the client; returns every reply they call for, in order. The result is
   * synchronous unless a step has to wait (a backend call that returns a promise: a commit
   * under load, a password check). The driver can then write the replies before it reads
   * again: a client's next command is usually in by then, and costs no wait for input.
   */
  receive(buf: Uint8Array): Output | Promise<Output> {
    return this.#receiveFrom(buf, 0, "");
  }

  /** Goes on with BUF from OFFSET, after the replies in WRITE. */
  #receiveFrom(buf: Uint8Array, offset: number, write: string): Output | Promise<Output> {
    const c = this.#c;
    while (offset < buf.length && c.state !== "closed" && c.state !== "tls") {
      const inData = c.state === "data";
      let answered: Reply | Promise<Reply>;
      if (inData) {
        const r = c.data!.push(buf, offset);
        offset = r.offset;
        if (!r.done) break;
        answered = finishData(c);
      } else {
        const next = this.#lines.next(buf, offset);
        if (!next) break;
        offset = next[1];
        answered = c.state === "auth" ? saslResponse(c, next[0]) : this.#command(next[0]);
      }
      if (answered instanceof Promise) {
        const at = offset;
        return answered.then((r) => this.#receiveFrom(buf, at, write + this.#written(r, inData)));
      }
      write += this.#written(answered, inData);
    }
    if (c.state === "tls") {
      // RFC 3207 §6: whatever the client sent after STARTTLS was sent in the clear and must not
      // be executed after the handshake (the 2011 STARTTLS command injection bugs).
      this.#lines.takePending();
      return { write, close: false, startTls: true };
    }
    return { write, close: c.state === "closed" };
  }

  /**
   * A reply as written. A command's counts towards the error limit, and is followed by a 421
   * past it; the reply to a message's data is not counted.
   */
  #written(r: Reply, toData: boolean): string {
    if (toData) return this.#format(r);
    let write = "";
    for (const each of this.#count(r)) write += this.#format(each);
    return write;
  }

  /**
   * Counts error replies; past the limit the client is told so and disconnected. A 421 always
   * closes the connection (RFC 5321 §3.8).
   */
  #count(r: Reply): Reply[] {
    const c = this.#c;
    if (r.code === 421) {
      c.state = "closed";
      return [r];
    }
    if (r.code >= 400 && ++this.#errors >= (c.config.maxErrors ?? DEFAULT_MAX_ERRORS)) {
      c.state = "closed";
      return [
        r,
        reply(421, "4.7.0", `${c.config.hostname} Too many errors, closing connection`),
      ];
    }
    return [r];
  }

  #out(r: Reply, close: boolean): Output {
    if (close) this.#c.state = "closed";
    return { write: this.#format(r), close };
  }

  /** RFC 2034 §3: enhanced status codes only once EHLO negotiated them. */
  #format(r: Reply): string {
    return formatReply(r, this.#c.esmtp);
  }

  #command(ev: LineEvent): Reply | Promise<Reply> {
    if (ev.kind === "too-long") return reply(500, "5.5.2", "Line too long");
    let line: string;
    try {
      line = utf8.decode(ev.line);
    } catch {
      return reply(500, "5.5.2", "Invalid UTF-8 in command");
    }
    if (CONTROL.test(line)) return reply(500, "5.5.2", "Invalid characters in command");
    const { verb, args } = parseCommand(line);
    const failed = (err: unknown): Reply => {
      if (!(err instanceof SmtpError)) {
        this.#c.onEvent({ type: "error", command: verb, error: err });
      }
      return errorToReply(err);
    };
    try {
      const answered = this.#dispatch(verb, args);
      return answered instanceof Promise ? answered.catch(failed) : answered;
    } catch (err) {
      return failed(err);
    }
  }

  /**
   * Unknown (500), not offered here (502), out of sequence (503, from the one table), or run.
   * The sequence is checked before the arguments: a client is told what to send first before
   * it is told how.
   */
  #dispatch(verb: string, args: string): Reply | Promise<Reply> {
    if (!isVerb(verb)) return reply(500, "5.5.1", "Command unrecognized");
    const c = this.#c;
    const missing = notOffered(c, verb);
    if (missing) return missing;
    const why = outOfSequence(c.state, verb, c);
    if (why !== undefined) return reply(503, "5.5.1", `Bad sequence of commands: ${why}`);
    return HANDLERS[verb](c, args);
  }
}
