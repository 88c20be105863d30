/**
 * The DNS lookups of one message's checks, bounded: a number of lookups in all (SPF's own limit
 * of 10 per evaluation, RFC 7208 §4.6.4, is mailauth's) and a time budget after which every
 * lookup still waiting, and every new one, fails as a timeout, so that the checks end with
 * `temperror` instead of holding the message.
 *
 * @module
 */
import { type ClientClock, SYSTEM_CLOCK } from "../client/clock.ts";

/** A DNS lookup shaped like `node:dns/promises` `resolve()`: mailauth's `resolver`. */
export type Resolve = (name: string, rrtype: string) => Promise<unknown>;

/** How much DNS one message's checks may use. */
export interface LookupLimits {
  /** Lookups per message in all: SPF of both identities, DKIM and ARC keys, DMARC. */
  readonly maxLookups: number;
  /** Milliseconds one phase of the checks may wait for DNS. */
  readonly budgetMs: number;
}

/** Defaults: a hostile message can cause at most this much DNS traffic and delay. */
export const DEFAULT_LIMITS: LookupLimits = { maxLookups: 50, budgetMs: 5000 };

/** An error shaped as `node:dns` gives them, so that mailauth maps it to a temperror. */
function dnsError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/** A time budget: a promise that fails when it is spent, and a way to stop its timer. */
export class Deadline {
  readonly #expired: Promise<never>;
  #spent = false;
  readonly #cancel: () => void;

  constructor(ms: number, clock: ClientClock = SYSTEM_CLOCK) {
    let fail!: (err: Error) => void;
    this.#expired = new Promise<never>((_, reject) => (fail = reject));
    // Nobody may be waiting when it fires: that is not an unhandled rejection.
    this.#expired.catch(() => {});
    this.#cancel = clock.after(ms, () => {
      this.#spent = true;
      fail(dnsError("Time budget of the checks spent", "ETIMEOUT"));
    });
  }

  get spent(): boolean {
    return this.#spent;
  }

  /** PROMISE, or a timeout error once the budget is spent, whichever comes first. */
  race<T>(promise: Promise<T>): Promise<T> {
    if (this.#spent) return this.#expired;
    return Promise.race([promise, this.#expired]);
  }

  /** Stops the timer (the work is done). */
  close(): void {
    this.#cancel();
  }
}

/** Counts the lookups of one message across its phases (SPF at MAIL FROM, the rest at DATA). */
export class LookupCounter {
  #left: number;

  constructor(max: number) {
    this.#left = max;
  }

  /** RESOLVE limited by this counter and by DEADLINE. */
  resolver(resolve: Resolve, deadline: Deadline): Resolve {
    return (name, rrtype) => {
      if (deadline.spent) return deadline.race(Promise.resolve());
      if (this.#left <= 0) {
        return Promise.reject(dnsError("Too many DNS lookups for one message", "ELOOKUPLIMIT"));
      }
      this.#left--;
      let answer: Promise<unknown>;
      try {
        answer = resolve(name, rrtype);
      } catch (err) {
        return Promise.reject(err);
      }
      return deadline.race(answer);
    };
  }
}

/** Consecutive timeouts after which the DNS server is taken to be down. */
const TIMEOUTS_TO_DOWN = 2;

/**
 * Whether the DNS server answers at all. A resolver that does not (a machine offline) would
 * cost every message a timeout per name: once TIMEOUTS_TO_DOWN lookups in a row have timed
 * out, lookups fail at once, as timeouts. While it is down, a lookup also goes to the server as
 * a probe, one at a time, that nobody waits for; the first answer of any kind (NXDOMAIN
 * included) ends that.
 */
export class ResolverHealth {
  #timeouts = 0;
  #probing = false;

  /** RESOLVE, failing fast while its server is down. */
  wrap(resolve: Resolve): Resolve {
    return (name, rrtype) => {
      const down = this.down;
      if (down && this.#probing) return Promise.reject(notAnswering());
      if (down) this.#probing = true;
      let answer: Promise<unknown>;
      try {
        answer = resolve(name, rrtype);
      } catch (err) {
        answer = Promise.reject(err);
      }
      const watched = answer.then(
        (value) => {
          this.#answered(down);
          return value;
        },
        (err) => {
          if ((err as { code?: unknown })?.code === "ETIMEOUT") {
            this.#timeouts++;
            if (down) this.#probing = false;
          } else {
            this.#answered(down);
          }
          throw err;
        },
      );
      if (!down) return watched;
      // The probe's answer only tells whether the server is back.
      watched.catch(() => {});
      return Promise.reject(notAnswering());
    };
  }

  /** Whether lookups fail at once. */
  get down(): boolean {
    return this.#timeouts >= TIMEOUTS_TO_DOWN;
  }

  #answered(probe: boolean): void {
    this.#timeouts = 0;
    if (probe) this.#probing = false;
  }
}

function notAnswering(): Error {
  return dnsError("DNS server not answering", "ETIMEOUT");
}
