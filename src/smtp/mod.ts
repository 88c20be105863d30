/**
 * The SMTP protocol module: everything about the wire format and the dialogue, no sockets.
 * The server (src/server/) and the client share it.
 *
 * Supported:
 * - RFC 5321 SMTP: HELO, EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT, VRFY (always 252), HELP;
 *   paths with quoted local parts, address literals, source routes (accepted, ignored), the
 *   domain-less `<Postmaster>` recipient.
 * - RFC 1870 SIZE, RFC 2920 PIPELINING, RFC 2034/3463 ENHANCEDSTATUSCODES, RFC 6152 8BITMIME,
 *   RFC 6531 SMTPUTF8 (UTF-8 addresses only when declared).
 * - RFC 3207 STARTTLS (the session discards input pipelined after it, §6), RFC 4954 AUTH with
 *   PLAIN (RFC 4616) and LOGIN, RFC 6409 submission (AUTH before MAIL), RFC 3848 trace types.
 * - The client half: EHLO capability parsing (ehlo.ts), command formatting (client_commands.ts),
 *   SASL encodings (sasl.ts), dot-stuffing (data_reader.ts), reply parsing (reply.ts).
 *
 * Deliberately not supported: CHUNKING/BINARYMIME (RFC 3030), DSN (RFC 3461), ETRN, TURN,
 * EXPN (user enumeration), and VRFY answers that confirm a user.
 *
 * @module
 */
export * from "./reply.ts";
export * from "./address.ts";
export * from "./command.ts";
export * from "./line_reader.ts";
export * from "./data_reader.ts";
export * from "./trace.ts";
export * from "./session.ts";
export * from "./ehlo.ts";
export * from "./sasl.ts";
export * from "./client_commands.ts";
