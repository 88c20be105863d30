/**
 * Brute-force defence for AUTH: each failed attempt from a client address is answered more
 * slowly than the last, and past a threshold within a window the address is locked out for a
 * while (421 4.7.0, and new connections from it are refused).
 *
 * @module
 */

/** Limits; all durations in milliseconds. */
export interface AuthGuardOptions {
  /** Failures within `windowMs` that lock an address out. */
  readonly maxFailures: number;
  readonly windowMs: number;
  /** How long a lockout lasts. */
  readonly lockoutMs: number;
  /** Delay before answering the first failure; doubles with each further one. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly now?: () => number;
}

export const DEFAULT_AUTH_GUARD: AuthGuardOptions = {
  maxFailures: 10,
  windowMs: 15 * 60_000,
  lockoutMs: 15 * 60_000,
  baseDelayMs: 500,
  maxDelayMs: 8000,
};

interface Record {
  failures: number[];
  lockedUntil: number;
}

/** Per-address failure bookkeeping. Memory is bounded: old records are pruned as it goes. */
export class AuthGuard {
  readonly #o: AuthGuardOptions;
  readonly #records = new Map<string, Record>();
  readonly #now: () => number;

  constructor(options: AuthGuardOptions = DEFAULT_AUTH_GUARD) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** Whether ADDRESS is locked out now. */
  isLocked(address: string): boolean {
    return (this.#records.get(address)?.lockedUntil ?? 0) > this.#now();
  }

  /**
   * Records a failure; returns how long to wait before answering, and whether the address is
   * now locked out.
   */
  fail(address: string): { delayMs: number; locked: boolean } {
    const now = this.#now();
    this.#prune(now);
    const r = this.#records.get(address) ?? { failures: [], lockedUntil: 0 };
    r.failures = r.failures.filter((t) => t > now - this.#o.windowMs);
    r.failures.push(now);
    if (r.failures.length >= this.#o.maxFailures) r.lockedUntil = now + this.#o.lockoutMs;
    this.#records.set(address, r);
    const delayMs = Math.min(
      this.#o.maxDelayMs,
      this.#o.baseDelayMs * 2 ** (r.failures.length - 1),
    );
    return { delayMs, locked: r.lockedUntil > now };
  }

  /** A success clears the address's failures (but not a lockout in force). */
  succeed(address: string): void {
    const r = this.#records.get(address);
    if (r && r.lockedUntil <= this.#now()) this.#records.delete(address);
  }

  #prune(now: number): void {
    if (this.#records.size < 10_000) return;
    for (const [a, r] of this.#records) {
      if (r.lockedUntil <= now && (r.failures.at(-1) ?? 0) <= now - this.#o.windowMs) {
        this.#records.delete(a);
      }
    }
  }
}
