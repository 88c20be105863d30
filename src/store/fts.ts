/**
 * The full-text index of messages for IMAP's SEARCH BODY and TEXT (RFC 9051 §6.4.4): a
 * case-insensitive substring match over a message's decoded text, narrowed by SQLite's FTS5
 * with its trigram tokenizer (https://www.sqlite.org/fts5.html#the_trigram_tokenizer): every
 * three characters of the text are a token.
 *
 * The index keeps which trigrams each message's header and body hold, not where (`detail =
 * column`, about a third of the size positions take). A term of three characters is one
 * trigram, so the index answers it exactly; a longer one gives the messages that hold all of its
 * trigrams, a superset that the caller narrows to the exact answer by looking at those
 * messages' text ({@link IndexAnswer}). Either way the result is what a scan gives:
 *
 * - Case: the text is kept folded with {@link foldText} (JavaScript's `toLowerCase`, the scan's
 *   own fold), and the tokenizer is case-sensitive, so the trigrams are those of the folded text.
 * - Characters the tokenizer cannot keep apart: it drops U+0000 and reads U+FFFE and U+FFFF as
 *   U+FFFD, so text keeps U+0000 as U+FFFD too, and a term with any of the four goes to the scan
 *   ({@link indexable}). So do terms of fewer than three characters (no trigram), terms that
 *   are not well-formed UTF-16, and for TEXT terms with a line break (the one place where a
 *   match could span the header and the body, which are kept apart).
 *
 * Text is not decoded here (the store knows no MIME): the caller hands in each message's header
 * and body text. A message is indexed once however many folders hold it; its rows go when the
 * message does (a trigger). Nothing is indexed at delivery: see docs/performance.md.
 *
 * @module
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";

/** The text index's tables (part of ./derived.ts's migration). */
export const TEXT_INDEX_SQL = `
  -- The trigrams of each indexed message's folded text, by messages.id: of its header (as TEXT
  -- sees it) and of its body text. Contentless: no second copy of the text is kept.
  CREATE VIRTUAL TABLE message_text USING fts5(
    head, body, tokenize = 'trigram case_sensitive 1', detail = column,
    content = '', contentless_delete = 1
  );
  -- Which messages are in message_text (a contentless table cannot be asked cheaply).
  CREATE TABLE message_text_done (message_id INTEGER PRIMARY KEY);
  CREATE TRIGGER message_text_gone AFTER DELETE ON messages
    WHEN EXISTS (SELECT 1 FROM message_text_done WHERE message_id = old.id)
  BEGIN
    DELETE FROM message_text WHERE rowid = old.id;
    DELETE FROM message_text_done WHERE message_id = old.id;
  END;
`;

/** Where a term is looked for: BODY (the body's text) or TEXT (the header too). */
export type TextWhere = "body" | "text";

/** The text of one message, as the caller decoded it: its header and its body's text. */
export interface MessageText {
  readonly messageId: number;
  /** The message's header, as TEXT searches it. */
  readonly head: string;
  /** The text of its body, as BODY searches it. */
  readonly body: string;
}

/** The case fold of search: the same for the index and for a scan. */
export function foldText(text: string): string {
  return text.toLowerCase();
}

/** The fewest characters (code points) a term needs for the trigram index. */
export const MIN_INDEXED_TERM = 3;

/** Code points the tokenizer drops or merges (see the module's doc). */
const MERGED = /[\u0000\ufffd\ufffe\uffff]/;

/**
 * Whether the index can answer a search for TERM (as given, not yet folded) in WHERE exactly
 * as a scan would; when not, the caller scans.
 */
export function indexable(term: string, where: TextWhere): boolean {
  const folded = foldText(term);
  if (!folded.isWellFormed() || MERGED.test(folded)) return false;
  if (where === "text" && /[\r\n]/.test(folded)) return false;
  let n = 0;
  for (const _ of folded) if (++n >= MIN_INDEXED_TERM) return true;
  return false;
}

/** Text as the index keeps it: folded, U+0000 as U+FFFD. */
function indexedForm(text: string): string {
  return foldText(text).replaceAll("\u0000", "\ufffd");
}

/** The distinct trigrams of a folded term, in order of first appearance. */
function trigrams(folded: string): string[] {
  const cps = [...folded];
  const out = new Set<string>();
  for (let i = 0; i + MIN_INDEXED_TERM <= cps.length; i++) {
    out.add(cps.slice(i, i + MIN_INDEXED_TERM).join(""));
  }
  return [...out];
}

/** What the index says of a term: the UIDs, and whether they are the answer or a superset. */
export interface IndexAnswer {
  /** Ascending. Every message that holds the term is among them. */
  readonly uids: number[];
  /** True: exactly the messages that hold the term; false: those may hold it (check them). */
  readonly exact: boolean;
}

const SQL = {
  /** Messages of folder ?1 after UID ?2 not yet indexed, in UID order, at most ?3. */
  unindexed: `SELECT e.uid AS uid, e.message_id AS id FROM entries e
    WHERE e.folder_id = ?1 AND e.uid > ?2 AND NOT EXISTS
      (SELECT 1 FROM message_text_done d WHERE d.message_id = e.message_id)
    ORDER BY e.uid LIMIT ?3`,
  /** Marks a message indexed: no change when it is already, or when it is gone. */
  markDone: `INSERT OR IGNORE INTO message_text_done (message_id)
    SELECT id FROM messages WHERE id = ?`,
  insert: `INSERT INTO message_text (rowid, head, body) VALUES (?, ?, ?)`,
  /**
   * The UIDs of folder ?2 whose message matches the FTS5 query ?1. The query runs once, as a
   * subquery: written as a join, the planner walks the folder and runs it once per message.
   */
  search: `SELECT e.uid AS uid FROM entries e
    WHERE e.folder_id = ?2 AND e.message_id IN
      (SELECT rowid FROM message_text WHERE message_text MATCH ?1)
    ORDER BY e.uid`,
} as const;

/** The text index over one connection. Callers own the transactions. */
export class TextIndex {
  readonly #s: { [K in keyof typeof SQL]: StatementSync };

  constructor(db: DatabaseSync) {
    this.#s = Object.fromEntries(
      Object.entries(SQL).map(([k, v]) => [k, db.prepare(v)]),
    ) as { [K in keyof typeof SQL]: StatementSync };
  }

  /** Up to LIMIT messages of folder FOLDERID after UID AFTER that are not indexed yet. */
  unindexed(folderId: number, after: number, limit: number): { uid: number; id: number }[] {
    return this.#s.unindexed.all(folderId, after, limit) as { uid: number; id: number }[];
  }

  /**
   * Indexes TEXT, unless its message is indexed already (another session got there first) or
   * gone (expunged meanwhile). Inside a write transaction.
   */
  add(text: MessageText): boolean {
    if (this.#s.markDone.run(text.messageId).changes === 0) return false;
    this.#s.insert.run(text.messageId, indexedForm(text.head), indexedForm(text.body));
    return true;
  }

  /**
   * The UIDs of folder FOLDERID whose indexed message holds TERM in WHERE, or may hold it (see
   * {@link IndexAnswer}). Only for a term that is {@link indexable}; only messages indexed so
   * far are found.
   */
  search(folderId: number, where: TextWhere, term: string): IndexAnswer {
    if (!indexable(term, where)) throw new RangeError("The text index cannot answer this term");
    const grams = trigrams(foldText(term));
    // Each trigram an FTS5 phrase of one token (a quote inside doubled), all of them required
    // (https://www.sqlite.org/fts5.html#full_text_query_syntax).
    const all = grams.map((g) => `"${g.replaceAll('"', '""')}"`).join(" AND ");
    const query = where === "body" ? `body : (${all})` : all;
    const uids = (this.#s.search.all(query, folderId) as { uid: number }[]).map((r) => r.uid);
    return { uids, exact: [...foldText(term)].length === MIN_INDEXED_TERM };
  }
}
