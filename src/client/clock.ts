/**
 * The client's sense of time: every deadline it keeps (connect, handshake, each reply) reads
 * this clock and arms its timers here, so a test can pass a clock that moves only when told and
 * see a timeout happen without waiting for it.
 *
 * @module
 */

/** Milliseconds now, and timers that fire against the same clock. */
export interface ClientClock {
  /** The time in milliseconds (any origin; only differences matter). */
  now(): number;
  /** Calls FN once MS have passed; returns a function that cancels it. */
  after(ms: number, fn: () => void): () => void;
}

/** Real time. */
export const SYSTEM_CLOCK: ClientClock = {
  now: () => Date.now(),
  after(ms, fn) {
    // Timers hold at most 2^31 - 1 ms (about 24 days); a later deadline fires early, and the
    // caller, finding it not yet reached, waits again.
    const timer = setTimeout(fn, Math.min(ms, 2 ** 31 - 1));
    return () => clearTimeout(timer);
  },
};
