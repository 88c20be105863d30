/**
 * Delivery of one message to one destination: try the next hops in order (RFC 5321 §5.1) and
 * return a result per recipient. `mail send` uses it for its relay server and for each domain
 * with `--direct`; the outbound queue of `mail serve` is meant to use it unchanged, so results
 * say for each recipient whether it was sent, refused for good (5xx: bounce) or deferred
 * (4xx or no connection: retry later).
 *
 * @module
 */
import { type Reply, replyToString } from "../smtp/reply.ts";
import type { ClientClock } from "./clock.ts";
import { ClientError, type ClientFailure } from "./errors.ts";
import { type Envelope, SmtpClient, type Timeouts, type TraceLine } from "./smtp_client.ts";
import type { TlsInfo } from "./wire.ts";
import { isLoopbackAddress } from "../net.ts";

/** Where to connect: a host name (for TLS and messages) and, when known, its address. */
export interface NextHop {
  readonly host: string;
  /** IP address to connect to; the system resolver resolves `host` when absent. */
  readonly address?: string | undefined;
  readonly port: number;
}

/**
 * - `auto`: STARTTLS when offered (opportunistic, RFC 3207); the password only ever goes over
 *   TLS, or in the clear to a loopback address.
 * - `starttls`: STARTTLS is required. `implicit`: TLS from the first byte (RFC 8314). `none`.
 */
export type TlsMode = "auto" | "starttls" | "implicit" | "none";

export interface Credentials {
  readonly user: string;
  readonly password: string;
}

export interface DeliverOptions {
  /** Our name for EHLO. */
  readonly helo: string;
  readonly tls: TlsMode;
  readonly ca?: readonly string[] | undefined;
  readonly insecure?: boolean | undefined;
  /**
   * Opportunistic TLS, for MX hosts (RFC 7435; Postfix's `smtp_tls_security_level = may`): the
   * certificate is not checked, and with `tls: "auto"` a refused STARTTLS or a failed handshake
   * sends the mail in plaintext on a new connection to the same host. Ignored when there are
   * credentials: a password only goes to a server whose certificate was verified.
   */
  readonly opportunistic?: boolean | undefined;
  readonly credentials?: Credentials | undefined;
  readonly timeouts?: Partial<Timeouts> | undefined;
  readonly trace?: ((line: TraceLine) => void) | undefined;
  /** The clock of every deadline; real time if absent. */
  readonly clock?: ClientClock | undefined;
  /** Told of each hop that could not be used, before any transaction began on it, and why. */
  readonly onHopFailure?: ((hop: NextHop, err: ClientError) => void) | undefined;
  /** Told of the session a transaction runs on: its hop and TLS state (undefined: plaintext). */
  readonly onSession?: ((hop: NextHop, tls: TlsInfo | undefined) => void) | undefined;
}

/** sent: a server took responsibility (250 after the data); refused: 5xx; deferred: retry. */
export type RecipientStatus = "sent" | "refused" | "deferred";

/** The outcome for one recipient. */
export interface RecipientResult {
  readonly recipient: string;
  readonly status: RecipientStatus;
  /** One line for people: the reply, or the command that failed and why. */
  readonly text: string;
  /** The server reply that decided it, when a server replied. */
  readonly reply?: Reply | undefined;
  /** The failure kind, for failures. */
  readonly failure?: ClientFailure | undefined;
  /** `host:port` of the hop that decided it (the last one tried, for failures of every hop). */
  readonly hop?: string | undefined;
}

const hopName = (hop: NextHop) => `${hop.host}:${hop.port}`;

/** Loopback: the only place a password may go unencrypted (never leaves the machine). */
export function isLoopback(hop: NextHop): boolean {
  return isLoopbackAddress(hop.address ?? hop.host);
}

/** Opens a session on HOP: connect, EHLO, TLS per the mode, AUTH when credentials are set. */
export async function openSession(hop: NextHop, options: DeliverOptions): Promise<SmtpClient> {
  const client = await SmtpClient.connect({
    host: hop.host,
    address: hop.address,
    port: hop.port,
    helo: options.helo,
    implicitTls: options.tls === "implicit",
    ca: options.ca,
    insecure: options.insecure,
    opportunistic: opportunistic(options),
    timeouts: options.timeouts,
    trace: options.trace,
    clock: options.clock,
  });
  try {
    let caps = await client.ehlo();
    if (options.tls === "starttls" && !caps.startTls) {
      throw new ClientError("STARTTLS", "unsupported", `${hop.host} does not offer STARTTLS`);
    }
    if ((options.tls === "starttls" || options.tls === "auto") && caps.startTls) {
      await client.startTls();
      caps = client.capabilities;
    }
    if (options.credentials) {
      if (!client.tls && !isLoopback(hop)) {
        throw new ClientError(
          "AUTH",
          "policy",
          `refusing to send a password unencrypted to ${hop.host}` +
            (caps.startTls ? "" : " (it does not offer STARTTLS)"),
        );
      }
      await client.authenticate(options.credentials.user, options.credentials.password);
    }
    return client;
  } catch (err) {
    await client.quit();
    throw err;
  }
}

/** Whether OPTIONS ask for opportunistic TLS, and may have it (no password to protect). */
function opportunistic(options: DeliverOptions): boolean {
  return options.opportunistic === true && options.credentials === undefined;
}

/**
 * Opportunistic TLS without verification (RFC 7435: MX delivery, by the queue and by `mail send
 * --direct`) must not make mail undeliverable: when a server offers STARTTLS but then refuses
 * it or fails the handshake, the session is opened again in plaintext, as Postfix does at
 * security level "may". With verification asked for, or a password to send, a TLS failure
 * stays a failure. (`insecure` without a password counts as opportunistic here: that is how the
 * queue asks for it.)
 */
async function openOpportunistic(hop: NextHop, options: DeliverOptions): Promise<SmtpClient> {
  try {
    return await openSession(hop, options);
  } catch (err) {
    const fallback = err instanceof ClientError && err.command === "STARTTLS" &&
      options.tls === "auto" && options.credentials === undefined &&
      (options.opportunistic === true || options.insecure === true);
    if (!fallback) throw err;
    options.trace?.({
      direction: "*",
      text: `${hopName(hop)}: ${err.message}; retrying without TLS`,
    });
    return await openSession(hop, { ...options, tls: "none" });
  }
}

function failed(recipient: string, err: ClientError, hop: NextHop): RecipientResult {
  return {
    recipient,
    status: err.temporary ? "deferred" : "refused",
    text: err.message,
    reply: err.reply,
    failure: err.failure,
    hop: hopName(hop),
  };
}

/** Runs one transaction on an open session and maps it to per-recipient results. */
export async function transact(
  client: SmtpClient,
  hop: NextHop,
  envelope: Envelope,
  message: Uint8Array,
): Promise<RecipientResult[]> {
  let result;
  try {
    result = await client.send(envelope, message);
  } catch (err) {
    if (!(err instanceof ClientError)) throw err;
    return envelope.recipients.map((r) => failed(r, err, hop));
  }
  const { mail, data } = result;
  if (mail.code >= 300) {
    const err = new ClientError(result.mailCommand, "reply", mail);
    return envelope.recipients.map((r) => failed(r, err, hop));
  }
  return result.recipients.map((r): RecipientResult => {
    if (!r.accepted) return failed(r.recipient, new ClientError(r.command, "reply", r.reply), hop);
    if (!data) {
      return failed(r.recipient, new ClientError("DATA", "protocol", "no reply"), hop);
    }
    if (data.code >= 300) return failed(r.recipient, new ClientError("DATA", "reply", data), hop);
    return {
      recipient: r.recipient,
      status: "sent",
      text: replyToString(data),
      reply: data,
      hop: hopName(hop),
    };
  });
}

/**
 * Delivers MESSAGE to every recipient of ENVELOPE through the first of HOPS that takes a
 * transaction (RFC 5321 §5.1: try the next host when one cannot be reached or will not
 * talk). Once a transaction has begun (MAIL was sent), its results stand: retrying another
 * host for the same recipients could deliver the message twice.
 */
export async function deliver(
  envelope: Envelope,
  message: Uint8Array,
  hops: readonly NextHop[],
  options: DeliverOptions,
): Promise<RecipientResult[]> {
  let last: { err: ClientError; hop: NextHop } | undefined;
  for (const hop of hops) {
    let client: SmtpClient;
    try {
      client = await openOpportunistic(hop, options);
    } catch (err) {
      if (!(err instanceof ClientError)) throw err;
      options.trace?.({ direction: "*", text: `${hopName(hop)} failed: ${err.message}` });
      options.onHopFailure?.(hop, err);
      last = { err, hop };
      // The same refusal would come from every host: credentials, policy, TLS settings.
      if (err.failure === "auth" || err.failure === "policy") break;
      continue;
    }
    options.onSession?.(hop, client.tls);
    try {
      return await transact(client, hop, envelope, message);
    } finally {
      await client.quit();
    }
  }
  if (!last) {
    const err = new ClientError("Connect", "connect", "no host to deliver to");
    return envelope.recipients.map((r) => ({
      recipient: r,
      status: "deferred",
      text: err.message,
      failure: err.failure,
    }));
  }
  const { err, hop } = last;
  return envelope.recipients.map((r) => failed(r, err, hop));
}
