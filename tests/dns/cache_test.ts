import assert from "node:assert/strict";
import { TtlCache } from "../../src/dns/cache.ts";

Deno.test("TtlCache: entries expire at their TTL; a TTL of 0 keeps nothing", () => {
  let now = 1000;
  const cache = new TtlCache<string>(10, { now: () => now });
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
  const cache = new TtlCache<number>(3, { now: () => 0 });
  for (const [k, v] of [["a", 1], ["b", 2], ["c", 3]] as const) cache.set(k, v, 1000);
  assert.equal(cache.get("a"), 1); // now b is the least recently used
  cache.set("d", 4, 1000);
  assert.equal(cache.size, 3);
  assert.equal(cache.get("b"), undefined);
  assert.deepEqual([cache.get("a"), cache.get("c"), cache.get("d")], [1, 3, 4]);
  for (let i = 0; i < 10_000; i++) cache.set(`k${i}`, i, 1000);
  assert.equal(cache.size, 3);
});
