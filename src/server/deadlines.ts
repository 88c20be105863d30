/**
 * One timer for the deadlines of every connection: idle timeouts, per-line deadlines, the
 * linger after a close, a TLS handshake's limit and a refused socket's all expire when a periodic
 * sweep finds them past.
 *
 * A timer per socket is what `socket.setTimeout` would give: under Deno each costs memory on
 * every idle connection and is re-armed on every read (figures in docs/performance.md).
 * Timeouts measured in minutes (RFC 5321 §4.5.3.2) lose nothing by firing up to one sweep late.
 *
 * The sweeper owns the clock its members read, so a test can hand it a clock of its own, move
 * that clock and sweep at once: timeouts are then tested without waiting for them.
 *
 * @module
 */
import { clearInterval, setInterval } from "node:timers";
import type { ClientClock } from "../client/clock.ts";

/** Where the time comes from: milliseconds since the epoch. */
export interface Clock {
  now(): number;
}

/** The system's clock. */
export const SYSTEM_CLOCK: Clock = { now: () => Date.now() };

/** Something with deadlines: told the time at every sweep, it acts on whatever has expired. */
export interface Expiring {
  sweep(now: number): void;
}

/** How often deadlines are checked: the most a deadline can fire late. */
export const SWEEP_MS = 250;

/** Checks its members' deadlines every {@link SWEEP_MS} while it has any. */
export class DeadlineSweeper {
  readonly #members = new Set<Expiring>();
  readonly #clock: Clock;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** CLOCK is what deadlines are measured against (the system's by default). */
  constructor(clock: Clock = SYSTEM_CLOCK) {
    this.#clock = clock;
  }

  /** The time on this sweeper's clock: members set their deadlines by it. */
  now(): number {
    return this.#clock.now();
  }

  add(member: Expiring): void {
    this.#members.add(member);
    // The sockets keep the process alive, never this timer.
    this.#timer ??= setInterval(() => this.sweep(), SWEEP_MS).unref();
  }

  delete(member: Expiring): void {
    this.#members.delete(member);
    if (this.#members.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /**
   * Runs ACTION once a sweep finds the time WHEN (on this sweeper's clock) past, unless the
   * returned function cancels it first: a one-off deadline without a timer of its own.
   */
  once(when: number, action: () => void): () => void {
    const member: Expiring = {
      sweep: (now) => {
        if (now < when) return;
        this.delete(member);
        action();
      },
    };
    this.add(member);
    return () => this.delete(member);
  }

  /**
   * This sweeper as a {@link ClientClock}: timers that fire at a sweep after their time, for
   * work that needs a bound but not a precise one (the checks' DNS budget of seconds): a set
   * entry each instead of a runtime timer, which costs many times more to arm and cancel.
   */
  clientClock(): ClientClock {
    return {
      now: () => this.now(),
      after: (ms, fn) => this.once(this.now() + ms, fn),
    };
  }

  /** Number of members; for tests. */
  get size(): number {
    return this.#members.size;
  }

  /** Tells every member the time now; the timer calls it, and tests that move the clock do. */
  sweep(): void {
    const now = this.#clock.now();
    // A member may leave during its own sweep (its socket destroyed); a Set's iterator allows it.
    for (const m of this.#members) m.sweep(now);
  }
}
