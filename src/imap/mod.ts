/**
 * The IMAP protocol module: everything about the wire format, no sockets. It grows toward an
 * IMAP4rev2 server (RFC 9051) that also serves IMAP4rev1 clients (RFC 3501).
 *
 * Here so far:
 * - framer.ts: whole commands out of the byte stream, literals (`{n}` with the `+`
 *   continuation, RFC 7888 `{n+}`, RFC 3516 `~{n}`) and every bound on what a command may
 *   make us buffer.
 * - cursor.ts, command.ts, fetch_items.ts, search_key.ts: commands parsed into typed values:
 *   the RFC 9051 commands with UIDPLUS, ESEARCH/SEARCHRES, LIST-EXTENDED/LIST-STATUS,
 *   SPECIAL-USE, MOVE, ID, ENABLE, SASL-IR, BINARY, CONDSTORE/QRESYNC arguments.
 * - sequence_set.ts: sequence sets with `*` and `$`.
 * - response.ts: every response line, with the choice of atom, quoted string or literal made
 *   in one place.
 * - message_parts.ts, envelope.ts, body_structure.ts, sections.ts, fetch_data.ts: a message's
 *   MIME structure with exact offsets (parsed once, bounded), and from it ENVELOPE, BODY,
 *   BODYSTRUCTURE, every `BODY[section]<partial>` and BINARY (RFC 3516), answered as Dovecot
 *   answers (tests/imap/dovecot_golden_test.ts compares octet for octet).
 *
 * - session.ts (with session_folders.ts, session_messages.ts, selected.ts, search.ts,
 *   folder_names.ts): the session as a state machine with one table of what each state
 *   accepts, IMAP4rev1 and IMAP4rev2, IDLE, CONDSTORE/QRESYNC, against the store contract in
 *   backend.ts.
 *
 * Not valid syntax and refused: `{n-}` (RFC 7888 has only `{n+}`; LITERAL- limits its size).
 *
 * @module
 */
export * from "./sequence_set.ts";
export * from "./framer.ts";
export * from "./cursor.ts";
export * from "./fetch_items.ts";
export * from "./search_key.ts";
export * from "./command.ts";
export * from "./response.ts";
export * from "./message_parts.ts";
export * from "./envelope.ts";
export * from "./body_structure.ts";
export * from "./sections.ts";
export * from "./fetch_data.ts";
export * from "./backend.ts";
export * from "./folder_names.ts";
export * from "./search.ts";
export * from "./selected.ts";
export * from "./session_types.ts";
export * from "./session_context.ts";
export * from "./capabilities.ts";
export * from "./flags.ts";
export * from "./session.ts";
