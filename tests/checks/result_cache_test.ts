/**
 * SPF and DMARC results kept for a short time: the same sender from the same address with the
 * same HELO is not evaluated again (no lookups), nor the same DMARC question; results that
 * depend on a failed lookup are not kept; entries expire and are bounded in number.
 */
import assert from "node:assert/strict";
import { AuthChecks } from "../../src/checks/mod.ts";
import { CheckResults, DOWN_TTL_MS, ResultCache } from "../../src/checks/result_cache.ts";
import type { Resolve } from "../../src/checks/lookups.ts";
import {
  context,
  delivery,
  message,
  ourResults,
  rsaKey,
  signWithMailauth,
  TestClock,
} from "./_fixtures.ts";

const KEY = rsaKey();

Deno.test("result cache: fresh for its time, the oldest dropped when full", () => {
  const clock = new TestClock();
  const cache = new ResultCache<number>({ ttlMs: 1000, maxEntries: 2 }, clock);
  cache.set("a", 1);
  cache.set("b", 2);
  assert.equal(cache.get("a"), 1);
  cache.set("c", 3);
  assert.equal(cache.get("a"), undefined);
  assert.equal(cache.get("b"), 2);
  clock.advance(999);
  assert.equal(cache.get("c"), 3);
  clock.advance(1);
  assert.equal(cache.get("c"), undefined);
  assert.equal(cache.size, 1);
  new ResultCache<number>({ ttlMs: 1000, maxEntries: 0 }, clock).set("x", 1);
});

/** A resolver over RECORDS that counts the lookups of each name; DOWN names fail (SERVFAIL). */
function counting(records: Record<string, string>, down = new Set<string>()) {
  const asked = new Map<string, number>();
  const resolve: Resolve = (name) => {
    asked.set(name, (asked.get(name) ?? 0) + 1);
    if (down.has(name)) {
      return Promise.reject(Object.assign(new Error("SERVFAIL"), { code: "ESERVFAIL" }));
    }
    const r = records[name];
    if (r === undefined) {
      return Promise.reject(Object.assign(new Error("NXDOMAIN"), { code: "ENOTFOUND" }));
    }
    return Promise.resolve([[r]]);
  };
  return { resolve, asked, down };
}

async function send(checks: AuthChecks, sender: string, data: string, helo = "client.example") {
  const ctx = context(helo);
  const [local, domain] = sender.split("@") as [string, string];
  checks.onSender({ local, domain } as never, ctx);
  const d = delivery(sender, data);
  return ourResults(await checks.process(d, d, ctx));
}

Deno.test("SPF and DMARC: the same inputs are evaluated once while fresh", async () => {
  const dns = counting({
    "example.com": "v=spf1 ip4:192.0.2.0/24 -all",
    "client.example": "v=spf1 ip4:192.0.2.0/24 -all",
    "sel._domainkey.example.com": KEY.record,
    "_dmarc.example.com": "v=DMARC1; p=reject",
  });
  const clock = new TestClock();
  const checks = new AuthChecks({
    hostname: "mx.local.test",
    authChecks: true,
    trustedNetworks: [],
    resolve: dns.resolve,
    dmarc: "enforce",
    spfFail: "tag",
    dmarcTemperror: "deliver",
    clock,
    resultCache: { ttlMs: 10_000, maxEntries: 100 },
  });
  const data = await signWithMailauth(
    message("ann@example.com"),
    "example.com",
    "sel",
    KEY.privateKey,
  );
  const first = await send(checks, "ann@example.com", data);
  assert.match(first, /spf=pass .*dmarc=pass/);
  const once = new Map(dns.asked);
  assert.equal(once.get("example.com"), 1);
  assert.equal(once.get("_dmarc.example.com"), 1);
  // Again: the same results, without asking for SPF or DMARC records again (DKIM's key is).
  assert.equal(await send(checks, "ann@example.com", data), first);
  assert.equal(dns.asked.get("example.com"), 1);
  assert.equal(dns.asked.get("client.example"), 1);
  assert.equal(dns.asked.get("_dmarc.example.com"), 1);
  assert.equal(dns.asked.get("sel._domainkey.example.com"), 2);
  // Another sender of the domain is evaluated (macros may name the local part).
  await send(checks, "bob@example.com", data);
  assert.equal(dns.asked.get("example.com"), 2);
  // Once the time is up, everything is asked again.
  clock.advance(10_000);
  assert.equal(await send(checks, "ann@example.com", data), first);
  assert.equal(dns.asked.get("example.com"), 3);
  assert.equal(dns.asked.get("_dmarc.example.com"), 2);
});

Deno.test("SPF and DMARC: a temperror is not kept", async () => {
  const dns = counting({
    "example.com": "v=spf1 ip4:192.0.2.0/24 -all",
    "client.example": "v=spf1 ip4:192.0.2.0/24 -all",
    "sel._domainkey.example.com": KEY.record,
    "_dmarc.example.com": "v=DMARC1; p=reject",
  }, new Set(["example.com", "_dmarc.example.com"]));
  const checks = new AuthChecks({
    hostname: "mx.local.test",
    authChecks: true,
    trustedNetworks: [],
    resolve: dns.resolve,
    dmarc: "enforce",
    spfFail: "tag",
    dmarcTemperror: "deliver",
  });
  const data = await signWithMailauth(
    message("ann@example.com"),
    "example.com",
    "sel",
    KEY.privateKey,
  );
  assert.match(await send(checks, "ann@example.com", data), /spf=temperror .*dmarc=temperror/);
  dns.down.clear();
  assert.match(await send(checks, "ann@example.com", data), /spf=pass .*dmarc=pass/);
});

Deno.test("check results: a temporary failure is kept only while the DNS server is down, briefly", () => {
  const clock = new TestClock();
  let down = false;
  const results = new CheckResults<string>(() => down, (v) => v === "temperror", {
    ttlMs: 30_000,
    maxEntries: 10,
  }, clock);
  results.set("a", "pass");
  results.set("b", "temperror");
  assert.equal(results.get("a"), "pass");
  assert.equal(results.get("b"), undefined, "not kept while the server answers");
  down = true;
  results.set("b", "temperror");
  assert.equal(results.get("b"), "temperror");
  down = false;
  assert.equal(results.get("b"), undefined, "not given out once the server is back");
  down = true;
  clock.advance(DOWN_TTL_MS);
  assert.equal(results.get("b"), undefined, "not past DOWN_TTL_MS");
  assert.equal(results.get("a"), "pass", "a settled result is kept its full time");
});
