/**
 * Policy discovery and its cache (RFC 8461 §3, §5.1), with the DNS and the fetch stubbed and a
 * clock that moves only when told; the store is a real one, for the restart case.
 */
import assert from "node:assert/strict";
import { openStore } from "../../src/store/mod.ts";
import {
  FAILED_FETCH_RETRY_MS,
  PolicyCache,
  PolicyFetchError,
  type PolicyStore,
} from "../../src/mta_sts/mod.ts";
import { withTempDir } from "../store/_helpers.ts";
import { policyText } from "./_helpers.ts";

const DAY = 86_400_000;

/** A world of one domain: its TXT records and its policy host, both changeable. */
function world(store?: PolicyStore) {
  const w = {
    now: 1_000_000,
    txt: [["v=STSv1; id=one"]] as string[][] | Error,
    policy: policyText("enforce", ["mx.example.test"], 86400) as string | Error,
    lookups: 0,
    fetches: 0,
    /** Resolves pending fetches when set (to hold one open). */
    gate: undefined as Promise<void> | undefined,
  };
  const cache = new PolicyCache({
    now: () => w.now,
    txt: (name) => {
      assert.equal(name, "_mta-sts.example.test");
      w.lookups++;
      return w.txt instanceof Error ? Promise.reject(w.txt) : Promise.resolve(w.txt);
    },
    fetch: async (domain) => {
      assert.equal(domain, "example.test");
      w.fetches++;
      await w.gate;
      if (w.policy instanceof Error) throw w.policy;
      return new TextEncoder().encode(w.policy);
    },
    store,
  });
  return { w, cache };
}

Deno.test("cache: no record, no policy and no fetch", async () => {
  const { w, cache } = world();
  w.txt = [["v=spf1 -all"]];
  assert.equal(await cache.policyFor("example.test"), undefined);
  assert.equal(w.fetches, 0);
});

Deno.test("cache: fetched once, used while the id stands, fetched again when it changes", async () => {
  const { w, cache } = world();
  const first = await cache.policyFor("example.test");
  assert.equal(first?.id, "one");
  assert.deepEqual(first?.policy.mx, ["mx.example.test"]);
  assert.equal(first?.expiresAt, w.now + DAY);
  assert.equal(await cache.policyFor("example.test"), first);
  assert.equal(w.fetches, 1);
  assert.equal(w.lookups, 2);
  w.txt = [["v=STSv1; id=two"]];
  w.policy = policyText("testing", ["*.example.test"]);
  const second = await cache.policyFor("example.test");
  assert.equal(second?.id, "two");
  assert.equal(second?.policy.mode, "testing");
  assert.equal(w.fetches, 2);
});

Deno.test("cache: the same id is fetched again once half of max_age is over, before it expires", async () => {
  const { w, cache } = world();
  const first = await cache.policyFor("example.test");
  w.now += DAY / 2 - 1;
  assert.equal(await cache.policyFor("example.test"), first);
  assert.equal(w.fetches, 1);
  w.now += 1;
  const again = await cache.policyFor("example.test");
  assert.equal(w.fetches, 2);
  assert.equal(again?.expiresAt, w.now + DAY);
  // A renewal that fails keeps the held policy until it expires, then there is none.
  w.now += DAY / 2;
  w.policy = new PolicyFetchError("Fetching mta-sts.example.test: HTTP status 503");
  assert.equal(await cache.policyFor("example.test"), again);
  assert.equal(w.fetches, 3);
  w.now += DAY / 2;
  assert.equal(await cache.policyFor("example.test"), undefined);
});

Deno.test("cache: a failed refresh keeps the unexpired policy (§5.1), an expired one is gone", async () => {
  const { w, cache } = world();
  const held = await cache.policyFor("example.test");
  w.txt = [["v=STSv1; id=two"]];
  w.policy = new PolicyFetchError("Fetching mta-sts.example.test: HTTP status 500");
  assert.equal(await cache.policyFor("example.test"), held);
  assert.equal(w.fetches, 2);
  // A policy that does not parse is a failed refresh too.
  w.txt = [["v=STSv1; id=three"]];
  w.policy = "version: STSv1\nmode: strict\n";
  assert.equal(await cache.policyFor("example.test"), held);
  // A failing or missing TXT record keeps it as well.
  w.txt = new Error("SERVFAIL");
  assert.equal(await cache.policyFor("example.test"), held);
  w.txt = [];
  assert.equal(await cache.policyFor("example.test"), held);
  // Once it expires, nothing is held: no policy (opportunistic TLS, §5).
  w.now += DAY;
  assert.equal(await cache.policyFor("example.test"), undefined);
});

Deno.test("cache: a failed fetch is not tried again for a while", async () => {
  const { w, cache } = world();
  w.policy = new PolicyFetchError("Fetching mta-sts.example.test: HTTP status 404");
  assert.equal(await cache.policyFor("example.test"), undefined);
  assert.equal(await cache.policyFor("example.test"), undefined);
  assert.equal(w.fetches, 1);
  w.now += FAILED_FETCH_RETRY_MS;
  w.policy = policyText("enforce", ["mx.example.test"]);
  assert.equal((await cache.policyFor("example.test"))?.id, "one");
  assert.equal(w.fetches, 2);
});

Deno.test("cache: deliveries to one domain at once share one discovery", async () => {
  const { w, cache } = world();
  let open!: () => void;
  w.gate = new Promise<void>((r) => (open = r));
  const all = Array.from({ length: 5 }, () => cache.policyFor("example.test"));
  open();
  const got = await Promise.all(all);
  assert.equal(w.fetches, 1);
  assert.equal(w.lookups, 1);
  assert.ok(got.every((p) => p === got[0] && p?.id === "one"));
});

Deno.test("cache: policies outlive a restart in the store", () =>
  withTempDir(async (dir) => {
    let store = openStore(dir);
    const before = world(store.mtaSts);
    const held = await before.cache.policyFor("example.test");
    store.close();
    store = openStore(dir);
    try {
      const after = world(store.mtaSts);
      after.w.now = before.w.now + 1000;
      // The same id: no fetch, the stored policy with its original expiry.
      const again = await after.cache.policyFor("example.test");
      assert.equal(after.w.fetches, 0);
      assert.deepEqual(again, held);
      // The stored policy also stands in for a failed refresh after the restart.
      const third = world(store.mtaSts);
      third.w.txt = [["v=STSv1; id=two"]];
      third.w.policy = new PolicyFetchError("Fetching mta-sts.example.test: refused");
      assert.equal((await third.cache.policyFor("example.test"))?.id, "one");
      // And a refresh replaces it in the store.
      third.w.policy = policyText("testing", ["mx.example.test"]);
      third.w.now += FAILED_FETCH_RETRY_MS;
      assert.equal((await third.cache.policyFor("example.test"))?.id, "two");
      assert.equal(store.mtaSts.get("example.test")?.id, "two");
      assert.match(store.mtaSts.get("example.test")!.policy, /mode: testing/);
    } finally {
      store.close();
    }
  }));

Deno.test("cache: an internationalised domain is looked up by its A-label", async () => {
  const names: string[] = [];
  const cache = new PolicyCache({
    txt: (name) => {
      names.push(name);
      return Promise.resolve([["v=STSv1; id=one"]]);
    },
    fetch: (domain) => {
      names.push(domain);
      return Promise.resolve(new TextEncoder().encode(policyText("enforce", ["mx.test"])));
    },
  });
  assert.equal((await cache.policyFor("Bücher.example"))?.domain, "xn--bcher-kva.example");
  assert.deepEqual(names, ["_mta-sts.xn--bcher-kva.example", "xn--bcher-kva.example"]);
});
