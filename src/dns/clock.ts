/**
 * The resolver's sense of time: per-attempt timeouts are armed here and cached answers expire
 * by it, so a test passes a clock that moves only when told and sees both without waiting.
 *
 * @module
 */
import { SYSTEM_TIMER_CLOCK, type TimerClock } from "../timer_clock.ts";

/** Milliseconds now, and timers that fire against the same clock. */
export type DnsClock = TimerClock;

/** Real time. */
export const SYSTEM_DNS_CLOCK: DnsClock = SYSTEM_TIMER_CLOCK;
