/**
 * The SMTP client side of `mail`: the I/O half of the protocol module (src/smtp/ holds the
 * formats; this folder the sockets). Used by `mail send`, and meant for the outbound queue:
 *
 * - {@link SmtpClient}: one connection (EHLO, STARTTLS, AUTH, pipelined MAIL/RCPT, DATA).
 * - {@link deliver}: one message to a list of next hops, tried in order, with a result per
 *   recipient: `sent`, `refused` (5xx: bounce) or `deferred` (4xx or no connection: retry).
 * - {@link mxHops}: the next hops of a domain from DNS (RFC 5321 §5.1, RFC 7505), with an
 *   injectable {@link Resolver}.
 * - {@link submit}: relay or end-to-end delivery for `mail send`.
 * - {@link compose}, raw_message.ts: building and adjusting the message itself.
 *
 * @module
 */
export * from "./clock.ts";
export * from "./errors.ts";
export * from "./wire.ts";
export * from "./smtp_client.ts";
export * from "./deliver.ts";
export * from "./mx.ts";
export * from "./submit.ts";
export * from "./addresses.ts";
export * from "./compose.ts";
export * from "./raw_message.ts";
