/**
 * A store whose folders role counts the octets it hands out: in all, and the most at once. For
 * tests that a read takes only the octets it needs (IMAP partial FETCH, POP3 TOP).
 */
import type { Store } from "../../src/store/mod.ts";

/** STORE, wrapped; `seen` counts since the last `reset`. */
export function countingStore(store: Store): {
  store: Store;
  seen: { total: number; largest: number };
  reset: () => void;
} {
  const seen = { total: 0, largest: 0 };
  const measure = (v: unknown, depth = 0): void => {
    if (v instanceof Uint8Array) {
      seen.total += v.length;
      seen.largest = Math.max(seen.largest, v.length);
    } else if (v && typeof v === "object" && depth < 2) {
      for (const x of Object.values(v)) measure(x, depth + 1);
    }
  };
  const folders = new Proxy(store.folders, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const r = value.apply(target, args);
        measure(r);
        return r;
      };
    },
  });
  const wrapped = new Proxy(store, {
    get: (target, key) => key === "folders" ? folders : Reflect.get(target, key, target),
  });
  return {
    store: wrapped,
    seen,
    reset: () => {
      seen.total = 0;
      seen.largest = 0;
    },
  };
}
