/**
 * What the server session shows the rest of the server: its configuration, the backend it asks
 * (which recipients exist, where a message is stored), the events it reports and the output it
 * hands the I/O driver.
 *
 * @module
 */
import type { Mailbox } from "./address.ts";
import type { MailParams } from "./command.ts";

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
   * The I/O driver hands every buffer over to the session's `receive` for good (a fresh buffer
   * per socket read, never reused): message data may then be kept without a copy.
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
 * each method may refuse by throwing an `SmtpError`; any other error becomes 451 4.3.0.
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
   * Start the TLS handshake once `write` is flushed, then call the session's `tlsStarted`.
   * Input that followed the STARTTLS command has been discarded (RFC 3207 §6): the driver must
   * drop any it holds too.
   */
  readonly startTls?: boolean;
}
