/**
 * The SQL the store runs, one constant per statement, prepared once per connection.
 *
 * Kept apart from the code so tests can `EXPLAIN QUERY PLAN` the read paths and prove they use
 * the indexes (https://www.sqlite.org/eqp.html).
 *
 * @module
 */

/** Columns of a mailbox listing row (see `EntryRow` in mailboxes.ts). */
const ENTRY_COLUMNS = `
  e.id AS id, m.queue_id AS queue_id, m.sender AS sender, m.hdr_from AS hdr_from,
  m.hdr_subject AS hdr_subject, m.hdr_date AS hdr_date, m.size AS size, e.seen AS seen,
  e.received_at AS received_at`;

/** Columns of a queue row (see `QueueRowData` in outbound_queue.ts). */
const QUEUE_COLUMNS = `
  q.id AS id, q.message_id AS message_id, m.queue_id AS queue_id, m.sender AS sender,
  q.recipient AS recipient, q.domain AS domain, q.attempts AS attempts,
  q.next_attempt AS next_attempt, q.last_reply AS last_reply, q.created_at AS created_at,
  q.warned AS warned, m.received_at AS received_at`;

/** The folder :folder (INBOX for `mail inbox`) of the mailbox of :address. */
const FOLDER_ID = `(SELECT f.id FROM folders f JOIN mailboxes mb ON mb.id = f.mailbox_id
  WHERE mb.address = :address AND f.name = :folder)`;

export const SQL = {
  // --- Transactions (prepared: deliverMany runs them once per message) ---
  savepoint: `SAVEPOINT one`,
  release: `RELEASE one`,
  rollbackTo: `ROLLBACK TO one`,
  // --- Delivery ---
  messageIdByQueueId: `SELECT id FROM messages WHERE queue_id = ?`,
  mailboxId: `SELECT id FROM mailboxes WHERE address = ?`,
  insertMailbox: `INSERT INTO mailboxes (address, created_at) VALUES (?, ?)`,
  insertMailboxIfMissing:
    `INSERT INTO mailboxes (address, created_at) VALUES (?, ?) ON CONFLICT (address) DO NOTHING`,
  insertMessage: `INSERT INTO messages
    (queue_id, sender, size, received_at, hdr_from, hdr_subject, hdr_date, hdr_message_id, body)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  insertChunk: `INSERT INTO message_chunks (message_id, seq, data) VALUES (?, ?, ?)`,

  // --- Recipients ---
  userExists: `SELECT 1 AS found FROM users WHERE address = ?`,
  mailboxExists: `SELECT 1 AS found FROM mailboxes WHERE address = ?`,

  // --- Reading ---
  /**
   * Newest first: a backwards walk of entries(folder_id, uid) (UIDs ascend with arrival), then
   * a rowid lookup each.
   */
  list: `SELECT ${ENTRY_COLUMNS}
    FROM entries e JOIN messages m ON m.id = e.message_id
    WHERE e.folder_id = ${FOLDER_ID} AND e.id < :before
    ORDER BY e.uid DESC LIMIT :limit OFFSET :offset`,
  count: `SELECT
      (SELECT count(*) FROM entries WHERE folder_id = f.id) AS total,
      (SELECT count(*) FROM entries WHERE folder_id = f.id AND seen = 0) AS unseen
    FROM folders f JOIN mailboxes mb ON mb.id = f.mailbox_id
    WHERE mb.address = :address AND f.name = :folder`,
  entry: `SELECT ${ENTRY_COLUMNS}
    FROM entries e JOIN messages m ON m.id = e.message_id
    WHERE e.id = :id AND e.folder_id = ${FOLDER_ID}`,
  entryMessage: `SELECT e.message_id AS message_id, m.size AS size, m.body AS body
    FROM entries e JOIN messages m ON m.id = e.message_id
    WHERE e.id = :id AND e.folder_id = ${FOLDER_ID}`,
  /** An entry of folder :folder by its id, with what changing or removing it needs. */
  entryInFolder: `SELECT e.id AS id, e.folder_id AS folder_id, e.uid AS uid, e.seen AS seen,
      e.flags AS flags, e.message_id AS message_id
    FROM entries e WHERE e.id = :id AND e.folder_id = ${FOLDER_ID}`,
  chunks: `SELECT data FROM message_chunks WHERE message_id = ? ORDER BY seq`,
  /**
   * Each piece's length, from the rows' headers, for the pieces of message ? and then those of
   * later messages (the caller stops at the first of another message). Open-ended on purpose: an
   * upper bound would compare every row's key, and a key with its blob overflowing its page is
   * loaded whole to be compared (the whole message read again).
   */
  chunkLengths: `SELECT message_id, seq, length(data) AS n FROM message_chunks
    WHERE message_id >= ? ORDER BY message_id, seq`,
  /** The pieces of message :id from piece :seq on, then later messages' (open-ended: above). */
  chunksFrom: `SELECT message_id, data FROM message_chunks
    WHERE (message_id, seq) >= (:id, :seq) ORDER BY message_id, seq`,
  /** Octets of one piece (substr counts from 1). */
  chunkRange: `SELECT substr(data, :from, :count) AS data FROM message_chunks
    WHERE message_id = :id AND seq = :seq`,
  /** A message's size, and octets of its bytes when its row keeps them (NULL: they are pieces). */
  messageRange: `SELECT size, substr(body, :from, :count) AS data FROM messages WHERE id = :id`,
  mailboxes: `SELECT address FROM mailboxes ORDER BY address`,
  inboxOf: `SELECT id FROM folders WHERE mailbox_id = ? AND name = 'INBOX'`,

  // --- Removal ---
  deleteEntryById: `DELETE FROM entries WHERE id = ?`,
  /**
   * Whether anything still needs message ?1: a mailbox entry or an outbound queue row. The one
   * place that knows who refers to messages.
   */
  messageReferenced: `SELECT (EXISTS (SELECT 1 FROM entries WHERE message_id = ?1)
    OR EXISTS (SELECT 1 FROM queue WHERE message_id = ?1)) AS referenced`,
  deleteChunks: `DELETE FROM message_chunks WHERE message_id = ?`,
  deleteMessage: `DELETE FROM messages WHERE id = ?`,

  // --- Outbound queue ---
  insertQueue: `INSERT INTO queue (message_id, recipient, domain, next_attempt, created_at)
    VALUES (?, ?, ?, ?, ?)`,
  /** The due rows, oldest first: a range scan of queue_due. */
  queueDue: `SELECT ${QUEUE_COLUMNS} FROM queue q JOIN messages m ON m.id = q.message_id
    WHERE q.next_attempt <= :now ORDER BY q.next_attempt, q.id LIMIT :limit`,
  queueAll: `SELECT ${QUEUE_COLUMNS} FROM queue q JOIN messages m ON m.id = q.message_id
    ORDER BY q.next_attempt, q.id`,
  queueRow: `SELECT ${QUEUE_COLUMNS} FROM queue q JOIN messages m ON m.id = q.message_id
    WHERE q.id = ?`,
  /** When the runner next has work after :now (one probe of queue_due). */
  queueNextDue: `SELECT min(next_attempt) AS next FROM queue WHERE next_attempt > :now`,
  queueDefer: `UPDATE queue SET attempts = attempts + 1, next_attempt = :next,
    last_reply = :reply WHERE id = :id`,
  queueWarned: `UPDATE queue SET warned = 1 WHERE id = ?`,
  queueRetry: `UPDATE queue SET next_attempt = min(next_attempt, :now) WHERE id = :id`,
  queueRetryAll: `UPDATE queue SET next_attempt = :now WHERE next_attempt > :now`,
  queueDelete: `DELETE FROM queue WHERE id = ? RETURNING message_id`,
  messageContent: `SELECT size, body FROM messages WHERE id = ?`,

  // --- Users ---
  insertUser: `INSERT INTO users (address, password_hash, created_at) VALUES (?, ?, ?)`,
  deleteUser: `DELETE FROM users WHERE address = ?`,
  setPasswordHash: `UPDATE users SET password_hash = ? WHERE address = ?`,
  passwordHash: `SELECT password_hash FROM users WHERE address = ?`,
  listUsers: `SELECT address, created_at FROM users ORDER BY address`,
} as const;

/** Names of the prepared statements. */
export type StatementName = keyof typeof SQL;
