/**
 * The outbound queue: one row per remote recipient of a stored message, read by the queue runner
 * (due rows, the next due time, the message's bytes) and by `mail queue`, and settled after each
 * attempt in one transaction with the notices (bounces, delay warnings) it produced.
 *
 * @module
 */
import type { Connection } from "./connection.ts";
import { collectMessage, type ContentRow, insertMessage, messageContent } from "./messages.ts";
import type { OutboundQueue, QueueEntry, QueueSettlement } from "./types.ts";

/** A row of SQL.queueDue / queueAll / queueRow. */
interface QueueRowData {
  id: number;
  message_id: number;
  queue_id: string;
  sender: string;
  recipient: string;
  domain: string;
  attempts: number;
  next_attempt: number;
  last_reply: string | null;
  created_at: number;
  warned: number;
  received_at: number;
}

function toQueueEntry(row: QueueRowData): QueueEntry {
  return {
    id: row.id,
    messageRowId: row.message_id,
    messageId: row.queue_id,
    sender: row.sender,
    recipient: row.recipient,
    domain: row.domain,
    attempts: row.attempts,
    nextAttempt: row.next_attempt,
    lastReply: row.last_reply ?? undefined,
    createdAt: row.created_at,
    warned: row.warned !== 0,
    receivedAt: row.received_at,
  };
}

/** {@link OutboundQueue} over one connection. */
export class SqliteQueue implements OutboundQueue {
  readonly #conn: Connection;

  constructor(conn: Connection) {
    this.#conn = conn;
  }

  queueDue(now: number, limit: number): QueueEntry[] {
    return this.#conn.run(() =>
      (this.#conn.stmt.queueDue.all({ now, limit }) as unknown as QueueRowData[]).map(
        toQueueEntry,
      )
    );
  }

  queueList(): QueueEntry[] {
    return this.#conn.run(() =>
      (this.#conn.stmt.queueAll.all() as unknown as QueueRowData[]).map(toQueueEntry)
    );
  }

  queueEntry(id: number): QueueEntry | undefined {
    return this.#conn.run(() => {
      const row = this.#conn.stmt.queueRow.get(id) as QueueRowData | undefined;
      return row === undefined ? undefined : toQueueEntry(row);
    });
  }

  queueNextDue(after: number): number | undefined {
    return this.#conn.run(() => {
      const row = this.#conn.stmt.queueNextDue.get({ now: after }) as
        | { next: number | null }
        | undefined;
      return row?.next ?? undefined;
    });
  }

  messageBytes(messageRowId: number): Uint8Array | undefined {
    const conn = this.#conn;
    return conn.run(() => {
      const row = conn.stmt.messageContent.get(messageRowId) as ContentRow | undefined;
      return row === undefined ? undefined : messageContent(conn, messageRowId, row);
    }, true);
  }

  settle(settlement: QueueSettlement): void {
    const conn = this.#conn;
    conn.write(() => {
      const s = conn.stmt;
      for (const d of settlement.deferred ?? []) {
        s.queueDefer.run({ id: d.id, next: d.nextAttempt, reply: d.lastReply });
      }
      for (const id of settlement.warned ?? []) s.queueWarned.run(id);
      // Notices first: a bounce is stored before the row it reports on goes away, all or
      // nothing, so a crash can neither lose it nor send it twice.
      for (const notice of settlement.notices ?? []) insertMessage(conn, notice);
      const messages = new Set<number>();
      for (const id of settlement.finished ?? []) {
        const row = s.queueDelete.get(id) as { message_id: number } | undefined;
        if (row !== undefined) messages.add(row.message_id);
      }
      for (const messageId of messages) collectMessage(conn, messageId);
    });
  }

  queueRetry(now: number, id?: number): number {
    const s = this.#conn.stmt;
    return this.#conn.run(() =>
      Number(
        (id === undefined ? s.queueRetryAll.run({ now }) : s.queueRetry.run({ now, id })).changes,
      )
    );
  }

  queueDelete(id: number): boolean {
    const conn = this.#conn;
    return conn.write(() => {
      const row = conn.stmt.queueDelete.get(id) as { message_id: number } | undefined;
      if (row === undefined) return false;
      collectMessage(conn, row.message_id);
      return true;
    });
  }
}
