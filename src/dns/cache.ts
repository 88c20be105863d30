/**
 * A cache of lookups that forgets each entry when its TTL runs out (RFC 1035 §3.2.1) and the
 * least recently used entries when it is full, so it stays bounded whatever names peers make us
 * look up.
 *
 * @module
 */

/** Where the cache reads the time: milliseconds. */
export interface CacheClock {
  now(): number;
}

/** Entries by key, each until its expiry, at most MAX_ENTRIES of them. */
export class TtlCache<V> {
  readonly #entries = new Map<string, { readonly expires: number; readonly value: V }>();
  readonly #maxEntries: number;
  readonly #clock: CacheClock;

  constructor(maxEntries: number, clock: CacheClock) {
    this.#maxEntries = maxEntries;
    this.#clock = clock;
  }

  /** The value under KEY, when there is one that has not expired. */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (entry.expires <= this.#clock.now()) return undefined;
    // Map keeps insertion order: re-inserting makes this the most recently used.
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** Keeps VALUE under KEY for TTL_MS (not at all when that is not positive). */
  set(key: string, value: V, ttlMs: number): void {
    this.#entries.delete(key);
    if (!(ttlMs > 0)) return;
    this.#entries.set(key, { expires: this.#clock.now() + ttlMs, value });
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.#maxEntries) break;
      this.#entries.delete(oldest);
    }
  }

  /** How many entries are held (expired ones included until they are next read). */
  get size(): number {
    return this.#entries.size;
  }
}
