/**
 * A client clock that moves only when a test moves it, so that the client's deadlines pass when
 * the test says so, never after real seconds; and event-driven waits for what the test watches.
 */
import type { ClientClock } from "../../src/client/clock.ts";

/** PROMISE, or a failure naming WHAT after LIMIT_MS of real time: a bound on a stuck test. */
export function bounded<T>(promise: Promise<T>, what: string, limitMs = 20_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Gave up waiting for ${what}`)), limitMs);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

/** Waits for conditions over state that changes only where {@link Watch.changed} is called. */
export class Watch {
  #waiters: { holds: () => boolean; resolve: () => void }[] = [];

  /** Call after changing the watched state. */
  changed(): void {
    const ready = this.#waiters.filter((w) => w.holds());
    this.#waiters = this.#waiters.filter((w) => !w.holds());
    for (const w of ready) w.resolve();
  }

  /** Resolves once HOLDS returns true (bounded in real time, see {@link bounded}). */
  until(holds: () => boolean, what: string): Promise<void> {
    if (holds()) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#waiters.push({ holds, resolve });
    return bounded(promise, what);
  }
}

export class ManualClientClock implements ClientClock {
  #now = 0;
  #timers: { at: number; fn: () => void }[] = [];
  /** Changes whenever a timer is armed, cancelled or fired. */
  readonly watch = new Watch();

  now(): number {
    return this.#now;
  }

  after(ms: number, fn: () => void): () => void {
    const timer = { at: this.#now + ms, fn };
    this.#timers.push(timer);
    this.watch.changed();
    return () => {
      this.#timers = this.#timers.filter((t) => t !== timer);
      this.watch.changed();
    };
  }

  /** When each armed timer is due, earliest first. */
  get pending(): number[] {
    return this.#timers.map((t) => t.at).sort((a, b) => a - b);
  }

  /** Moves the clock on by MS and fires every timer that is then due. */
  advance(ms: number): void {
    this.#now += ms;
    const due = this.#timers.filter((t) => t.at <= this.#now);
    this.#timers = this.#timers.filter((t) => t.at > this.#now);
    for (const t of due) t.fn();
    this.watch.changed();
  }
}
