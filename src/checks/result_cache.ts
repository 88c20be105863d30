/**
 * Results of checks kept for a short time, bounded in entries: while the DNS answers they read
 * are cached, the same inputs give the same result (SPF of one sender from one address with one
 * HELO, RFC 7208 §4; DMARC of one author domain with the same authenticated domains, RFC 7489
 * §6.6), so a sender that sends many messages is not evaluated afresh for each. Only results
 * that do not depend on a failed lookup are kept (the caller decides).
 *
 * @module
 */
import { type ClientClock, SYSTEM_CLOCK } from "../client/clock.ts";

/** How long a result is kept, and how many at most. */
export interface ResultCacheLimits {
  readonly ttlMs: number;
  readonly maxEntries: number;
}

/** Defaults: short against the DNS records changing, small against a flood of senders. */
export const DEFAULT_RESULT_CACHE: ResultCacheLimits = { ttlMs: 30_000, maxEntries: 2000 };

/** Values by key, each for `ttlMs`; the oldest goes when it is full. */
export class ResultCache<V> {
  readonly #entries = new Map<string, { value: V; until: number }>();
  readonly #limits: ResultCacheLimits;
  readonly #clock: ClientClock;

  constructor(limits: ResultCacheLimits = DEFAULT_RESULT_CACHE, clock: ClientClock = SYSTEM_CLOCK) {
    this.#limits = limits;
    this.#clock = clock;
  }

  /** The value kept for KEY, if it is still fresh. */
  get(key: string): V | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    if (e.until <= this.#clock.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  /** Keeps VALUE for KEY. */
  set(key: string, value: V): void {
    if (this.#limits.maxEntries <= 0) return;
    this.#entries.delete(key);
    // A Map iterates in insertion order: the first key is the oldest.
    while (this.#entries.size >= this.#limits.maxEntries) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
    this.#entries.set(key, { value, until: this.#clock.now() + this.#limits.ttlMs });
  }

  get size(): number {
    return this.#entries.size;
  }
}

/** How long a result reached while the DNS server is down is kept. */
export const DOWN_TTL_MS = 2000;

/**
 * Results of one kind of check, by their inputs: a settled one for the full time; a temporary
 * failure (it depends on a lookup that failed) only while the DNS server is down, and for
 * {@link DOWN_TTL_MS}, so that a machine offline does not work the same temperror out again for
 * every message, and the next evaluation after that asks the server again (a probe).
 */
export class CheckResults<V> {
  readonly #settled: ResultCache<V>;
  readonly #whileDown: ResultCache<V>;
  readonly #down: () => boolean;
  readonly #temporary: (value: V) => boolean;

  constructor(
    down: () => boolean,
    temporary: (value: V) => boolean,
    limits: ResultCacheLimits = DEFAULT_RESULT_CACHE,
    clock: ClientClock = SYSTEM_CLOCK,
  ) {
    this.#settled = new ResultCache(limits, clock);
    this.#whileDown = new ResultCache({ ttlMs: DOWN_TTL_MS, maxEntries: limits.maxEntries }, clock);
    this.#down = down;
    this.#temporary = temporary;
  }

  /** The result kept for KEY, if any still holds. */
  get(key: string): V | undefined {
    return this.#settled.get(key) ?? (this.#down() ? this.#whileDown.get(key) : undefined);
  }

  /** Keeps VALUE for KEY, as long as its kind allows. */
  set(key: string, value: V): void {
    if (!this.#temporary(value)) this.#settled.set(key, value);
    else if (this.#down()) this.#whileDown.set(key, value);
  }
}
