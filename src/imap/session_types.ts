/**
 * The IMAP session's outside: its options, what it hands the I/O driver, and its states with
 * the one table of which commands each state accepts (RFC 9051 §3, §6).
 *
 * @module
 */
import type { Command } from "./command.ts";
import type { FramerLimits } from "./framer.ts";

/** What the driver does with one step of the session. */
export interface Output {
  /** Bytes to write, in order (message contents stay separate chunks, never copied). */
  readonly write: readonly Uint8Array[];
  /** Close the connection once `write` is flushed. */
  readonly close?: boolean;
  /**
   * Start the TLS handshake once `write` is flushed, then call `tlsStarted`. Input that came
   * after STARTTLS has been discarded (RFC 9051 §6.2.1): the driver must drop any it holds.
   */
  readonly startTls?: boolean;
}

/** The session's states (RFC 9051 §3); `idle` is authenticated or selected, inside IDLE. */
export type State = "not-authenticated" | "authenticated" | "selected" | "logout";

/** Commands any state accepts. */
const ANY = ["CAPABILITY", "NOOP", "LOGOUT", "ID"] as const;
/** Commands of the authenticated state, which the selected state accepts too. */
const AUTHENTICATED = [
  ...ANY,
  "ENABLE",
  "SELECT",
  "EXAMINE",
  "CREATE",
  "DELETE",
  "RENAME",
  "SUBSCRIBE",
  "UNSUBSCRIBE",
  "LIST",
  "LSUB",
  "NAMESPACE",
  "STATUS",
  "APPEND",
  "IDLE",
] as const;

/** Which commands each state accepts; anything else is refused with BAD from one place. */
export const ACCEPTS: Readonly<Record<State, ReadonlySet<Command["name"]>>> = {
  "not-authenticated": new Set([...ANY, "STARTTLS", "AUTHENTICATE", "LOGIN"]),
  authenticated: new Set(AUTHENTICATED),
  selected: new Set([
    ...AUTHENTICATED,
    "CLOSE",
    "UNSELECT",
    "EXPUNGE",
    "SEARCH",
    "FETCH",
    "STORE",
    "COPY",
    "MOVE",
    "CHECK",
  ]),
  logout: new Set(),
};

/** Settings of a session; the server builds them from its configuration. */
export interface SessionOptions {
  readonly hostname: string;
  /** STARTTLS can be offered (a certificate exists and the connection is not TLS yet). */
  readonly startTls: boolean;
  /** The connection is TLS already (implicit TLS, RFC 8314). */
  readonly tls: boolean;
  /** Logins may go over this plaintext connection (loopback with --allow-insecure-auth). */
  readonly allowInsecureAuth: boolean;
  /** APPENDLIMIT (RFC 7889): the largest message accepted. */
  readonly maxMessageSize: number;
  /** Bounds of the command framer; APPEND's literal bound is the largest message. */
  readonly limits?: Partial<FramerLimits>;
  /** BAD responses before the session is ended (a client that only sends garbage). */
  readonly maxErrors?: number;
}

/** A session event the server logs. */
export type SessionEvent =
  | { readonly type: "login"; readonly user: string; readonly ok: boolean }
  | { readonly type: "error"; readonly command: string; readonly error: unknown };
