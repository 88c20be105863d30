/**
 * What becomes of one transaction's results: a recipient delivered leaves the queue; one
 * deferred is rescheduled (RFC 5321 §4.5.4.1), with a delay warning to its sender once due
 * (RFC 3464); one refused for good, or queued past its lifetime, waits for its pass to end and
 * bounces with the pass's other failures (see bounces.ts). Everything but the bounce is one
 * commit.
 *
 * @module
 */
import type { RecipientResult } from "../client/deliver.ts";
import { getLogger } from "../log.ts";
import type { QueueEntry, QueueSettlement, Store } from "../store/mod.ts";
import { notice, type NoticeOptions, type Pass } from "./bounces.ts";
import { type DsnRecipient, dsnStatus } from "./dsn.ts";
import { expired, expiresAt, nextAttempt, type Schedule, warningDue } from "./schedule.ts";

const log = getLogger(["mail", "queue"]);

/** Failures that say nothing about the recipient: try again later rather than bounce. */
const TRANSPORT_TROUBLE = new Set(["tls", "policy", "auth"]);

const hostOf = (hop: string | undefined) => hop?.replace(/:\d+$/, "");

/** What settling needs besides the results. */
export interface SettleOptions extends NoticeOptions {
  readonly store: Pick<Store, "settle">;
  readonly schedule: Schedule;
  readonly random?: (() => number) | undefined;
}

/**
 * Commits the RESULTS of GROUP's transaction at NOW, with the delay warning they call for.
 * Failed rows are left to PASS, which bounces them together with its other transactions'
 * failures.
 */
export function settleResults(
  o: SettleOptions,
  group: readonly QueueEntry[],
  results: readonly RecipientResult[],
  message: Uint8Array,
  pass: Pass,
  now: number,
): void {
  const { schedule } = o;
  const byRecipient = new Map(results.map((r) => [r.recipient, r]));
  const finished: number[] = [];
  const deferred: { id: number; nextAttempt: number; lastReply: string }[] = [];
  const warned: number[] = [];
  const { failures, failedRows } = pass;
  const delays: DsnRecipient[] = [];
  const first = group[0]!;
  for (const row of group) {
    const r = byRecipient.get(row.recipient) ?? {
      recipient: row.recipient,
      status: "deferred" as const,
      text: "no result from the delivery",
    };
    const fields = {
      id: row.messageId,
      row: row.id,
      recipient: row.recipient,
      host: r.hop,
      reply: r.text,
    };
    // A refused login (535) or TLS trouble says nothing about the recipient: retry, as
    // Postfix does (smtp_sasl_auth_soft_bounce), so that fixing the setup is enough.
    const temporary = r.status === "deferred" ||
      (r.status === "refused" && TRANSPORT_TROUBLE.has(r.failure ?? ""));
    const report = {
      recipient: row.recipient,
      reply: r.reply
        ? `${r.reply.code} ${[r.reply.enhanced, r.reply.lines.join(" ")].filter(Boolean).join(" ")}`
        : undefined,
      text: r.text,
      remoteMta: hostOf(r.hop),
      lastAttempt: new Date(now),
    };
    if (r.status === "sent") {
      finished.push(row.id);
      log.info("Delivered", fields);
    } else if (!temporary) {
      failedRows.push(row.id);
      failures.push({ ...report, action: "failed", status: dsnStatus(r.reply, "5.0.0") });
      log.warning("Bounced", { ...fields, attempts: row.attempts + 1 });
    } else if (expired(row.createdAt, now, schedule)) {
      failedRows.push(row.id);
      failures.push({
        ...report,
        action: "failed",
        status: "4.4.7",
        text: `delivery time expired after ${row.attempts + 1} attempts; last: ${r.text}`,
      });
      log.warning("Expired", { ...fields, attempts: row.attempts + 1 });
    } else {
      const next = nextAttempt(row.attempts + 1, now, row.createdAt, schedule, o.random);
      deferred.push({ id: row.id, nextAttempt: next, lastReply: r.text });
      log.info("Deferred", {
        ...fields,
        attempts: row.attempts + 1,
        next: new Date(next).toISOString(),
      });
      if (!row.warned && warningDue(row.createdAt, now, schedule)) {
        warned.push(row.id);
        delays.push({
          ...report,
          action: "delayed",
          status: dsnStatus(r.reply, "4.0.0"),
          willRetryUntil: new Date(expiresAt(row.createdAt, schedule)),
        });
      }
    }
  }
  // RFC 5321 §4.5.5, RFC 3464 §2: a message from the null sender is never bounced.
  const warning = first.sender !== "" && delays.length > 0
    ? notice(o, "delay", first, delays, message, now)
    : undefined;
  const settlement: QueueSettlement = {
    finished,
    deferred,
    warned,
    notices: warning ? [warning] : [],
  };
  o.store.settle(settlement);
  if (warning) {
    log.info("Delay warning", { id: warning.id, to: first.sender, original: first.messageId });
  }
}
