/**
 * A cache of lookups that forgets each entry when its TTL runs out (RFC 1035 §3.2.1) and the
 * least recently used entries when it is full, by count or by size, so it stays bounded whatever
 * names peers make us look up (a TXT answer alone may be 64 KiB).
 *
 * @module
 */

/** Where the cache reads the time: milliseconds. */
export interface CacheClock {
  now(): number;
}

/** The most a cache holds. */
export interface CacheLimits {
  readonly maxEntries: number;
  /** The sum of the entries' sizes, as their owners count them (octets). */
  readonly maxSize: number;
}

interface Held<V> {
  readonly expires: number;
  readonly value: V;
  readonly size: number;
}

/** Entries by key, each until its expiry, within its limits. */
export class TtlCache<V> {
  readonly #entries = new Map<string, Held<V>>();
  readonly #limits: CacheLimits;
  readonly #clock: CacheClock;
  #size = 0;

  constructor(limits: CacheLimits, clock: CacheClock) {
    this.#limits = limits;
    this.#clock = clock;
  }

  /** The value under KEY, when there is one that has not expired. */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#delete(key, entry);
    if (entry.expires <= this.#clock.now()) return undefined;
    // Map keeps insertion order: re-inserting makes this the most recently used.
    this.#insert(key, entry);
    return entry.value;
  }

  /** Keeps VALUE (of SIZE octets) under KEY for TTL_MS (not at all when that is not positive). */
  set(key: string, value: V, ttlMs: number, size = 0): void {
    const old = this.#entries.get(key);
    if (old !== undefined) this.#delete(key, old);
    if (!(ttlMs > 0) || size > this.#limits.maxSize) return;
    this.#insert(key, { expires: this.#clock.now() + ttlMs, value, size });
    for (const [oldest, entry] of this.#entries) {
      if (this.#entries.size <= this.#limits.maxEntries && this.#size <= this.#limits.maxSize) {
        break;
      }
      this.#delete(oldest, entry);
    }
  }

  /** How many entries are held (expired ones included until they are next read or pushed out). */
  get size(): number {
    return this.#entries.size;
  }

  /** The sum of the held entries' sizes. */
  get bytes(): number {
    return this.#size;
  }

  #insert(key: string, entry: Held<V>): void {
    this.#entries.set(key, entry);
    this.#size += entry.size;
  }

  #delete(key: string, entry: Held<V>): void {
    this.#entries.delete(key);
    this.#size -= entry.size;
  }
}
