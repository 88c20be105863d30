/**
 * The resolver's sense of time: per-attempt timeouts are armed here and cached answers expire
 * by it, so a test passes a clock that moves only when told and sees both without waiting.
 *
 * @module
 */
import { clearTimeout, setTimeout } from "node:timers";

/** Milliseconds now, and timers that fire against the same clock. */
export interface DnsClock {
  /** The time in milliseconds (any origin; only differences matter). */
  now(): number;
  /** Calls FN once MS have passed; returns a function that cancels it. */
  after(ms: number, fn: () => void): () => void;
}

/** Real time. */
export const SYSTEM_DNS_CLOCK: DnsClock = {
  now: () => Date.now(),
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};
