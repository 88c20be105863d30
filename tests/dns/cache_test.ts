import assert from "node:assert/strict";
import { TtlCache } from "../../src/dns/cache.ts";

Deno.test("TtlCache: entries expire at their TTL; a TTL of 0 keeps nothing", () => {
  let now = 1000;
  const cache = new TtlCache<string>({ maxEntries: 10, maxSize: 1000 }, { now: () => now });
  cache.set("a", "1", 500);
  cache.set("zero", "0", 0);
  assert.equal(cache.get("zero"), undefined);
  now += 499;
  assert.equal(cache.get("a"), "1");
  now += 1;
  assert.equal(cache.get("a"), undefined);
  assert.equal(cache.size, 0);
});

Deno.test("TtlCache: bounded, the least recently used goes first", () => {
  const cache = new TtlCache<number>({ maxEntries: 3, maxSize: 1000 }, { now: () => 0 });
  for (const [k, v] of [["a", 1], ["b", 2], ["c", 3]] as const) cache.set(k, v, 1000);
  assert.equal(cache.get("a"), 1); // now b is the least recently used
  cache.set("d", 4, 1000);
  assert.equal(cache.size, 3);
  assert.equal(cache.get("b"), undefined);
  assert.deepEqual([cache.get("a"), cache.get("c"), cache.get("d")], [1, 3, 4]);
  for (let i = 0; i < 10_000; i++) cache.set(`k${i}`, i, 1000);
  assert.equal(cache.size, 3);
});

Deno.test("TtlCache: bounded in size too; an entry larger than the whole cache is not kept", () => {
  const cache = new TtlCache<string>({ maxEntries: 100, maxSize: 100 }, { now: () => 0 });
  cache.set("a", "a", 1000, 40);
  cache.set("b", "b", 1000, 40);
  assert.equal(cache.bytes, 80);
  cache.set("c", "c", 1000, 40);
  assert.deepEqual([cache.get("a"), cache.get("b"), cache.get("c")], [undefined, "b", "c"]);
  assert.equal(cache.bytes, 80);
  cache.set("huge", "h", 1000, 101);
  assert.equal(cache.get("huge"), undefined);
  cache.set("b", "b2", 1000, 10);
  assert.equal(cache.bytes, 50);
  cache.set("c", "c", 0, 40);
  assert.equal(cache.bytes, 10);
});
