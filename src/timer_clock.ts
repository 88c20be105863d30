/**
 * A clock with timers: what code that keeps deadlines reads (the SMTP client's replies, the DNS
 * resolver's attempts and cache, the checks' budget), so that a test can pass a clock that moves
 * only when told and see a timeout happen without waiting for it.
 *
 * @module
 */

/** Milliseconds now, and timers that fire against the same clock. */
export interface TimerClock {
  /** The time in milliseconds (any origin; only differences matter). */
  now(): number;
  /** Calls FN once MS have passed; returns a function that cancels it. */
  after(ms: number, fn: () => void): () => void;
}

/** Real time. */
export const SYSTEM_TIMER_CLOCK: TimerClock = {
  now: () => Date.now(),
  after(ms, fn) {
    // Timers hold at most 2^31 - 1 ms (about 24 days); a later deadline fires early, and the
    // caller, finding it not yet reached, waits again.
    const timer = setTimeout(fn, Math.min(ms, 2 ** 31 - 1));
    return () => clearTimeout(timer);
  },
};
