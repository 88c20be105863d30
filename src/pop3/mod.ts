/**
 * The POP3 protocol module: everything about the wire format, no sockets. A POP3 server
 * (RFC 1939) on the same accounts and INBOX that SMTP delivers to and IMAP serves.
 *
 * - line_reader.ts: command lines out of the byte stream, capped (RFC 2449 §4), consumed one at
 *   a time so pipelined commands (RFC 2449 §6.6) are answered a bounded batch at a time.
 * - command.ts: commands parsed into typed values, the keyword apart from its arguments.
 * - response.ts, message_data.ts: every line the server sends, response codes (RFC 2449 §8,
 *   RFC 3206), multi-line responses, and messages for RETR and TOP dot-stuffed as chunks of
 *   their stored bytes.
 * - capabilities.ts: the CAPA list (RFC 2449).
 * - AUTH PLAIN's response is decoded by ../sasl_plain.ts, shared with IMAP (RFC 5034, RFC 4616).
 * - backend.ts: the contract with the store (the maildrop, its lock, its update at QUIT).
 * - session.ts, session_types.ts: the AUTHORIZATION → TRANSACTION → UPDATE state machine with
 *   one table of what each state accepts.
 *
 * Supported: RFC 1939 (USER, PASS, STAT, LIST, RETR, DELE, NOOP, RSET, QUIT, TOP, UIDL), RFC 2449
 * (CAPA; TOP, UIDL, USER, SASL, RESP-CODES, PIPELINING, EXPIRE NEVER, IMPLEMENTATION), RFC 2595
 * (STLS), RFC 3206 (SYS/TEMP, SYS/PERM, AUTH-RESP-CODE), RFC 5034 (AUTH PLAIN, with an initial
 * response).
 *
 * Deliberately not: APOP (RFC 1939 §7; it needs the plaintext password on the server, and we
 * keep only slow salted hashes), LAST (removed by RFC 1725), LOGIN-DELAY (no delay is imposed),
 * SASL mechanisms other than PLAIN, UTF8 and LANG (RFC 6856), and the old `XTND` commands.
 *
 * @module
 */
export * from "./line_reader.ts";
export * from "./command.ts";
export * from "./response.ts";
export * from "./message_data.ts";
export * from "./capabilities.ts";
export * from "./backend.ts";
export * from "./session_types.ts";
export * from "./session.ts";
