/**
 * The POP3 session's outside: its options, what it hands the I/O driver, the events it reports,
 * and its states with the one table of which commands each state accepts (RFC 1939 §3).
 *
 * @module
 */
import type { CommandName } from "./command.ts";

/** What the driver does with one step of the session. */
export interface Output {
  /** Bytes to write, in order (message contents stay separate chunks, never copied). */
  readonly write: readonly Uint8Array[];
  /** Close the connection once `write` is flushed. */
  readonly close?: boolean;
  /**
   * Start the TLS handshake once `write` is flushed, then call `tlsStarted`. Input that came
   * after STLS has been discarded (RFC 2595 §4): the driver must drop any it holds.
   */
  readonly startTls?: boolean;
  /**
   * Pipelined commands are waiting in the session: once `write` is flushed (the socket has
   * drained), call `receive` again, with no new bytes, to have them answered. Answers are
   * produced a bounded amount at a time, so a client that pipelines many RETRs and reads
   * nothing holds one batch of them in memory, not all.
   */
  readonly more?: boolean;
}

/**
 * The session's states (RFC 1939 §3): AUTHORIZATION until a login succeeds, TRANSACTION with
 * the maildrop open, UPDATE once QUIT (or the end of the connection) has ended it.
 */
export type State = "authorization" | "transaction" | "update";

/** Commands valid in both states (RFC 2449 §5: CAPA). */
const BOTH = ["CAPA", "QUIT"] as const;

/** Which commands each state accepts; anything else is refused with `-ERR` from one place. */
export const ACCEPTS: Readonly<Record<State, ReadonlySet<CommandName>>> = {
  authorization: new Set<CommandName>([...BOTH, "USER", "PASS", "AUTH", "STLS"]),
  transaction: new Set<CommandName>([
    ...BOTH,
    "STAT",
    "LIST",
    "UIDL",
    "TOP",
    "RETR",
    "DELE",
    "RSET",
    "NOOP",
  ]),
  update: new Set<CommandName>(),
};

/** Settings of a session; the server builds them from its configuration. */
export interface SessionOptions {
  /** Our name in the greeting. */
  readonly hostname: string;
  /** STLS can be offered (a certificate exists and the connection is not TLS yet). */
  readonly startTls: boolean;
  /** The connection is TLS already (implicit TLS, RFC 8314). */
  readonly tls: boolean;
  /** Logins may go over this plaintext connection (loopback with --allow-insecure-auth). */
  readonly allowInsecureAuth: boolean;
  /** `-ERR` answers to bad commands before the session is ended (default 20, as Dovecot). */
  readonly maxErrors?: number;
  /**
   * Octets of answers produced before pipelined commands wait for the socket to drain
   * ({@link Output.more}); one answer is always given whole.
   */
  readonly outputBatch?: number;
}

/** A session event the server logs. */
export type SessionEvent =
  /** A login attempt (USER/PASS or AUTH) and how it ended. */
  | { readonly type: "login"; readonly user: string; readonly ok: boolean }
  /** The maildrop was opened: its messages and octets. */
  | { readonly type: "open"; readonly messages: number; readonly size: number }
  /** The maildrop was updated at the end: messages marked seen and expunged. */
  | { readonly type: "update"; readonly seen: number; readonly expunged: number }
  /** Something failed unexpectedly; the connection was ended (COMMAND: where). */
  | { readonly type: "error"; readonly command: string; readonly error: unknown };
