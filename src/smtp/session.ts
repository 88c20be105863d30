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
}

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
  | { readonly type: "error"; readonly command: string; readonly error: unknown };

/** What the I/O driver must do after feeding bytes in. */
export interface Output {
  /** Reply text to write, possibly several replies (RFC 2920 pipelining), possibly empty. */
  readonly write: string;
  /** Close the connection once `write` is flushed. */
  readonly close: boolean;
}

interface Transaction {
  readonly id: string;
  readonly sender: string;
  readonly params: MailParams;
  readonly recipients: string[];
}

const COMMANDS = "HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP";
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
  }

  get state(): State {
    return this.#state;
  }

  /** Whether a mail transaction is under way (graceful shutdown lets it finish). */
  get inTransaction(): boolean {
    return this.#state === "mail" || this.#state === "rcpt" || this.#state === "data";
  }

  /** The opening 220 (RFC 5321 §4.3.1). */
  greeting(): Output {
    return this.#out(reply(220, undefined, `${this.#config.hostname} ESMTP ready`), false);
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

  /** Feeds bytes from the client; returns every reply they call for, in order. */
  async receive(buf: Uint8Array): Promise<Output> {
    let write = "";
    let offset = 0;
    while (offset < buf.length && !this.#closing) {
      if (this.#state === "data") {
        const r = this.#data!.push(buf, offset);
        offset = r.offset;
        if (!r.done) break;
        write += this.#format(await this.#finishData());
        continue;
      }
      const next = this.#lines.next(buf, offset);
      if (!next) break;
      offset = next[1];
      write += this.#format(await this.#command(next[0]));
    }
    return { write, close: this.#closing };
  }

  #out(r: Reply, close: boolean): Output {
    if (close) this.#closing = true;
    return { write: this.#format(r), close };
  }

  /** RFC 2034 §3: enhanced status codes only once EHLO negotiated them. */
  #format(r: Reply): string {
    return formatReply(r, this.#esmtp);
  }

  get #ctx(): SessionContext {
    return { client: this.#client, helo: this.#helo };
  }

  async #command(ev: LineEvent): Promise<Reply> {
    if (ev.kind === "too-long") return reply(500, "5.5.2", "Line too long");
    let line: string;
    try {
      line = utf8.decode(ev.line);
    } catch {
      return reply(500, "5.5.2", "Invalid UTF-8 in command");
    }
    if (CONTROL.test(line)) return reply(500, "5.5.2", "Invalid characters in command");
    const { verb, args } = parseCommand(line);
    try {
      switch (verb) {
        case "HELO":
          return this.#hello(args, false);
        case "EHLO":
          return this.#hello(args, true);
        case "MAIL":
          return await this.#mail(args);
        case "RCPT":
          return await this.#rcpt(args);
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
    } catch (err) {
      if (!(err instanceof SmtpError)) this.#onEvent({ type: "error", command: verb, error: err });
      return errorToReply(err);
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
        "HELP",
      ].join("\n"),
    );
  }

  #outOfSequence(text: string): SmtpError {
    return new SmtpError(503, "5.5.1", text);
  }

  async #mail(args: string): Promise<Reply> {
    if (this.#state === "fresh") throw this.#outOfSequence("Send HELO/EHLO first");
    if (this.#state !== "greeted") throw this.#outOfSequence("Sender already specified");
    const cmd = parseMail(args, this.#esmtp, this.#config.maxMessageSize);
    const sender = cmd.sender ? mailboxToString(cmd.sender) : "";
    try {
      await this.#backend.sender?.(cmd.sender, this.#ctx);
    } catch (err) {
      if (err instanceof SmtpError) {
        this.#onEvent({ type: "refused", stage: "mail", sender, reply: err.toString() });
      }
      throw err;
    }
    this.#tx = { id: this.#backend.newId(), sender, params: cmd.params, recipients: [] };
    this.#state = "mail";
    return reply(250, "2.1.0", "Sender OK");
  }

  async #rcpt(args: string): Promise<Reply> {
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
    let address: string;
    try {
      address = await this.#backend.recipient(cmd.recipient, this.#ctx);
    } catch (err) {
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
    }
    if (!tx.recipients.includes(address)) tx.recipients.push(address);
    this.#state = "rcpt";
    return reply(250, "2.1.5", "Recipient OK");
  }

  #dataCommand(args: string): Reply {
    if (this.#state === "fresh") throw this.#outOfSequence("Send HELO/EHLO first");
    if (this.#state === "greeted") throw this.#outOfSequence("Need MAIL command");
    if (this.#state === "mail") throw this.#outOfSequence("Need RCPT command");
    if (args !== "") throw syntaxError("DATA takes no arguments");
    this.#state = "data";
    this.#data = new DataReader(this.#config.maxMessageSize);
    return reply(354, undefined, "End data with <CR><LF>.<CR><LF>");
  }

  async #finishData(): Promise<Reply> {
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
        tls: this.#client.tls !== undefined,
        auth: false,
        utf8: tx.params.smtputf8,
      }),
      id: tx.id,
      for: tx.recipients.length === 1 ? tx.recipients[0] : undefined,
      tls: this.#client.tls,
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
    try {
      await this.#backend.deliver(delivery, this.#ctx);
    } catch (err) {
      if (err instanceof SmtpError) return refuse(err);
      this.#onEvent({ type: "error", command: "DATA", error: err });
      return refuse(new SmtpError(451, "4.3.0", "Local error in processing, try again later"));
    }
    this.#onEvent({
      type: "accepted",
      id: tx.id,
      sender: tx.sender,
      recipients: tx.recipients,
      size: delivery.size,
    });
    return reply(250, "2.0.0", `OK: queued as ${tx.id}`);
  }

  #reset(): void {
    this.#tx = undefined;
    this.#data = undefined;
    if (this.#state !== "fresh") this.#state = "greeted";
  }
}
