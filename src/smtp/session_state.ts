/**
 * The server session's state: where the conversation is ({@link State}), what it knows
 * ({@link Conversation}), and the one table of which commands each state accepts
 * ({@link ACCEPTS}). The session consults the table once, before it dispatches a command;
 * a command out of sequence gets its 503 5.5.1 from {@link outOfSequence}, and no command
 * handler looks at the state to refuse.
 *
 * @module
 */
import type { MailParams } from "./command.ts";
import type { DataReader } from "./data_reader.ts";
import type { SaslStep } from "./sasl.ts";
import type {
  ClientInfo,
  SessionBackend,
  SessionConfig,
  SessionContext,
  SessionEvent,
} from "./session_types.ts";

/**
 * Where the conversation is. RFC 5321 §4.1.4 orders the commands of a transaction; RFC 3207
 * and RFC 4954 add a handshake and an exchange during which input is not read as commands:
 *
 * ```text
 * fresh -(HELO/EHLO)-> greeted -(MAIL)-> mail -(RCPT)-> rcpt -(DATA)-> data -(.)-> greeted
 * greeted -(STARTTLS)-> tls -(handshake)-> fresh
 * greeted -(AUTH)-> auth -(last SASL response)-> greeted
 * any -(QUIT, 421)-> closed
 * ```
 *
 * - `fresh`: greeted by us, no HELO/EHLO yet (and again after the TLS handshake).
 * - `greeted`: HELO/EHLO done, no transaction; RSET and the end of a message come back here.
 * - `mail`: a sender accepted; `rcpt`: one recipient or more accepted.
 * - `data`: reading the message (RFC 5321 §4.1.1.4): input is data, not commands.
 * - `auth`: a SASL challenge is out (RFC 4954 §4): the next line is its response.
 * - `tls`: STARTTLS accepted (RFC 3207): the handshake is next; input is discarded.
 * - `closed`: QUIT answered or a 421 sent: input is ignored.
 */
export type State = "fresh" | "greeted" | "mail" | "rcpt" | "data" | "auth" | "tls" | "closed";

/** Every state, in the order of a session. */
export const STATES: readonly State[] = [
  "fresh",
  "greeted",
  "mail",
  "rcpt",
  "data",
  "auth",
  "tls",
  "closed",
];

/** The commands the server implements (RFC 5321 §4.1, RFC 3207, RFC 4954). */
export const VERBS = [
  "HELO",
  "EHLO",
  "STARTTLS",
  "AUTH",
  "MAIL",
  "RCPT",
  "DATA",
  "RSET",
  "NOOP",
  "QUIT",
  "VRFY",
  "HELP",
] as const;

/** A command the server implements. */
export type Verb = typeof VERBS[number];

const KNOWN: ReadonlySet<string> = new Set(VERBS);

/** Whether VERB (upper-case) is a command the server implements. */
export function isVerb(verb: string): verb is Verb {
  return KNOWN.has(verb);
}

/**
 * RFC 5321 §4.1.4: RSET, NOOP, VRFY, HELP (and QUIT) may be used at any time, and HELO/EHLO
 * may start over at any time (ending any transaction).
 */
const ALWAYS: readonly Verb[] = ["HELO", "EHLO", "RSET", "NOOP", "QUIT", "VRFY", "HELP"];

/**
 * What each state accepts. In `data`, `auth`, `tls` and `closed` input is not read as commands
 * at all (it is message data, a SASL response, bytes to discard, nothing), so they accept none.
 */
export const ACCEPTS: { readonly [S in State]: ReadonlySet<Verb> } = {
  fresh: new Set(ALWAYS),
  greeted: new Set([...ALWAYS, "STARTTLS", "AUTH", "MAIL"]),
  mail: new Set([...ALWAYS, "RCPT"]),
  rcpt: new Set([...ALWAYS, "RCPT", "DATA"]),
  data: new Set(),
  auth: new Set(),
  tls: new Set(),
  closed: new Set(),
};

/** Why a state refuses a command it does not accept: what the client should do instead. */
const WHY: { readonly [S in State]: (verb: Verb) => string } = {
  fresh: (v) => v === "STARTTLS" ? "EHLO first" : "HELO or EHLO first",
  greeted: () => "MAIL first",
  mail: (v) => v === "DATA" ? "RCPT first" : inTransaction(v),
  rcpt: inTransaction,
  data: () => "message data in progress",
  auth: () => "authentication in progress",
  tls: () => "TLS handshake in progress",
  closed: () => "connection closing",
};

function inTransaction(verb: Verb): string {
  return verb === "MAIL"
    ? "sender already given; RSET to start over"
    : "mail transaction in progress; RSET first";
}

/** What the session's history adds to its state: facts that outlast a transaction. */
export interface History {
  /** EHLO, not HELO, began the session: AUTH is an ESMTP extension (RFC 4954 §3). */
  readonly esmtp: boolean;
  /** TLS description, when the connection is encrypted. */
  readonly tls: string | undefined;
  /** The authenticated user, if AUTH succeeded. */
  readonly authUser: string | undefined;
}

/**
 * The reason for a 503 5.5.1 when VERB is out of sequence in STATE, or undefined when it may
 * run. Facts of the session's history come first (they say more than the state does), then
 * {@link ACCEPTS}.
 */
export function outOfSequence(state: State, verb: Verb, h: History): string | undefined {
  // RFC 3207 §4.2: no second STARTTLS; RFC 4954 §4: no AUTH after a successful one.
  if (verb === "STARTTLS" && h.tls !== undefined) return "TLS already active";
  if (verb === "AUTH" && h.authUser !== undefined) return "already authenticated";
  if (verb === "AUTH" && !h.esmtp) return "EHLO first";
  return ACCEPTS[state].has(verb) ? undefined : WHY[state](verb);
}

/** A mail transaction: from MAIL to the end of its data. */
export interface Transaction {
  readonly id: string;
  readonly sender: string;
  readonly params: MailParams;
  readonly recipients: string[];
}

/**
 * What one session knows, shared by its command handlers: the session's own record, not for
 * the server (which sees the session's getters only).
 */
export interface Conversation extends History {
  readonly config: SessionConfig;
  readonly backend: SessionBackend;
  readonly client: ClientInfo;
  readonly onEvent: (e: SessionEvent) => void;
  /** Change it with {@link moveTo} only. */
  state: State;
  esmtp: boolean;
  /** The HELO/EHLO name. */
  helo: string;
  tx: Transaction | undefined;
  /** The message being read, in state `data`. */
  data: DataReader | undefined;
  tls: string | undefined;
  authUser: string | undefined;
  /** The SASL exchange under way, in state `auth`. */
  sasl: SaslStep | undefined;
}

/**
 * Moves C to STATE, unless it is closed: a reply that arrives after a 421 (a backend call
 * finishing after a timeout) must not reopen the session.
 */
export function moveTo(c: Conversation, state: State): void {
  if (c.state !== "closed") c.state = state;
}

/** Ends any transaction: RSET, HELO/EHLO (RFC 5321 §4.1.4), STARTTLS (RFC 3207 §4.2). */
export function resetTransaction(c: Conversation): void {
  c.tx = undefined;
  c.data = undefined;
  if (c.state === "mail" || c.state === "rcpt" || c.state === "data") moveTo(c, "greeted");
}

/** The session's role; `mx` unless configured otherwise. */
export function roleOf(c: Conversation): "mx" | "submission" {
  return c.config.role ?? "mx";
}

/** Whether AUTH may be used now: submission only, and under TLS unless allowed otherwise. */
export function authOffered(c: Conversation): boolean {
  return roleOf(c) === "submission" && c.backend.authenticate !== undefined &&
    (c.tls !== undefined || c.config.allowInsecureAuth === true);
}

/** What the backend may look at when it decides. */
export function contextOf(c: Conversation): SessionContext {
  return {
    client: c.client,
    helo: c.helo,
    role: roleOf(c),
    tls: c.tls !== undefined,
    authUser: c.authUser,
  };
}
