/**
 * The outbound queue of `mail serve`: store and forward (RFC 5321 §4.5.4, §5.1, §6).
 *
 * - schedule.ts: backoff with jitter, expiry, delay warnings (Postfix's defaults).
 * - route.ts: next hops: `--route`, the `*` smarthost, or MX lookups.
 * - runner.ts: the worker loop: due rows grouped by message and domain, concurrency limits.
 * - settle.ts: a transaction's results committed: delivered, rescheduled (with a delay warning
 *   once due), or left to the pass to bounce; bounces.ts: DSN messages to senders, and the
 *   bounce of a pass committed with the removal of its failed rows.
 * - dsn.ts: RFC 3464 delivery status notifications (bounces and delay warnings).
 * - mta_sts.ts: a delivery to MX hosts under the destination's MTA-STS policy (RFC 8461).
 * - setup.ts: the runner built from `mail serve`'s settings; errors.ts: the queue's errors.
 * - message.ts: the relayed form of a stored message, and its header block for a DSN. (Loop
 *   detection, RFC 5321 §6.3, counts trace headers: smtp/trace.ts, shared with the server.)
 *
 * The queue itself lives in the store (one row per remote recipient); `mail queue` reads it.
 *
 * @module
 */
export * from "./schedule.ts";
export * from "./route.ts";
export * from "./runner.ts";
export * from "./dsn.ts";
export * from "./message.ts";
export * from "./setup.ts";
export * from "./errors.ts";
