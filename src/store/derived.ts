/**
 * What IMAP derives from a message's bytes and keeps, so that it is derived once: the MIME
 * structure (`messages.structure`, ./folders.ts), the header apart from the body, the ENVELOPE
 * as IMAP writes it, and the text index (./fts.ts). All of it is a cache: the bytes stay the truth, nothing is derived at
 * delivery (the SMTP side never waits for it), and whatever is missing is derived again when
 * asked for. Its rows go with their message (triggers).
 *
 * The header is kept apart because a message's row holds the whole message: reading it to
 * answer ENVELOPE or a header field means reading every octet of the body too, while the header
 * alone is a few hundred octets (an eighth of a typical message). The ENVELOPE is kept as the
 * octets a FETCH writes, so that a FETCH of a folder's envelopes copies them instead of parsing
 * every header again. Nothing here is ever invalidated: a stored message never changes, and
 * what was derived from it goes with it when it is deleted (a new message that takes its id
 * finds nothing kept).
 *
 * @module
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { type MessageText, TEXT_INDEX_SQL, type TextIndex } from "./fts.ts";
import type { Folders } from "./folders.ts";

/** Migration 5 (appended to schema.ts's list): the header cache and the text index. */
export const DERIVED_MIGRATION = `
  -- A message's header (its octets up to and with the blank line), once IMAP has read it.
  CREATE TABLE message_headers (
    message_id INTEGER PRIMARY KEY,
    header BLOB NOT NULL
  );
  CREATE TRIGGER message_header_gone AFTER DELETE ON messages
  BEGIN
    DELETE FROM message_headers WHERE message_id = old.id;
  END;
  ${TEXT_INDEX_SQL}
`;

/**
 * Part of migration 7 (schema.ts): ENVELOPEs kept encoded, made at their message's first FETCH.
 */
export const ENVELOPES_MIGRATION = `
  -- A message's ENVELOPE as IMAP writes it: the octets for a connection without UTF-8, and
  -- those with it when they differ (NULL: the same). VERSION is the builder's: an ENVELOPE
  -- made by another version of it is made again.
  CREATE TABLE message_envelopes (
    message_id INTEGER PRIMARY KEY,
    version INTEGER NOT NULL,
    ascii BLOB NOT NULL,
    utf8 BLOB
  );
  CREATE TRIGGER message_envelope_gone AFTER DELETE ON messages
  BEGIN
    DELETE FROM message_envelopes WHERE message_id = old.id;
  END;
`;

/** A message's ENVELOPE as IMAP writes it, made by version VERSION of its builder. */
export interface KeptEnvelope {
  readonly version: number;
  /** For a connection without UTF-8. */
  readonly ascii: Uint8Array;
  /** For a connection with UTF-8, when that differs from `ascii`. */
  readonly utf8: Uint8Array | null;
}

/**
 * A message of a folder and its kept ENVELOPE, as a row `[uid, message id, ascii, utf8]`;
 * `ascii` is null when none is kept (or one made by another version). Arrays, not objects: a
 * FETCH of a large folder reads one per message.
 */
export type EnvelopeRow = [number, number, Uint8Array | null, Uint8Array | null];

/** A message and its bytes, as a row `[uid, message id, bytes]`. */
export type BodyRow = [number, number, Uint8Array];

/** What was derived from some messages, by message id, to keep in one transaction. */
export interface DerivedData {
  /** MIME structures (JSON). */
  readonly structures?: ReadonlyMap<number, string>;
  /** Headers (the octets up to and with the blank line that ends them). */
  readonly headers?: ReadonlyMap<number, Uint8Array>;
  /** ENVELOPEs as IMAP writes them. */
  readonly envelopes?: ReadonlyMap<number, KeptEnvelope>;
  /** Decoded text for the text index. */
  readonly texts?: readonly MessageText[];
}

const SQL = {
  /** The message of UID in a folder, and its header when it is kept. */
  header: `SELECT e.message_id AS message_id, h.header AS header FROM entries e
    LEFT JOIN message_headers h ON h.message_id = e.message_id
    WHERE e.folder_id = ? AND e.uid = ?`,
  /** The same for the messages from UID ?2 on, in UID order, at most ?3. */
  headers: `SELECT e.uid AS uid, e.message_id AS message_id, h.header AS header FROM entries e
    LEFT JOIN message_headers h ON h.message_id = e.message_id
    WHERE e.folder_id = ?1 AND e.uid >= ?2 ORDER BY e.uid LIMIT ?3`,
  /** The messages from UID ?2 on, in UID order, at most ?3, with their ENVELOPE of version ?4. */
  envelopes: `SELECT e.uid, e.message_id, v.ascii, v.utf8 FROM entries e
    LEFT JOIN message_envelopes v ON v.message_id = e.message_id AND v.version = ?4
    WHERE e.folder_id = ?1 AND e.uid >= ?2 ORDER BY e.uid LIMIT ?3`,
  /**
   * The messages with UIDs ?2 to ?3 of folder ?1 whose bytes are in their own row (most mail:
   * ./pieces.ts) and hold at most ?4 octets, in UID order.
   */
  bodies: `SELECT e.uid, m.id, m.body FROM entries e JOIN messages m ON m.id = e.message_id
    WHERE e.folder_id = ?1 AND e.uid BETWEEN ?2 AND ?3 AND m.body IS NOT NULL AND m.size <= ?4
    ORDER BY e.uid`,
  /** Keeps an ENVELOPE (in place of one of another version), unless its message is gone. */
  putEnvelope: `INSERT OR REPLACE INTO message_envelopes (message_id, version, ascii, utf8)
    SELECT id, ?2, ?3, ?4 FROM messages WHERE id = ?1`,
  /** Keeps a header, unless it is kept already or its message is gone. */
  putHeader: `INSERT OR IGNORE INTO message_headers (message_id, header)
    SELECT id, ?2 FROM messages WHERE id = ?1`,
} as const;

/** The header and ENVELOPE caches over one connection. Callers own the transactions. */
export class HeaderCache {
  readonly #s: { [K in keyof typeof SQL]: StatementSync };

  constructor(db: DatabaseSync) {
    this.#s = Object.fromEntries(
      Object.entries(SQL).map(([k, v]) => [k, db.prepare(v)]),
    ) as { [K in keyof typeof SQL]: StatementSync };
    // node:sqlite has it at run time; the type declarations at hand lack it.
    for (const s of [this.#s.envelopes, this.#s.bodies]) {
      (s as unknown as { setReturnArrays(on: boolean): void }).setReturnArrays(true);
    }
  }

  /**
   * Up to LIMIT messages of folder FOLDERID from UID on, in UID order, each with its ENVELOPE
   * when one of VERSION is kept.
   */
  envelopes(folderId: number, uid: number, limit: number, version: number): EnvelopeRow[] {
    return this.#s.envelopes.all(folderId, uid, limit, version) as unknown as EnvelopeRow[];
  }

  /**
   * The messages of folder FOLDERID with UIDs FROM to TO and their bytes, those of at most
   * MAXSIZE octets kept in their own row; the others are left out (read them one at a time).
   */
  bodies(folderId: number, from: number, to: number, maxSize: number): BodyRow[] {
    return this.#s.bodies.all(folderId, from, to, maxSize) as unknown as BodyRow[];
  }

  putEnvelope(messageId: number, e: KeptEnvelope): void {
    this.#s.putEnvelope.run(messageId, e.version, e.ascii, e.utf8);
  }

  /** The message with UID in folder FOLDERID and its kept header; undefined when none. */
  get(folderId: number, uid: number): { messageId: number; header: Uint8Array | null } | undefined {
    const r = this.#s.header.get(folderId, uid) as
      | { message_id: number; header: Uint8Array | null }
      | undefined;
    return r ? { messageId: r.message_id, header: r.header } : undefined;
  }

  /** {@link get} for up to LIMIT messages from UID on, in UID order. */
  range(
    folderId: number,
    uid: number,
    limit: number,
  ): { uid: number; messageId: number; header: Uint8Array | null }[] {
    return (this.#s.headers.all(folderId, uid, limit) as {
      uid: number;
      message_id: number;
      header: Uint8Array | null;
    }[]).map((r) => ({ uid: r.uid, messageId: r.message_id, header: r.header }));
  }

  put(messageId: number, header: Uint8Array): void {
    this.#s.putHeader.run(messageId, header);
  }
}

/** Writes D with the parts of the store that keep each kind. Inside a write transaction. */
export function saveDerived(
  d: DerivedData,
  folders: Folders,
  headers: HeaderCache,
  text: TextIndex,
): void {
  for (const [id, json] of d.structures ?? []) folders.setStructure(id, json);
  for (const [id, header] of d.headers ?? []) headers.put(id, header);
  for (const [id, envelope] of d.envelopes ?? []) headers.putEnvelope(id, envelope);
  for (const t of d.texts ?? []) text.add(t);
}
