/**
 * The commands of a server session outside the mail transaction and AUTH: HELO/EHLO and what
 * EHLO advertises, STARTTLS, and RSET, NOOP, QUIT, VRFY, HELP (RFC 5321 §4.1.1, RFC 3207).
 *
 * The session has checked the sequence already (see session_state.ts).
 *
 * @module
 */
import { parseHeloName, syntaxError } from "./command.ts";
import { type Reply, reply } from "./reply.ts";
import {
  authOffered,
  type Conversation,
  moveTo,
  resetTransaction,
  VERBS,
} from "./session_state.ts";

/** HELO (ESMTP false) or EHLO (RFC 5321 §4.1.1.1): (re)starts the session. */
export function hello(c: Conversation, args: string, esmtp: boolean): Reply {
  const name = parseHeloName(args);
  // RFC 5321 §4.1.4: HELO/EHLO in the middle of a transaction resets it.
  resetTransaction(c);
  c.helo = name;
  c.esmtp = esmtp;
  moveTo(c, "greeted");
  const greeting = `${c.config.hostname} Hello ${name} [${c.client.address}]`;
  if (!esmtp) return reply(250, undefined, greeting);
  // RFC 2034 §3: no enhanced code on the EHLO reply itself.
  return reply(
    250,
    undefined,
    [
      greeting,
      "PIPELINING", // RFC 2920
      `SIZE ${c.config.maxMessageSize}`, // RFC 1870
      "8BITMIME", // RFC 6152
      "ENHANCEDSTATUSCODES", // RFC 2034
      "SMTPUTF8", // RFC 6531
      // RFC 3207 §4.2: not offered again once TLS is up.
      ...(c.config.startTls && c.tls === undefined ? ["STARTTLS"] : []),
      ...(authOffered(c) && !c.authUser ? ["AUTH PLAIN LOGIN"] : []), // RFC 4954
      "HELP",
    ].join("\n"),
  );
}

/**
 * STARTTLS (RFC 3207 §4): the handshake follows our 220. Input the client pipelined after the
 * command is dropped by the session (state `tls`).
 */
export function startTls(c: Conversation, args: string): Reply {
  if (args !== "") throw syntaxError("STARTTLS takes no arguments");
  moveTo(c, "tls");
  return reply(220, "2.0.0", "Ready to start TLS");
}

/** RSET (RFC 5321 §4.1.1.5): ends any transaction. */
export function rset(c: Conversation, args: string): Reply {
  if (args !== "") throw syntaxError("RSET takes no arguments");
  resetTransaction(c);
  return reply(250, "2.0.0", "OK");
}

/** NOOP (RFC 5321 §4.1.1.9): arguments are allowed and ignored. */
export function noop(): Reply {
  return reply(250, "2.0.0", "OK");
}

/** QUIT (RFC 5321 §4.1.1.10): 221, then the connection closes. */
export function quit(c: Conversation): Reply {
  moveTo(c, "closed");
  return reply(221, "2.0.0", `${c.config.hostname} closing connection`);
}

/** VRFY (RFC 5321 §3.5.3): 252 when we will not say; never confirm which users exist. */
export function vrfy(_c: Conversation, args: string): Reply {
  if (args === "") throw syntaxError("Syntax: VRFY <address>");
  return reply(252, "2.5.2", "Cannot VRFY user, but will accept message and attempt delivery");
}

/** HELP (RFC 5321 §4.1.1.8). */
export function help(): Reply {
  return reply(214, "2.0.0", `Commands: ${VERBS.join(" ")}\nSee RFC 5321`);
}
