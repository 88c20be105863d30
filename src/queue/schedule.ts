/**
 * When to try a deferred recipient again, and when to give up: exponential backoff with
 * jitter, as Postfix schedules its deferred queue (minimal_backoff_time, maximal_backoff_time,
 * maximal_queue_lifetime), and RFC 5321 §4.5.4.1's advice that retries be spaced out (at
 * least 30 minutes, giving up after 4-5 days; the defaults are Postfix's, shorter for tests).
 *
 * The first attempt is immediate: a queued row is due as of its arrival (see the store).
 *
 * @module
 */

/** The schedule, in milliseconds. */
export interface Schedule {
  /** Wait after the first temporary failure; doubles with each further one. */
  readonly minBackoffMs: number;
  /** The longest wait between two attempts. */
  readonly maxBackoffMs: number;
  /** How long a recipient may stay queued before it bounces. */
  readonly lifetimeMs: number;
  /** Delay after which the sender is warned once (RFC 3464 Action: delayed); 0: never. */
  readonly delayWarningMs: number;
}

/** Jitter as a fraction of the backoff: ±20%, so that retries of a burst spread out. */
export const JITTER = 0.2;

/**
 * The backoff after the Nth consecutive temporary failure (N ≥ 1): min·2^(N-1), moved by up to
 * ±{@link JITTER} at random, never above max.
 */
export function backoff(failures: number, schedule: Schedule, random = Math.random): number {
  const n = Math.max(1, Math.floor(failures));
  // 2^(n-1) overflows nothing: past ~40 doublings the cap applies anyway.
  const base = Math.min(schedule.maxBackoffMs, schedule.minBackoffMs * 2 ** Math.min(n - 1, 40));
  const jittered = base * (1 + JITTER * (2 * random() - 1));
  return Math.round(Math.min(schedule.maxBackoffMs, Math.max(jittered, 0)));
}

/** When the recipient expires (bounces instead of being retried). */
export function expiresAt(createdAt: number, schedule: Schedule): number {
  return createdAt + schedule.lifetimeMs;
}

/** Whether a recipient queued at CREATEDAT has been queued too long at NOW. */
export function expired(createdAt: number, now: number, schedule: Schedule): boolean {
  return now >= expiresAt(createdAt, schedule);
}

/**
 * The next attempt after the Nth failure at NOW. It never lies beyond the expiry time, so the
 * last attempt happens when the lifetime ends and a failure then bounces at once.
 */
export function nextAttempt(
  failures: number,
  now: number,
  createdAt: number,
  schedule: Schedule,
  random = Math.random,
): number {
  return Math.min(now + backoff(failures, schedule, random), expiresAt(createdAt, schedule));
}

/** Whether a delay warning is due for a recipient queued at CREATEDAT and not warned yet. */
export function warningDue(createdAt: number, now: number, schedule: Schedule): boolean {
  return schedule.delayWarningMs > 0 && now - createdAt >= schedule.delayWarningMs;
}
