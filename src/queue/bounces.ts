/**
 * Bounces and delay warnings (RFC 3464) about queued messages, as messages to their senders,
 * and the bounce of a pass: the failures of a message's transactions started together, sent
 * to its sender as one report and committed with the removal of the failed rows.
 *
 * A DSN is sent from the null reverse-path (RFC 5321 §4.5.5): to a sender in one of our
 * domains it is stored in the sender's mailbox, to any other it is queued like any message.
 * A message from the null sender is never bounced or warned about (RFC 3464 §2).
 *
 * A notice is signed (DKIM, RFC 6376) when its options carry a signer: `mail serve` signs with
 * the key of the hostname's domain, or of its nearest parent domain that has one.
 *
 * @module
 */
import { getLogger } from "../log.ts";
import { summarize } from "../mime/mod.ts";
import { newQueueId } from "../queue_id.ts";
import { returnPathHeader } from "../smtp/trace.ts";
import type { NewMessage, QueueEntry, Store } from "../store/mod.ts";
import { composeDsn, type DsnRecipient } from "./dsn.ts";
import { forRelay, headerBlock } from "./message.ts";

const log = getLogger(["mail", "queue"]);

/**
 * The transactions of one message started together, one per destination. Their failures make
 * one bounce, as a sender would want (RFC 3464 §2: a DSN may report on many recipients), not
 * one per domain. A failed row stays in the queue, and in flight, until the last transaction
 * of the pass is over; its bounce and its removal are then one commit, so a crash meanwhile
 * loses neither: the row is due again after a restart, and bounces then.
 */
export interface Pass {
  /** Transactions not over yet. */
  pending: number;
  /** Every row of the pass: in flight until the pass is over. */
  readonly rows: number[];
  readonly failures: DsnRecipient[];
  readonly failedRows: number[];
  /** A row of the message, for its sender and queue id. */
  readonly first: QueueEntry;
  /** The message's bytes, once a transaction has read them (for the bounce's headers). */
  original?: Uint8Array;
}

/** A pass for the message of FIRST, with no transaction yet. */
export function newPass(first: QueueEntry): Pass {
  return { pending: 0, rows: [], failures: [], failedRows: [], first };
}

/** Who writes the notices, and where those to local senders go. */
export interface NoticeOptions {
  /** Our name: Reporting-MTA, MAILER-DAEMON's domain, the notice's Message-ID. */
  readonly hostname: string;
  /** Local domains (lower-case): a notice to a sender in one of them is stored, not queued. */
  readonly localDomains: ReadonlySet<string>;
  /**
   * The DKIM-Signature fields for a notice (its bytes below the Return-Path field, its id),
   * empty when it goes unsigned. Synchronous: the notice is committed with the queue changes
   * that call for it.
   */
  readonly sign?: ((message: Uint8Array, id: string) => Uint8Array) | undefined;
}

/**
 * A DSN of KIND about FIRST's message to its sender, reporting on RECIPIENTS, with ORIGINAL's
 * header block: a message to store locally or to queue.
 */
export function notice(
  o: NoticeOptions,
  kind: "failure" | "delay",
  first: QueueEntry,
  recipients: DsnRecipient[],
  original: Uint8Array,
  now: number,
): NewMessage {
  const id = newQueueId(now);
  const body = composeDsn({
    kind,
    reportingMta: o.hostname,
    to: first.sender,
    queueId: first.messageId,
    arrivalDate: new Date(first.receivedAt),
    date: new Date(now),
    messageId: `${id}@${o.hostname}`,
    recipients,
    originalHeaders: headerBlock(forRelay(original)),
  });
  const signature = o.sign?.(body, id);
  const chunks = [new TextEncoder().encode(returnPathHeader("")), body];
  if (signature !== undefined && signature.length > 0) chunks.splice(1, 0, signature);
  let size = 0;
  for (const c of chunks) size += c.length;
  const domain = first.sender.slice(first.sender.lastIndexOf("@") + 1).toLowerCase();
  const local = o.localDomains.has(domain);
  return {
    id,
    sender: "",
    recipients: local ? [first.sender] : [],
    relay: local ? [] : [first.sender],
    chunks,
    size,
    summary: summarize(chunks),
    receivedAt: now,
    createMailboxes: true,
  };
}

/**
 * The last transaction of PASS is over: its failed rows go, and their one bounce is stored, in
 * one commit. Returns false when the store refused: the rows are then left due, as after a
 * crash, for the caller to hold back a while.
 */
export function bouncePass(
  store: Pick<Store, "settle">,
  o: NoticeOptions,
  pass: Pass,
  now: number,
): boolean {
  const { first, failures, failedRows, original } = pass;
  if (failedRows.length === 0 || original === undefined) return true;
  const bounce = first.sender !== ""
    ? notice(o, "failure", first, failures, original, now)
    : undefined;
  try {
    store.settle({ finished: failedRows, notices: bounce ? [bounce] : [] });
  } catch (err) {
    log.error("Cannot record the bounce", {
      id: first.messageId,
      error: (err as Error).message,
    });
    return false;
  }
  if (bounce) {
    log.info("Bounce", {
      id: bounce.id,
      to: first.sender,
      original: first.messageId,
      recipients: failures.length,
    });
  } else log.info("Not bounced: null sender", { id: first.messageId });
  return true;
}
