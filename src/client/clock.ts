/**
 * The client's sense of time: every deadline it keeps (connect, handshake, each reply) reads
 * this clock and arms its timers here, so a test can pass a clock that moves only when told and
 * see a timeout happen without waiting for it.
 *
 * @module
 */

import { SYSTEM_TIMER_CLOCK, type TimerClock } from "../timer_clock.ts";

/** Milliseconds now, and timers that fire against the same clock. */
export type ClientClock = TimerClock;

/** Real time. */
export const SYSTEM_CLOCK: ClientClock = SYSTEM_TIMER_CLOCK;
