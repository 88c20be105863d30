/**
 * The SMTP client: one connection's dialogue (RFC 5321 §3, §4.1), with STARTTLS (RFC 3207),
 * AUTH PLAIN/LOGIN (RFC 4954), PIPELINING (RFC 2920), SIZE (RFC 1870), 8BITMIME (RFC 6152)
 * and SMTPUTF8 (RFC 6531). Every line it sends is formatted by the protocol module, every reply
 * parsed by its {@link ReplyParser}; this file only sequences them over a {@link Wire}.
 *
 * @module
 */
import { type ParsedReply, ReplyParser, ReplySyntaxError } from "../smtp/reply.ts";
import { dotStuff } from "../smtp/data_reader.ts";
import { type Capabilities, NO_CAPABILITIES, parseEhlo } from "../smtp/ehlo.ts";
import {
  helloCommand,
  isUtf8Address,
  mailFromCommand,
  type MailParamsOut,
  MAX_TEXT_LINE,
  messageNeeds,
  rcptToCommand,
} from "../smtp/client_commands.ts";
import { chooseMechanism, loginResponses, plainResponse } from "../smtp/sasl.ts";
import type { ClientClock } from "./clock.ts";
import { ClientError } from "./errors.ts";
import { type TlsInfo, type TlsSettings, Wire, WireError } from "./wire.ts";

/**
 * Most lines one reply may have. RFC 5321 sets no limit; the EHLO replies of large providers
 * run to about 15 lines and other replies to a few, so 100 leaves room for any honest server
 * while a hostile one that streams `250-` lines for ever is cut off at once.
 */
export const MAX_REPLY_LINES = 100;

/**
 * Most octets one reply may have (line endings included): 100 lines of RFC 5321's 512-octet
 * reply line (§4.5.3.1.5) fit, and so do the few long lines some servers send; eight lines at
 * the 8 KiB line limit do not.
 */
export const MAX_REPLY_OCTETS = 64 * 1024;

/**
 * Timeouts in milliseconds. Each is for a whole reply, however many lines it has: RFC 5321
 * §4.5.3.2 times the wait for a reply, and a server must not stretch it by trickling lines.
 */
export interface Timeouts {
  readonly connect: number;
  /** Initial 220 greeting (RFC 5321 §4.5.3.2.1: 5 minutes). */
  readonly greeting: number;
  /** EHLO, MAIL, RCPT and the rest (§4.5.3.2.2, §4.5.3.2.3: 5 minutes). */
  readonly command: number;
  /** The 354 to DATA (§4.5.3.2.4: 2 minutes). */
  readonly dataStart: number;
  /** The reply after the final dot (§4.5.3.2.6: 10 minutes). */
  readonly dataEnd: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = {
  connect: 30_000,
  greeting: 300_000,
  command: 300_000,
  dataStart: 120_000,
  dataEnd: 600_000,
};

/** One line of the conversation for `-v`: `>` client, `<` server, `*` a note (TLS, connect). */
export interface TraceLine {
  readonly direction: ">" | "<" | "*";
  readonly text: string;
}

export interface ConnectOptions {
  /** Host name: for messages and as the name the TLS certificate must match. */
  readonly host: string;
  /** Address to connect to (an IP); the host name, resolved by the system, when absent. */
  readonly address?: string | undefined;
  readonly port: number;
  /** Our name for EHLO (RFC 5321 §4.1.1.1: the client's FQDN or an address literal). */
  readonly helo: string;
  /** TLS from the first byte (RFC 8314 §3), rather than plaintext. */
  readonly implicitTls?: boolean | undefined;
  /** Extra trusted CAs (PEM) for implicit TLS and STARTTLS. */
  readonly ca?: readonly string[] | undefined;
  /** Accept any certificate. */
  readonly insecure?: boolean | undefined;
  /**
   * Opportunistic TLS to an MX host (RFC 7435): the certificate is not checked, as with
   * `insecure`, and the transcript says why.
   */
  readonly opportunistic?: boolean | undefined;
  readonly timeouts?: Partial<Timeouts> | undefined;
  readonly trace?: ((line: TraceLine) => void) | undefined;
  /** The clock of every deadline (a test's, to time out without waiting); real time if absent. */
  readonly clock?: ClientClock | undefined;
}

/** The envelope of one transaction (RFC 5321 §2.3.1). `sender` "" is the null path `<>`. */
export interface Envelope {
  readonly sender: string;
  readonly recipients: readonly string[];
}

/** The server's answer to one RCPT. */
export interface RcptReply {
  readonly recipient: string;
  readonly command: string;
  readonly reply: ParsedReply;
  readonly accepted: boolean;
}

/** What one MAIL/RCPT/DATA transaction gave. */
export interface TransactionResult {
  readonly mailCommand: string;
  readonly mail: ParsedReply;
  /** One per recipient, in envelope order; empty when MAIL was refused. */
  readonly recipients: readonly RcptReply[];
  /** The reply that settles the accepted recipients: to DATA (not 354) or to the final dot. */
  readonly data: ParsedReply | undefined;
}

const ok = (r: ParsedReply) => r.code >= 200 && r.code < 300;

/** An open SMTP connection. */
export class SmtpClient {
  readonly #wire: Wire;
  readonly #options: ConnectOptions;
  readonly #timeouts: Timeouts;
  #capabilities: Capabilities = NO_CAPABILITIES;
  #tls: TlsInfo | undefined;
  readonly greeting: ParsedReply;

  private constructor(wire: Wire, options: ConnectOptions, greeting: ParsedReply) {
    this.#wire = wire;
    this.#options = options;
    this.#timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.greeting = greeting;
  }

  /** Connects and reads the greeting; fails unless it is 220 (RFC 5321 §3.1, §4.3.2). */
  static async connect(options: ConnectOptions): Promise<SmtpClient> {
    const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    const target = `${options.host}:${options.port}`;
    const shown = options.address && options.address !== options.host
      ? `${target} (${options.address})`
      : target;
    options.trace?.({ direction: "*", text: `Connecting to ${shown}` });
    let connected: Awaited<ReturnType<typeof Wire.connect>>;
    try {
      connected = await Wire.connect(
        options.address ?? options.host,
        options.port,
        timeouts.connect,
        options.implicitTls ? tlsSettings(options) : undefined,
        options.clock,
      );
    } catch (err) {
      throw wireToClient(`Connect to ${shown}`, err);
    }
    const { wire, tls } = connected;
    if (tls) traceTls(options, tls);
    let greeting: ParsedReply;
    try {
      greeting = await readReply(wire, timeouts.greeting, options.trace, "Greeting");
    } catch (err) {
      wire.close();
      throw err;
    }
    const client = new SmtpClient(wire, options, greeting);
    client.#tls = tls;
    if (greeting.code !== 220) {
      await client.quit();
      throw new ClientError(`Greeting from ${target}`, "reply", greeting);
    }
    return client;
  }

  /** What the server offered in its last EHLO reply. */
  get capabilities(): Capabilities {
    return this.#capabilities;
  }

  /** The TLS session, when the connection is encrypted. */
  get tls(): TlsInfo | undefined {
    return this.#tls;
  }

  /** Sends LINE and reads the reply; LABEL is what errors and the transcript show instead. */
  async #command(line: string, timeout: number, label = line): Promise<ParsedReply> {
    this.#options.trace?.({ direction: ">", text: label });
    try {
      await this.#wire.write(`${line}\r\n`);
    } catch (err) {
      throw wireToClient(label, err);
    }
    return await readReply(this.#wire, timeout, this.#options.trace, label);
  }

  /**
   * EHLO, falling back to HELO when the server does not know EHLO (RFC 5321 §3.2: a 500/502
   * and the like). A 4xx (e.g. 421) is not a reason to fall back.
   */
  async ehlo(): Promise<Capabilities> {
    const ehlo = helloCommand("EHLO", this.#options.helo);
    const r = await this.#command(ehlo, this.#timeouts.command);
    if (r.code === 250) return (this.#capabilities = parseEhlo(r));
    if (r.code < 500) throw new ClientError(ehlo, "reply", r);
    const helo = helloCommand("HELO", this.#options.helo);
    const h = await this.#command(helo, this.#timeouts.command);
    if (h.code !== 250) throw new ClientError(helo, "reply", h);
    return (this.#capabilities = NO_CAPABILITIES);
  }

  /**
   * STARTTLS, the handshake, and EHLO again: RFC 3207 §4.2 says to forget everything learned
   * before the handshake, so capabilities are read anew.
   */
  async startTls(): Promise<TlsInfo> {
    const r = await this.#command("STARTTLS", this.#timeouts.command);
    if (r.code !== 220) throw new ClientError("STARTTLS", "reply", r);
    let discarded: number;
    try {
      ({ tls: this.#tls, discarded } = await this.#wire.startTls(
        tlsSettings(this.#options),
        this.#timeouts.connect,
      ));
    } catch (err) {
      throw wireToClient("STARTTLS", err);
    }
    if (discarded > 0) {
      this.#options.trace?.({
        direction: "*",
        text: `Discarded ${discarded} octets sent after the 220 to STARTTLS (RFC 3207 §6)`,
      });
    }
    traceTls(this.#options, this.#tls);
    this.#capabilities = NO_CAPABILITIES;
    await this.ehlo();
    return this.#tls;
  }

  /**
   * AUTH with PLAIN (initial response, one round trip) or LOGIN, whichever the server offers
   * (RFC 4954 §4). The transcript and errors never show the credentials.
   */
  async authenticate(user: string, password: string): Promise<void> {
    const offered = this.#capabilities.auth;
    const mechanism = chooseMechanism(offered);
    if (!mechanism) {
      throw new ClientError(
        "AUTH",
        "unsupported",
        offered.length === 0
          ? `${this.#options.host} does not offer AUTH`
          : `${this.#options.host} offers no mechanism we support (${offered.join(" ")})`,
      );
    }
    const t = this.#timeouts.command;
    let r: ParsedReply;
    let label: string;
    if (mechanism === "PLAIN") {
      label = "AUTH PLAIN";
      r = await this.#command(`AUTH PLAIN ${plainResponse(user, password)}`, t, `${label} ***`);
    } else {
      label = "AUTH LOGIN";
      const [u, p] = loginResponses(user, password);
      r = await this.#command(label, t);
      if (r.code === 334) r = await this.#command(u, t, "***");
      if (r.code === 334) r = await this.#command(p, t, "***");
    }
    if (r.code === 334) {
      // A challenge we do not expect: cancel the exchange (RFC 4954 §4: "*").
      r = await this.#command("*", t);
      throw new ClientError(label, "protocol", `unexpected challenge from ${this.#options.host}`);
    }
    if (r.code !== 235) {
      // 535 bad credentials, 534 mechanism too weak, 538 encryption required (RFC 4954 §6).
      throw new ClientError(label, [534, 535, 538].includes(r.code) ? "auth" : "reply", r);
    }
  }

  /**
   * Checks what MESSAGE needs against the capabilities, and returns the MAIL parameters to
   * declare. Throws `unsupported` when the server lacks an extension the message requires:
   * we do not downgrade 8-bit content (RFC 6152 §3 leaves that to the sender).
   */
  paramsFor(envelope: Envelope, message: Uint8Array): MailParamsOut {
    const caps = this.#capabilities;
    const host = this.#options.host;
    const needs = messageNeeds(message);
    if (needs.bareLineEnding) {
      throw new ClientError("DATA", "unsupported", "message has a CR or LF not part of CRLF");
    }
    if (needs.longLine > 0) {
      throw new ClientError(
        "DATA",
        "unsupported",
        `line ${needs.longLine} of the message is longer than ${MAX_TEXT_LINE} octets`,
      );
    }
    const utf8 = needs.utf8Headers || isUtf8Address(envelope.sender) ||
      envelope.recipients.some(isUtf8Address);
    if (utf8 && !caps.smtputf8) {
      throw new ClientError("MAIL", "unsupported", `${host} does not offer SMTPUTF8`);
    }
    if (needs.eightBit && !caps.eightBitMime && !utf8) {
      throw new ClientError("MAIL", "unsupported", `${host} does not offer 8BITMIME`);
    }
    if (caps.size && message.length > caps.size) {
      throw new ClientError(
        "MAIL",
        "unsupported",
        `message of ${message.length} octets is over ${host}'s SIZE limit of ${caps.size}`,
      );
    }
    return {
      size: caps.size !== undefined ? message.length : undefined,
      // RFC 6531 §3.4: SMTPUTF8 implies 8-bit content is allowed; declare BODY when offered.
      body: needs.eightBit && caps.eightBitMime ? "8BITMIME" : undefined,
      smtputf8: utf8,
    };
  }

  /**
   * One transaction: MAIL, every RCPT (in one flight with PIPELINING, RFC 2920 §3.1), then
   * DATA and the dot-stuffed message if any recipient was accepted. Refusals come back in the
   * result; only a broken connection or protocol throws.
   */
  async send(envelope: Envelope, message: Uint8Array): Promise<TransactionResult> {
    const params = this.paramsFor(envelope, message);
    const mailLine = mailFromCommand(envelope.sender, params);
    const rcptLines = envelope.recipients.map(rcptToCommand);
    const t = this.#timeouts.command;
    let mail: ParsedReply;
    const rcptReplies: ParsedReply[] = [];
    if (this.#capabilities.pipelining) {
      const trace = this.#options.trace;
      for (const l of [mailLine, ...rcptLines]) trace?.({ direction: ">", text: l });
      try {
        await this.#wire.write([mailLine, ...rcptLines].map((l) => `${l}\r\n`).join(""));
      } catch (err) {
        throw wireToClient(mailLine, err);
      }
      mail = await readReply(this.#wire, t, trace, mailLine);
      for (const l of rcptLines) rcptReplies.push(await readReply(this.#wire, t, trace, l));
    } else {
      mail = await this.#command(mailLine, t);
      if (ok(mail)) { for (const l of rcptLines) rcptReplies.push(await this.#command(l, t)); }
    }
    if (!ok(mail)) return { mailCommand: mailLine, mail, recipients: [], data: undefined };
    const recipients = envelope.recipients.map((recipient, i): RcptReply => {
      const reply = rcptReplies[i]!;
      return { recipient, command: rcptLines[i]!, reply, accepted: ok(reply) };
    });
    if (!recipients.some((r) => r.accepted)) {
      // Nothing to deliver: close the transaction rather than send DATA (RFC 5321 §3.3).
      await this.#command("RSET", t).catch(() => undefined);
      return { mailCommand: mailLine, mail, recipients, data: undefined };
    }
    const start = await this.#command("DATA", this.#timeouts.dataStart);
    if (start.code !== 354) return { mailCommand: mailLine, mail, recipients, data: start };
    const stuffed = dotStuff(message);
    this.#traceData(stuffed);
    try {
      await this.#wire.write(stuffed);
    } catch (err) {
      throw wireToClient("DATA", err, "while sending the message");
    }
    const data = await readReply(
      this.#wire,
      this.#timeouts.dataEnd,
      this.#options.trace,
      "DATA",
      "before the final reply (the message may or may not have been delivered)",
    );
    return { mailCommand: mailLine, mail, recipients, data };
  }

  #traceData(stuffed: Uint8Array): void {
    const trace = this.#options.trace;
    if (!trace) return;
    const text = new TextDecoder().decode(stuffed);
    for (const line of text.slice(0, -2).split("\r\n")) trace({ direction: ">", text: line });
  }

  /** QUIT politely (RFC 5321 §4.1.1.10) and close; never throws. */
  async quit(): Promise<void> {
    try {
      await this.#command("QUIT", Math.min(this.#timeouts.command, 10_000));
    } catch { /* the server may already be gone */ }
    this.#wire.close();
  }

  /** Closes the connection without QUIT. */
  close(): void {
    this.#wire.close();
  }
}

function tlsSettings(options: ConnectOptions): TlsSettings {
  return {
    servername: options.host,
    ca: options.ca,
    insecure: options.insecure === true || options.opportunistic === true,
  };
}

function traceTls(options: ConnectOptions, info: TlsInfo): void {
  const certificate = info.verified
    ? "certificate verified"
    : options.opportunistic
    ? "certificate not verified (opportunistic, RFC 7435)"
    : "certificate NOT verified (--insecure)";
  options.trace?.({
    direction: "*",
    text: `TLS started: ${info.protocol}, ${info.cipher}, ${certificate}`,
  });
}

/** A server's reply that broke a limit: the connection cannot be trusted to resynchronise. */
function overLimit(wire: Wire, label: string, failure: "protocol" | "timeout", detail: string) {
  wire.close();
  return new ClientError(label, failure, detail);
}

/**
 * Reads one whole reply, tracing each line; wire and syntax failures become ClientErrors. The
 * reply must be complete within TIMEOUT and {@link MAX_REPLY_LINES} / {@link MAX_REPLY_OCTETS};
 * breaking a limit closes the connection and is a temporary failure (the queue retries later).
 */
async function readReply(
  wire: Wire,
  timeout: number,
  trace: ((line: TraceLine) => void) | undefined,
  label: string,
  when?: string,
): Promise<ParsedReply> {
  const parser = new ReplyParser();
  const deadline = wire.clock.now() + timeout;
  let lines = 0;
  let octets = 0;
  try {
    for (;;) {
      const line = await wire.readLine(deadline);
      const seconds = Math.round(timeout / 1000);
      if (line === undefined && lines === 0) {
        throw overLimit(wire, label, "timeout", `no answer within ${seconds} s${suffix(when)}`);
      }
      if (line === undefined) {
        throw overLimit(wire, label, "timeout", `reply not complete within ${seconds} s`);
      }
      lines++;
      octets += line.length + 2;
      if (lines > MAX_REPLY_LINES) {
        throw overLimit(wire, label, "protocol", `reply longer than ${MAX_REPLY_LINES} lines`);
      }
      if (octets > MAX_REPLY_OCTETS) {
        throw overLimit(wire, label, "protocol", `reply longer than ${MAX_REPLY_OCTETS} octets`);
      }
      trace?.({ direction: "<", text: line });
      const r = parser.push(line);
      if (r) return r;
    }
  } catch (err) {
    if (err instanceof ReplySyntaxError) {
      wire.close();
      throw new ClientError(label, "protocol", err.message, { cause: err });
    }
    throw wireToClient(label, err, when);
  }
}

const suffix = (when: string | undefined) => (when ? ` ${when}` : "");

function wireToClient(label: string, err: unknown, when?: string): ClientError {
  if (err instanceof ClientError) return err;
  if (err instanceof WireError) {
    return new ClientError(label, err.failure, `${err.message}${suffix(when)}`, {
      cause: err,
    });
  }
  return new ClientError(label, "protocol", err instanceof Error ? err.message : String(err), {
    cause: err,
  });
}
