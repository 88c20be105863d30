/**
 * A clock that moves only when a test moves it, and the deadline sweeper that reads it: a
 * server given `clock.deadlines` times out when the test says so, not after real seconds.
 */
import { type Clock, DeadlineSweeper } from "../../src/server/deadlines.ts";
import { setImmediate } from "node:timers";

export class ManualClock implements Clock {
  #now: number;
  /** Pass this to the server under test. */
  readonly deadlines: DeadlineSweeper;

  constructor(start = Date.now()) {
    this.#now = start;
    this.deadlines = new DeadlineSweeper(this);
  }

  now(): number {
    return this.#now;
  }

  /** Moves the clock on by MS and sweeps, as the sweeper's own timer would. */
  advance(ms: number): void {
    this.#now += ms;
    this.deadlines.sweep();
  }
}

/** Lets the event loop poll for I/O once: an in-process server then sees what a test just sent. */
export function ioTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Waits until CONDITION holds, letting the event loop turn in between; fails after TURNS turns
 * rather than spinning for ever.
 */
export async function until(condition: () => boolean, what: string, turns = 10_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (condition()) return;
    await ioTurn();
  }
  throw new Error(`Gave up waiting for ${what} after ${turns} event-loop turns`);
}

/**
 * PROMISE, or a failure naming WHAT if it has not settled within LIMIT_MS of real time: a bound on
 * a stuck test, never a measurement.
 */
export function bounded<T>(promise: Promise<T>, what: string, limitMs = 30_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Gave up waiting for ${what}`)), limitMs);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}
