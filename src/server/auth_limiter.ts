/**
 * Bounds how many password verifications run at once. Each scrypt run holds 32 MiB (see
 * store/password.ts) and a core for tens of milliseconds, and every AUTH attempt costs one,
 * right or wrong: unbounded, a crowd of clients each sending one wrong password would make
 * the server allocate 32 MiB per attempt at the same moment.
 *
 * Attempts past the bound wait their turn in arrival order. Waiting is bounded twice: in
 * number (one more is refused at once) and in time (an attempt that has waited past the limit
 * is refused). A refused attempt is a temporary failure, not a wrong password: SMTP answers
 * `454 4.7.0 Temporary authentication failure` (RFC 4954 §6), and it does not count against
 * the client's address in the `AuthGuard`.
 *
 * Every listener that checks passwords (SMTP AUTH; later IMAP LOGIN and POP3 PASS) shares one
 * limiter, so the bound holds for the whole process.
 *
 * @module
 */
import { verifyPassword } from "../store/password.ts";
import type { AuthGuard } from "./auth_guard.ts";
import { DeadlineSweeper } from "./deadlines.ts";

/** Limits of an {@link AuthLimiter}. */
export interface AuthLimiterOptions {
  /** Verifications that may run at once (Infinity: no bound). */
  readonly concurrency: number;
  /** Attempts that may wait for a turn; one more is refused at once (Infinity: no bound). */
  readonly maxWaiting: number;
  /** How long an attempt may wait for its turn before it is refused, in milliseconds. */
  readonly waitMs: number;
}

/**
 * Two at once: hashing is CPU-bound, so on the two-core machines a small server runs on, more
 * would not finish sooner, only hold 32 MiB more each and take the core the event loop needs;
 * and a fixed bound keeps the peak (64 MiB) the same on any machine. Two at a time still check
 * over ten logins a second, far more than a mail server's users need.
 *
 * 64 waiting: at that rate the last of them waits a few seconds. The wait is bounded by
 * RFC 5321 §4.5.3.2.7's five minutes, the default command timeout (`mail serve --timeout`).
 */
export const DEFAULT_AUTH_LIMITS: AuthLimiterOptions = {
  concurrency: 2,
  maxWaiting: 64,
  waitMs: 300_000,
};

/**
 * What a {@link AuthLimiter.check} came to: the right password; a wrong one (or no such user),
 * with the guard's delay before answering and whether the client is now locked out; or a
 * client locked out before its turn came.
 */
export type CheckOutcome =
  | { readonly kind: "ok" }
  | { readonly kind: "wrong"; readonly delayMs: number; readonly locked: boolean }
  | { readonly kind: "locked" };

/** Why an attempt was refused before its password was checked. */
export class AuthBusyError extends Error {
  constructor(readonly reason: "queue full" | "wait timeout") {
    super(`Too many authentications in progress: ${reason}`);
    this.name = "AuthBusyError";
  }
}

interface Waiter {
  resolve(): void;
  cancel(): void;
}

/** A FIFO semaphore for password verifications; see the module comment. */
export class AuthLimiter {
  readonly #o: AuthLimiterOptions;
  readonly #deadlines: DeadlineSweeper;
  #running = 0;
  /** In arrival order (a Set iterates in insertion order and deletes in O(1)). */
  readonly #waiting = new Set<Waiter>();

  /** DEADLINES times the waits (tests pass one with a clock of their own). */
  constructor(
    options: Partial<AuthLimiterOptions> = {},
    deadlines: DeadlineSweeper = new DeadlineSweeper(),
  ) {
    this.#o = { ...DEFAULT_AUTH_LIMITS, ...options };
    if (!(this.#o.concurrency >= 1)) throw new RangeError("Concurrency must be at least 1");
    this.#deadlines = deadlines;
  }

  /** Verifications running now. */
  get running(): number {
    return this.#running;
  }

  /** Attempts waiting for a turn now. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /**
   * Checks PASSWORD against STORED (a user's hash; undefined: no such user, which still costs
   * a hash) for a client at ADDRESS, once a turn is free. GUARD is consulted and told within
   * the turn, so a client that the attempts ahead of it in the queue locked out costs no hash.
   * Rejects with {@link AuthBusyError} when too many wait or the turn does not come in time.
   */
  check(
    guard: AuthGuard,
    address: string,
    password: string,
    stored: string | undefined,
  ): Promise<CheckOutcome> {
    return this.run(async (): Promise<CheckOutcome> => {
      if (guard.isLocked(address)) return { kind: "locked" };
      if (await verifyPassword(password, stored)) {
        guard.succeed(address);
        return { kind: "ok" };
      }
      return { kind: "wrong", ...guard.fail(address) };
    });
  }

  /**
   * Runs WORK once a turn is free, and frees the turn when it settles; rejects as
   * {@link check} does.
   */
  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.#acquire();
    try {
      return await work();
    } finally {
      this.#release();
    }
  }

  #acquire(): Promise<void> {
    if (this.#running < this.#o.concurrency && this.#waiting.size === 0) {
      this.#running++;
      return Promise.resolve();
    }
    if (this.#waiting.size >= this.#o.maxWaiting) {
      return Promise.reject(new AuthBusyError("queue full"));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, cancel: () => {} };
      waiter.cancel = this.#deadlines.once(this.#deadlines.now() + this.#o.waitMs, () => {
        this.#waiting.delete(waiter);
        reject(new AuthBusyError("wait timeout"));
      });
      this.#waiting.add(waiter);
    });
  }

  /** Hands the turn to the longest waiter, if any; otherwise frees it. */
  #release(): void {
    const next = this.#waiting.values().next();
    if (next.done) {
      this.#running--;
      return;
    }
    this.#waiting.delete(next.value);
    next.value.cancel();
    next.value.resolve();
  }
}
