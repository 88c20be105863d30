/**
 * The server side of an SMTP conversation as a state machine, without sockets.
 *
 * Bytes go in through {@link SmtpSession.receive}; replies come out as a string for the I/O
 * driver to write, plus whether to close. Everything the session needs from the outside world
 * (which recipients exist, where a message is stored) comes through {@link SessionBackend}.
 * Tests drive the whole dialogue, framing included, with no network.
 *
 * @module
 */
import { type Mailbox, mailboxToString } from "./address.ts";
import {
  type MailParams,
  parseCommand,
  parseHeloName,
  parseMail,
  parseRcpt,
  syntaxError,
} from "./command.ts";
import { DataReader } from "./data_reader.ts";
import { DEFAULT_MAX_COMMAND_LINE, type LineEvent, LineReader } from "./line_reader.ts";
import { errorToReply, formatReply, type Reply, reply, SmtpError } from "./reply.ts";
import { receivedHeader, returnPathHeader, withProtocol } from "./trace.ts";
import { saslContinue, type SaslOutcome, saslStart, type SaslStep } from "./sasl.ts";

/**
 * Where the conversation is. RFC 5321 §4.1.4 orders the commands:
 * fresh -(HELO/EHLO)-> greeted -(MAIL)-> mail -(RCPT)-> rcpt -(DATA)-> data -> greeted.
 */
export type State = "fresh" | "greeted" | "mail" | "rcpt" | "data";

/** Limits and names; the server fills them from its configuration. */
export interface SessionConfig {
  /** Our name in the greeting, the EHLO reply and Received headers. */
  readonly hostname: string;
  /** Largest message accepted, in octets (advertised with SIZE, RFC 1870). */
  readonly maxMessageSize: number;
  /** Recipients per message; RFC 5321 §4.5.3.1.8 requires at least 100 be accepted. */
  readonly maxRecipients: number;
  /** Longest command line in octets including CRLF. */
  readonly maxCommandLine?: number;
  /** Clock, injectable for tests. */
  readonly now?: () => Date;
  /**
   * `mx` receives mail for local domains from anyone; `submission` (RFC 6409) serves our own
   * users: AUTH is required before MAIL.
   */
  readonly role?: "mx" | "submission";
  /** Offer STARTTLS (RFC 3207): the I/O driver has a certificate to upgrade with. */
  readonly startTls?: boolean;
  /** Offer AUTH without TLS (only ever set for loopback clients, by explicit configuration). */
  readonly allowInsecureAuth?: boolean;
  /** Error replies one session may collect before it is disconnected with 421. */
  readonly maxErrors?: number;
  /**
   * The I/O driver hands every buffer over to {@link SmtpSession.receive} for good (a fresh
   * buffer per socket read, never reused): message data may then be kept without a copy.
   */
  readonly ownsInput?: boolean;
}

/** Default for {@link SessionConfig.maxErrors} (Postfix's smtpd_hard_error_limit is 20). */
export const DEFAULT_MAX_ERRORS = 30;

/** The peer of this session. */
export interface ClientInfo {
  readonly address: string;
  readonly port: number;
  /** TLS protocol and cipher when the connection is encrypted, for the Received header. */
  readonly tls?: string | undefined;
}

/** What the backend may look at when it decides. */
export interface SessionContext {
  readonly client: ClientInfo;
  /** The HELO/EHLO name. */
  readonly helo: string;
  readonly role: "mx" | "submission";
  /** Whether the connection is encrypted (STARTTLS done, or implicit TLS). */
  readonly tls: boolean;
  /** The authenticated user (canonical address), if AUTH succeeded. */
  readonly authUser: string | undefined;
}

/** A message whose data has arrived, ready to be stored. */
export interface Delivery {
  readonly id: string;
  /** Envelope sender, `""` for the null reverse-path. */
  readonly sender: string;
  /** Accepted recipients as the backend named them, without duplicates. */
  readonly recipients: readonly string[];
  readonly params: MailParams;
  /** The message with our trace headers first; the concatenation is what gets stored. */
  readonly chunks: readonly Uint8Array[];
  readonly size: number;
  readonly receivedAt: Date;
}

/**
 * The session's view of the rest of the server, shaped like the transaction (go-smtp, maddy):
 * each method may refuse by throwing an {@link SmtpError}; any other error becomes 451 4.3.0.
 */
export interface SessionBackend {
  /** A fresh queue id for a transaction. */
  newId(): string;
  /** Checks MAIL FROM (undefined: the null reverse-path). */
  sender?(sender: Mailbox | undefined, ctx: SessionContext): void | Promise<void>;
  /**
   * Checks RCPT TO and returns the address to deliver to. `undefined` is RFC 5321's
   * domain-less `<Postmaster>`.
   */
  recipient(recipient: Mailbox | undefined, ctx: SessionContext): string | Promise<string>;
  /** Stores the message durably; resolves only once it is committed. */
  deliver(delivery: Delivery, ctx: SessionContext): void | Promise<void>;
  /**
   * Checks a username and password (AUTH, RFC 4954) and returns the canonical user; refuses
   * with SmtpError 535 5.7.8, or 421 4.7.0 when this client is locked out.
   */
  authenticate?(username: string, password: string, ctx: SessionContext): Promise<string>;
}

/** Something worth a log line, reported to the server through `onEvent`. */
export type SessionEvent =
  | {
    readonly type: "accepted";
    readonly id: string;
    readonly sender: string;
    readonly recipients: readonly string[];
    readonly size: number;
  }
  | {
    readonly type: "refused";
    readonly stage: "mail" | "rcpt" | "data";
    readonly id?: string | undefined;
    readonly sender?: string | undefined;
    readonly recipient?: string | undefined;
    readonly recipients?: readonly string[] | undefined;
    readonly size?: number | undefined;
    readonly reply: string;
  }
  | { readonly type: "auth"; readonly user: string; readonly ok: boolean; readonly reply: string }
  | { readonly type: "error"; readonly command: string; readonly error: unknown };

/** What the I/O driver must do after feeding bytes in. */
export interface Output {
  /** Reply text to write, possibly several replies (RFC 2920 pipelining), possibly empty. */
  readonly write: string;
  /** Close the connection once `write` is flushed. */
  readonly close: boolean;
  /**
   * Start the TLS handshake once `write` is flushed, then call {@link SmtpSession.tlsStarted}.
   * Input that followed the STARTTLS command has been discarded (RFC 3207 §6): the driver must
   * drop any it holds too.
   */
  readonly startTls?: boolean;
}

interface Transaction {
  readonly id: string;
  readonly sender: string;
  readonly params: MailParams;
  readonly recipients: string[];
}

const COMMANDS = "HELO EHLO STARTTLS AUTH MAIL RCPT DATA RSET NOOP QUIT VRFY HELP";
const utf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();
// Control characters other than TAB have no place in a command line (and NUL is a classic
// way to make two parsers disagree about where a string ends).
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

/** One SMTP server session. Create one per connection. */
export class SmtpSession {
  readonly #config: SessionConfig;
  readonly #backend: SessionBackend;
  readonly #client: ClientInfo;
  readonly #onEvent: (e: SessionEvent) => void;
  readonly #lines: LineReader;
  #state: State = "fresh";
  #esmtp = false;
  #helo = "";
  #tx: Transaction | undefined;
  #data: DataReader | undefined;
  #closing = false;
  #startTls = false;
  #tls: string | undefined;
  #authUser: string | undefined;
  #sasl: SaslStep | undefined;
  #errors = 0;

  constructor(
    config: SessionConfig,
    backend: SessionBackend,
    client: ClientInfo,
    onEvent: (e: SessionEvent) => void = () => {},
  ) {
    this.#config = config;
    this.#backend = backend;
    this.#client = client;
    this.#onEvent = onEvent;
    this.#lines = new LineReader(config.maxCommandLine ?? DEFAULT_MAX_COMMAND_LINE);
    this.#tls = client.tls;
  }

  get state(): State {
    return this.#state;
  }

  /** Whether a mail transaction is under way (graceful shutdown lets it finish). */
  get inTransaction(): boolean {
    return this.#state === "mail" || this.#state === "rcpt" || this.#state === "data";
  }

  /** Whether a line (command or DATA) has begun and not ended: the per-line deadline runs. */
  get midLine(): boolean {
    return this.#state === "data" ? this.#data!.midLine : this.#lines.buffered > 0;
  }

  /** The authenticated user, if any. */
  get authUser(): string | undefined {
    return this.#authUser;
  }

  /**
   * The TLS handshake after STARTTLS succeeded. RFC 3207 §4.2: the client must start over with
   * EHLO, and nothing learnt before TLS (EHLO name, AUTH) carries over.
   */
  tlsStarted(description: string): void {
    this.#tls = description;
    this.#startTls = false;
    this.#reset();
    this.#state = "fresh";
    this.#esmtp = false;
    this.#helo = "";
    this.#authUser = undefined;
    this.#sasl = undefined;
  }

  /**
   * The opening 220 (RFC 5321 §4.3.1), on two lines so that the driver can send the last one a
   * moment later and catch clients that speak first (see {@link SmtpSession.earlyTalker}).
   */
  greeting(): Output {
    const host = this.#config.hostname;
    return this.#out(reply(220, undefined, `${host} ESMTP\n${host} ready`), false);
  }

  /** The client spoke before the greeting was complete (RFC 5321 §3.1): refuse and close. */
  earlyTalker(): Output {
    return this.#out(
      reply(554, "5.5.0", `${this.#config.hostname} Early talker: wait for the greeting`),
      true,
    );
  }

  /** The client was silent too long (RFC 5321 §4.5.3.2). */
  timeout(): Output {
    return this.#out(
      reply(421, "4.4.2", `${this.#config.hostname} Timeout, closing connection`),
      true,
    );
  }

  /** The server is shutting down (RFC 5321 §3.8). */
  shutdown(): Output {
    return this.#out(reply(421, "4.3.2", `${this.#config.hostname} Service shutting down`), true);
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
    while (offset < buf.length && !this.#closing && !this.#startTls) {
      const inData = this.#state === "data";
      let answered: Reply | Promise<Reply>;
      if (inData) {
        const r = this.#data!.push(buf, offset);
        offset = r.offset;
        if (!r.done) break;
        answered = this.#finishData();
      } else {
        const next = this.#lines.next(buf, offset);
        if (!next) break;
        offset = next[1];
        answered = this.#line(next[0]);
      }
      if (answered instanceof Promise) {
        const at = offset;
        return answered.then((r) => this.#receiveFrom(buf, at, write + this.#written(r, inData)));
      }
      write += this.#written(answered, inData);
    }
    if (this.#startTls) {
      // RFC 3207 §6: whatever the client sent after STARTTLS was sent in the clear and must not
      // be executed after the handshake (the 2011 STARTTLS command injection bugs).
      this.#lines.takePending();
      return { write, close: false, startTls: true };
    }
    return { write, close: this.#closing };
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
    if (r.code === 421) {
      this.#closing = true;
      return [r];
    }
    if (r.code >= 400 && ++this.#errors >= (this.#config.maxErrors ?? DEFAULT_MAX_ERRORS)) {
      this.#closing = true;
      return [
        r,
        reply(421, "4.7.0", `${this.#config.hostname} Too many errors, closing connection`),
      ];
    }
    return [r];
  }

  #out(r: Reply, close: boolean): Output {
    if (close) this.#closing = true;
    return { write: this.#format(r), close };
  }

  /** RFC 2034 §3: enhanced status codes only once EHLO negotiated them. */
  #format(r: Reply): string {
    return formatReply(r, this.#esmtp);
  }

  get #role(): "mx" | "submission" {
    return this.#config.role ?? "mx";
  }

  get #ctx(): SessionContext {
    return {
      client: this.#client,
      helo: this.#helo,
      role: this.#role,
      tls: this.#tls !== undefined,
      authUser: this.#authUser,
    };
  }

  /** Whether AUTH may be used now: submission only, and under TLS unless allowed otherwise. */
  get #authOffered(): boolean {
    return this.#role === "submission" && this.#backend.authenticate !== undefined &&
      (this.#tls !== undefined || this.#config.allowInsecureAuth === true);
  }

  #line(ev: LineEvent): Reply | Promise<Reply> {
    return this.#sasl ? this.#saslResponse(ev) : this.#command(ev);
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
      if (!(err instanceof SmtpError)) this.#onEvent({ type: "error", command: verb, error: err });
      return errorToReply(err);
    };
    try {
      const answered = this.#dispatch(verb, args);
      return answered instanceof Promise ? answered.catch(failed) : answered;
    } catch (err) {
      return failed(err);
    }
  }

  #dispatch(verb: string, args: string): Reply | Promise<Reply> {
    switch (verb) {
      case "HELO":
        return this.#hello(args, false);
      case "EHLO":
        return this.#hello(args, true);
      case "STARTTLS":
        return this.#startTlsCommand(args);
      case "AUTH":
        return this.#auth(args);
      case "MAIL":
        return this.#mail(args);
      case "RCPT":
        return this.#rcpt(args);
      case "DATA":
        return this.#dataCommand(args);
      case "RSET":
        if (args !== "") throw syntaxError("RSET takes no arguments");
        this.#reset();
        return reply(250, "2.0.0", "OK");
      case "NOOP":
        return reply(250, "2.0.0", "OK");
      case "QUIT":
        this.#closing = true;
        return reply(221, "2.0.0", `${this.#config.hostname} closing connection`);
      case "VRFY":
        if (args === "") throw syntaxError("Syntax: VRFY <address>");
        // RFC 5321 §3.5.3: 252 when we will not say; never confirm which users exist.
        return reply(
          252,
          "2.5.2",
          "Cannot VRFY user, but will accept message and attempt delivery",
        );
      case "HELP":
        return reply(214, "2.0.0", `Commands: ${COMMANDS}\nSee RFC 5321`);
      default:
        return reply(500, "5.5.1", "Command unrecognized");
    }
  }

  #hello(args: string, esmtp: boolean): Reply {
    const name = parseHeloName(args);
    // RFC 5321 §4.1.4: HELO/EHLO in the middle of a transaction resets it.
    this.#reset();
    this.#helo = name;
    this.#esmtp = esmtp;
    this.#state = "greeted";
    const hello = `${this.#config.hostname} Hello ${name} [${this.#client.address}]`;
    if (!esmtp) return reply(250, undefined, hello);
    // RFC 2034 §3: no enhanced code on the EHLO reply itself.
    return reply(
      250,
      undefined,
      [
        hello,
        "PIPELINING", // RFC 2920
        `SIZE ${this.#config.maxMessageSize}`, // RFC 1870
        "8BITMIME", // RFC 6152
        "ENHANCEDSTATUSCODES", // RFC 2034
        "SMTPUTF8", // RFC 6531
        // RFC 3207 §4.2: not offered again once TLS is up.
        ...(this.#config.startTls && this.#tls === undefined ? ["STARTTLS"] : []),
        ...(this.#authOffered && !this.#authUser ? ["AUTH PLAIN LOGIN"] : []), // RFC 4954
        "HELP",
      ].join("\n"),
    );
  }

  #startTlsCommand(args: string): Reply {
    if (!this.#config.startTls) return reply(502, "5.5.1", "STARTTLS not available");
    if (this.#tls !== undefined) throw this.#outOfSequence("TLS already active");
    if (args !== "") throw syntaxError("STARTTLS takes no arguments");
    if (this.#state === "fresh") throw this.#outOfSequence("Send EHLO first");
    if (this.inTransaction) throw this.#outOfSequence("Mail transaction in progress");
    this.#startTls = true;
    return reply(220, "2.0.0", "Ready to start TLS");
  }

  async #auth(args: string): Promise<Reply> {
    if (this.#role !== "submission" || !this.#backend.authenticate) {
      return reply(502, "5.5.1", "AUTH not available on this port");
    }
    if (this.#state === "fresh") throw this.#outOfSequence("Send EHLO first");
    if (!this.#esmtp) throw this.#outOfSequence("AUTH needs EHLO");
    if (this.#authUser) throw this.#outOfSequence("Already authenticated");
    if (this.inTransaction) throw this.#outOfSequence("Mail transaction in progress");
    // RFC 4954 §4 and RFC 3207: plaintext passwords only over TLS.
    if (!this.#authOffered) {
      return reply(538, "5.7.11", "Encryption required for requested authentication mechanism");
    }
    const [mechanism = "", initial, extra] = args.split(" ");
    if (extra !== undefined) throw syntaxError("Syntax: AUTH mechanism [initial-response]");
    return await this.#saslOutcome(saslStart(mechanism.toUpperCase(), initial));
  }

  async #saslResponse(ev: LineEvent): Promise<Reply> {
    const step = this.#sasl!;
    this.#sasl = undefined;
    if (ev.kind === "too-long") return reply(500, "5.5.2", "Line too long");
    return await this.#saslOutcome(saslContinue(step, new TextDecoder().decode(ev.line)));
  }

  async #saslOutcome(o: SaslOutcome): Promise<Reply> {
    if (o.kind === "challenge") {
      this.#sasl = o.step;
      return o.reply;
    }
    if (o.kind === "refused") {
      return o.user === undefined ? o.reply : this.#authFailed(o.user, o.reply);
    }
    try {
      this.#authUser = await this.#backend.authenticate!(o.user, o.password, this.#ctx);
    } catch (err) {
      if (err instanceof SmtpError) return this.#authFailed(o.user, err.toReply());
      throw err;
    }
    this.#onEvent({ type: "auth", user: this.#authUser, ok: true, reply: "235 2.7.0" });
    return reply(235, "2.7.0", "Authentication successful");
  }

  #authFailed(user: string, r: Reply): Reply {
    this.#onEvent({ type: "auth", user, ok: false, reply: `${r.code} ${r.enhanced ?? ""}`.trim() });
    return r;
  }

  #outOfSequence(text: string): SmtpError {
    return new SmtpError(503, "5.5.1", text);
  }

  #mail(args: string): Reply | Promise<Reply> {
    if (this.#state === "fresh") throw this.#outOfSequence("Send HELO/EHLO first");
    if (this.#state !== "greeted") throw this.#outOfSequence("Sender already specified");
    // RFC 6409 §4.3 / RFC 4954 §6: submission needs an authenticated user.
    if (this.#role === "submission" && !this.#authUser) {
      throw new SmtpError(
        530,
        "5.7.0",
        this.#authOffered ? "Authentication required" : "Must issue a STARTTLS command first",
      );
    }
    const cmd = parseMail(args, this.#esmtp, this.#config.maxMessageSize);
    const sender = cmd.sender ? mailboxToString(cmd.sender) : "";
    return andThen(
      () => this.#backend.sender?.(cmd.sender, this.#ctx),
      () => {
        this.#tx = { id: this.#backend.newId(), sender, params: cmd.params, recipients: [] };
        this.#state = "mail";
        return reply(250, "2.1.0", "Sender OK");
      },
      (err) => {
        if (err instanceof SmtpError) {
          this.#onEvent({ type: "refused", stage: "mail", sender, reply: err.toString() });
        }
        throw err;
      },
    );
  }

  #rcpt(args: string): Reply | Promise<Reply> {
    const tx = this.#tx;
    if (!tx || (this.#state !== "mail" && this.#state !== "rcpt")) {
      throw this.#outOfSequence(
        this.#state === "fresh" ? "Send HELO/EHLO first" : "Need MAIL command",
      );
    }
    // RFC 5321 §4.5.3.1.10: 452 for too many recipients, so the client sends the rest later.
    if (tx.recipients.length >= this.#config.maxRecipients) {
      throw new SmtpError(452, "4.5.3", "Too many recipients");
    }
    const cmd = parseRcpt(args, tx.params.smtputf8);
    const given = cmd.recipient ? mailboxToString(cmd.recipient) : "postmaster";
    return andThen(
      () => this.#backend.recipient(cmd.recipient, this.#ctx),
      (address) => {
        if (!tx.recipients.includes(address)) tx.recipients.push(address);
        this.#state = "rcpt";
        return reply(250, "2.1.5", "Recipient OK");
      },
      (err) => {
        if (err instanceof SmtpError) {
          this.#onEvent({
            type: "refused",
            stage: "rcpt",
            id: tx.id,
            sender: tx.sender,
            recipient: given,
            reply: err.toString(),
          });
        }
        throw err;
      },
    );
  }

  #dataCommand(args: string): Reply {
    if (this.#state === "fresh") throw this.#outOfSequence("Send HELO/EHLO first");
    if (this.#state === "greeted") throw this.#outOfSequence("Need MAIL command");
    if (this.#state === "mail") throw this.#outOfSequence("Need RCPT command");
    if (args !== "") throw syntaxError("DATA takes no arguments");
    this.#state = "data";
    this.#data = new DataReader(this.#config.maxMessageSize, this.#config.ownsInput);
    return reply(354, undefined, "End data with <CR><LF>.<CR><LF>");
  }

  #finishData(): Reply | Promise<Reply> {
    const tx = this.#tx!;
    const data = this.#data!;
    this.#tx = undefined;
    this.#data = undefined;
    this.#state = "greeted";
    const refuse = (err: SmtpError): Reply => {
      this.#onEvent({
        type: "refused",
        stage: "data",
        id: tx.id,
        sender: tx.sender,
        recipients: tx.recipients,
        size: data.size,
        reply: err.toString(),
      });
      return err.toReply();
    };
    if (data.overflow) {
      return refuse(new SmtpError(552, "5.3.4", "Message too big for system"));
    }
    if (data.bareLineEnding) {
      // Our SMTP smuggling policy: refuse, never repair (see data_reader.ts).
      return refuse(
        new SmtpError(
          554,
          "5.6.0",
          "Message refused: bare CR or LF in data, lines must end with CRLF",
        ),
      );
    }
    const receivedAt = this.#config.now?.() ?? new Date();
    const trace = returnPathHeader(tx.sender) + receivedHeader({
      helo: this.#helo,
      clientAddress: this.#client.address,
      by: this.#config.hostname,
      with: withProtocol({
        esmtp: this.#esmtp,
        tls: this.#tls !== undefined,
        auth: this.#authUser !== undefined,
        utf8: tx.params.smtputf8,
      }),
      id: tx.id,
      for: tx.recipients.length === 1 ? tx.recipients[0] : undefined,
      tls: this.#tls,
      date: receivedAt,
    });
    const head = encoder.encode(trace);
    const delivery: Delivery = {
      id: tx.id,
      sender: tx.sender,
      recipients: tx.recipients,
      params: tx.params,
      chunks: [head, ...data.chunks],
      size: head.length + data.size,
      receivedAt,
    };
    return andThen(
      () => this.#backend.deliver(delivery, this.#ctx),
      () => {
        this.#onEvent({
          type: "accepted",
          id: tx.id,
          sender: tx.sender,
          recipients: tx.recipients,
          size: delivery.size,
        });
        return reply(250, "2.0.0", `OK: queued as ${tx.id}`);
      },
      (err) => {
        if (err instanceof SmtpError) return refuse(err);
        this.#onEvent({ type: "error", command: "DATA", error: err });
        return refuse(new SmtpError(451, "4.3.0", "Local error in processing, try again later"));
      },
    );
  }

  #reset(): void {
    this.#tx = undefined;
    this.#data = undefined;
    if (this.#state !== "fresh") this.#state = "greeted";
  }
}

/**
 * Runs STEP, then OK with its value or FAIL with its error: at once when STEP returns a value
 * or throws, after it settles when it returns a promise. A backend that answers synchronously
 * (the usual case) thus costs the session no turn of the event loop.
 */
function andThen<T, R>(
  step: () => T | Promise<T>,
  ok: (value: T) => R,
  fail: (err: unknown) => R,
): R | Promise<R> {
  let value: T | Promise<T>;
  try {
    value = step();
  } catch (err) {
    return fail(err);
  }
  return value instanceof Promise ? value.then(ok, fail) : ok(value);
}
