/**
 * Messages as rows: a message is stored once however many mailbox entries and queue rows refer
 * to it, its bytes in its own row (one piece) or in `message_chunks`; it is read back whole, and
 * removed once nothing refers to it. Delivery, the queue's notices, mailbox reading and the
 * queue's sending all go through here.
 *
 * @module
 */
import type { Connection } from "./connection.ts";
import { StoreError } from "./errors.ts";
import { onePiece, pieces } from "./pieces.ts";
import type { NewMessage } from "./types.ts";

/** A message's size and the bytes its row keeps (null: they are in message_chunks). */
export interface ContentRow {
  size: number;
  body: Uint8Array | null;
}

/** The domain of a normalised address, lower-case (address literals included). */
function domainOfAddress(address: string): string {
  return address.slice(address.lastIndexOf("@") + 1).toLowerCase();
}

/** Where an APPENDed message goes instead of its recipients' INBOXes: a folder, with flags. */
export interface FolderTarget {
  readonly folderId: number;
  readonly flags: readonly string[];
}

/**
 * Stores MESSAGE: its bytes once, an entry in the INBOX of each local recipient (or in TARGET,
 * for IMAP's APPEND) with the folder's next UID and mod-sequence, and a queue row per remote
 * recipient. Returns the UID of the last entry made. Must run inside a write transaction.
 */
export function insertMessage(
  conn: Connection,
  message: NewMessage,
  target?: FolderTarget,
): number | undefined {
  const recipients = [...new Set(message.recipients)];
  const relay = [...new Set(message.relay ?? [])];
  if (recipients.length === 0 && relay.length === 0) {
    throw new TypeError(`Message ${message.id} has no recipients`);
  }
  const s = conn.stmt;
  if (s.messageIdByQueueId.get(message.id) !== undefined) {
    throw new StoreError("exists", `Message ${message.id} is already stored`);
  }
  // Resolve every mailbox before writing the message, so a missing one fails cheaply; the
  // transaction still undoes any mailbox created for an earlier recipient.
  const mailboxIds = recipients.map((address) => {
    const row = s.mailboxId.get(address) as { id: number } | undefined;
    if (row !== undefined) return row.id;
    if (!message.createMailboxes) {
      throw new StoreError("no-mailbox", `No mailbox for ${address}`);
    }
    return Number(s.insertMailbox.run(address, message.receivedAt).lastInsertRowid);
  });

  const { summary } = message;
  // Most mail fits one piece and is kept in its messages row (schema migration 3).
  const body = onePiece(message.chunks);
  const messageId = Number(
    s.insertMessage.run(
      message.id,
      message.sender,
      message.size,
      message.receivedAt,
      summary.from,
      summary.subject,
      summary.date,
      summary.messageId,
      body ?? null,
    ).lastInsertRowid,
  );
  let stored = body?.length ?? 0;
  if (body === undefined) {
    let seq = 0;
    for (const piece of pieces(message.chunks)) {
      s.insertChunk.run(messageId, seq++, piece);
      stored += piece.length;
    }
  }
  if (stored !== message.size) {
    // A caller bug; storing a wrong size would make read() report corruption later.
    throw new RangeError(
      `Message ${message.id} declares ${message.size} octets but its chunks hold ${stored}`,
    );
  }
  let uid: number | undefined;
  for (const mailboxId of mailboxIds) {
    uid = addToFolder(
      conn,
      mailboxId,
      messageId,
      message.receivedAt,
      target ?? named(conn, mailboxId, message.folder),
    );
  }
  // The first attempt is immediate: due as of arrival.
  for (const address of relay) {
    s.insertQueue.run(
      messageId,
      address,
      domainOfAddress(address),
      message.receivedAt,
      message.receivedAt,
    );
  }
  return uid;
}

/**
 * Folder NAME of MAILBOXID as a target, or undefined (INBOX) when NAME is absent, is INBOX, or
 * the mailbox has no folder of that name (Junk is made by the first IMAP login, not by mail).
 */
function named(
  conn: Connection,
  mailboxId: number,
  name: string | undefined,
): FolderTarget | undefined {
  if (name === undefined || name.toUpperCase() === "INBOX") return undefined;
  const folder = conn.folders.get(mailboxId, name);
  return folder ? { folderId: folder.id, flags: [] } : undefined;
}

/**
 * An entry for message MESSAGEID in TARGET's folder, else in the INBOX of MAILBOXID (made if
 * the mailbox has none yet), with the folder's next UID and a new mod-sequence.
 */
function addToFolder(
  conn: Connection,
  mailboxId: number,
  messageId: number,
  receivedAt: number,
  target: FolderTarget | undefined,
): number {
  let folderId = target?.folderId;
  if (folderId === undefined) {
    const inbox = conn.stmt.inboxOf.get(mailboxId) as { id: number } | undefined;
    if (inbox === undefined) conn.folders.subscribe(mailboxId, "INBOX", true);
    folderId = inbox?.id ?? conn.folders.create(mailboxId, "INBOX", null, receivedAt).id;
  }
  const { firstUid, modseq } = conn.folders.take(folderId, 1);
  conn.folders.addEntry(
    mailboxId,
    messageId,
    receivedAt,
    folderId,
    firstUid,
    target?.flags ?? [],
    modseq,
  );
  return firstUid;
}

/**
 * The bytes of message MESSAGEID: those of its row, or else its chunks. Inside a transaction,
 * so that the chunks come from the same snapshot as the row.
 */
export function messageContent(
  conn: Connection,
  messageId: number,
  { size, body }: ContentRow,
): Uint8Array {
  if (body === null) return readChunks(conn, messageId, size);
  if (body.length !== size) {
    throw new StoreError(
      "corrupt",
      `${conn.path}: message ${messageId} should hold ${size} octets but holds ${body.length}`,
    );
  }
  return body;
}

/**
 * Octets START to END of message MESSAGEID (clamped to its size), read without the rest of it:
 * from its row, or from the pieces the range overlaps (their lengths come from the rows'
 * headers, their bytes are not read). Undefined when the message is gone. Inside a transaction.
 */
export function messageRange(
  conn: Connection,
  messageId: number,
  start: number,
  end: number,
): Uint8Array | undefined {
  const s = conn.stmt;
  const from = Math.max(0, start);
  // SQLite's substr counts from 1, and takes at most 2^31 - 1 octets (a blob is smaller).
  const count = Math.max(0, Math.min(end, 2 ** 31 - 1) - from);
  const row = s.messageRange.get({ id: messageId, from: from + 1, count }) as
    | { size: number; data: Uint8Array | null }
    | undefined;
  if (!row) return undefined;
  if (row.data !== null) return row.data;
  // All of it: read in one pass (the pieces one at a time would each be looked up).
  if (from === 0 && end >= row.size) return readChunks(conn, messageId, row.size);
  const out = new Uint8Array(Math.max(0, Math.min(end, row.size) - from));
  if (out.length === 0) return out;
  const to = from + out.length;
  // Where each piece the range overlaps starts; the pieces after the range are not looked at
  // (then the total is not checked against the size: the whole read checks it).
  const wanted: { seq: number; start: number }[] = [];
  let total = 0;
  let early = false;
  for (const r of s.chunkLengths.iterate(messageId)) {
    const { message_id, seq, n } = r as { message_id: number; seq: number; n: number };
    if (message_id !== messageId) break;
    if (total < to && total + n > from) wanted.push({ seq, start: total });
    total += n;
    if (total >= to && total < row.size) {
      early = true;
      break;
    }
  }
  let at = 0;
  const put = (data: Uint8Array, start: number) => {
    const piece = data.subarray(Math.max(0, from - start), to - start);
    out.set(piece.subarray(0, out.length - at), at);
    at += piece.length;
  };
  const first = wanted[0];
  if (wanted.length === 1 && first) {
    // One piece: SQLite cuts the octets out of it.
    const a = Math.max(from, first.start);
    const got = s.chunkRange.get({
      id: messageId,
      seq: first.seq,
      from: a - first.start + 1,
      count: to - a,
    }) as { data: Uint8Array };
    put(got.data, a);
  } else if (first) {
    // Several: read in one pass from the first, as a whole message is.
    let i = 0;
    for (const r of s.chunksFrom.iterate({ id: messageId, seq: first.seq })) {
      const { message_id, data } = r as { message_id: number; data: Uint8Array };
      const w = wanted[i++];
      if (message_id !== messageId || !w) break;
      put(data, w.start);
      if (i === wanted.length) break;
    }
  }
  if ((!early && total !== row.size) || at < out.length) {
    throw new StoreError(
      "corrupt",
      `${conn.path}: message ${messageId} should hold ${row.size} octets but its chunks hold ${total}`,
    );
  }
  return out;
}

/** The bytes of message MESSAGEID, which should hold SIZE octets. Inside a transaction. */
function readChunks(conn: Connection, messageId: number, size: number): Uint8Array {
  // One buffer of the final size; rows are streamed into it, never all held at once.
  const bytes = new Uint8Array(size);
  let at = 0;
  let overflow = false;
  for (const row of conn.stmt.chunks.iterate(messageId)) {
    const data = (row as { data: Uint8Array }).data;
    if (at + data.length > bytes.length) {
      overflow = true;
      break;
    }
    bytes.set(data, at);
    at += data.length;
  }
  if (overflow || at !== size) {
    throw new StoreError(
      "corrupt",
      `${conn.path}: message ${messageId} should hold ${size} octets but its ` +
        `chunks hold ${overflow ? "more" : at}`,
    );
  }
  return bytes;
}

/**
 * Deletes message `messageId` and its bytes if nothing refers to it any more (the single
 * reference check is SQL.messageReferenced). Must run inside a write transaction.
 */
export function collectMessage(conn: Connection, messageId: number): boolean {
  const s = conn.stmt;
  const row = s.messageReferenced.get(messageId) as { referenced: number } | undefined;
  if (row?.referenced) return false;
  s.deleteChunks.run(messageId);
  s.deleteMessage.run(messageId);
  return true;
}
