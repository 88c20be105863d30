/**
 * Brute-force defence for AUTH: each failed attempt from a client is answered more slowly than
 * the last, and past a threshold within a window the client is locked out for a while (421
 * 4.7.0, and new connections from it are refused).
 *
 * A client is an IPv4 address, or an IPv6 /64 prefix: one host or site gets a whole /64 and
 * may pick any of its 2^64 interface identifiers (RFC 4291 §2.5.1, RFC 8981), so counting per
 * IPv6 address would let it try a fresh address for every guess.
 *
 * @module
 */
import { isIPv4, isIPv6 } from "node:net";

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

/**
 * What failures are counted under: an IPv4 address as it is (also when written IPv4-mapped,
 * `::ffff:a.b.c.d`, RFC 4291 §2.5.5.2, as a dual-stack socket reports it); an IPv6 address's
 * /64 prefix, as `2001:db8:1:2::/64`. Anything else (no address known) is its own key.
 */
export function clientKey(address: string): string {
  const bare = address.replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "");
  if (isIPv4(bare)) return bare;
  if (!isIPv6(bare)) return address;
  const g = ipv6Groups(bare);
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    return [g[6]! >> 8, g[6]! & 255, g[7]! >> 8, g[7]! & 255].join(".");
  }
  return `${g.slice(0, 4).map((x) => x.toString(16)).join(":")}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a dotted IPv4 tail too). */
function ipv6Groups(address: string): number[] {
  let text = address;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    const high = ((a << 8) | b).toString(16);
    const low = ((c << 8) | d).toString(16);
    text = `${text.slice(0, v4.index)}${high}:${low}`;
  }
  const [head = "", tail] = text.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const zeros = tail === undefined ? [] : Array(8 - left.length - right.length).fill("0");
  return [...left, ...zeros, ...right].map((x) => parseInt(x, 16));
}

/**
 * Failure bookkeeping per client ({@link clientKey}). Memory is bounded: old records are
 * pruned as it goes.
 */
export class AuthGuard {
  readonly #o: AuthGuardOptions;
  readonly #records = new Map<string, Record>();
  readonly #now: () => number;

  constructor(options: AuthGuardOptions = DEFAULT_AUTH_GUARD) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** Whether ADDRESS (its client, {@link clientKey}) is locked out now. */
  isLocked(address: string): boolean {
    return (this.#records.get(clientKey(address))?.lockedUntil ?? 0) > this.#now();
  }

  /**
   * Records a failure from ADDRESS; returns how long to wait before answering, and whether its
   * client is now locked out.
   */
  fail(address: string): { delayMs: number; locked: boolean } {
    const now = this.#now();
    this.#prune(now);
    const key = clientKey(address);
    const r = this.#records.get(key) ?? { failures: [], lockedUntil: 0 };
    r.failures = r.failures.filter((t) => t > now - this.#o.windowMs);
    r.failures.push(now);
    if (r.failures.length >= this.#o.maxFailures) r.lockedUntil = now + this.#o.lockoutMs;
    this.#records.set(key, r);
    const delayMs = Math.min(
      this.#o.maxDelayMs,
      this.#o.baseDelayMs * 2 ** (r.failures.length - 1),
    );
    return { delayMs, locked: r.lockedUntil > now };
  }

  /** A success clears the client's failures (but not a lockout in force). */
  succeed(address: string): void {
    const key = clientKey(address);
    const r = this.#records.get(key);
    if (r && r.lockedUntil <= this.#now()) this.#records.delete(key);
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
