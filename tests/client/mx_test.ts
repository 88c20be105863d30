import assert from "node:assert/strict";
import { DnsError, dnsResolver, mxHops, mxResolver, orderMx } from "../../src/client/mx.ts";
import { createResolver, DnsLookupError } from "../../src/dns/mod.ts";
import { startDnsServer } from "../_helpers/dns_server.ts";

Deno.test("orderMx: by preference, equal preferences shuffled (RFC 5321 §5.1)", () => {
  const records = [
    { preference: 20, exchange: "c" },
    { preference: 10, exchange: "a1" },
    { preference: 10, exchange: "a2" },
    { preference: 10, exchange: "a3" },
  ];
  const seen = new Set<string>();
  let seed = 1;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  for (let i = 0; i < 50; i++) {
    const order = orderMx(records, random);
    assert.equal(order[3]!.exchange, "c");
    assert.deepEqual(order.slice(0, 3).map((r) => r.preference), [10, 10, 10]);
    seen.add(order.slice(0, 3).map((r) => r.exchange).join());
  }
  assert.ok(seen.size > 1, "equal preferences are not always in the same order");
});

Deno.test("mxHops: MX, implicit MX, null MX, no such domain", async () => {
  const dns = await startDnsServer({
    "example.test": {
      mx: [[20, "b.example.test"], [10, "a.example.test"], [30, "gone.example.test"]],
    },
    "a.example.test": { a: ["127.0.0.1"], aaaa: ["::1"] },
    "b.example.test": { a: ["127.0.0.2"] },
    "gone.example.test": {},
    "implicit.test": { a: ["127.0.0.5"] },
    "null.test": { mx: [[0, "."]] },
    "empty.test": {},
  });
  try {
    const resolver = dnsResolver({ ipAddr: "127.0.0.1", port: dns.port });
    assert.deepEqual(await mxHops("example.test", resolver, 2525), [
      { host: "a.example.test", address: "127.0.0.1", port: 2525 },
      { host: "a.example.test", address: "::1", port: 2525 },
      { host: "b.example.test", address: "127.0.0.2", port: 2525 },
    ]);
    assert.deepEqual(await mxHops("implicit.test", resolver, 25), [
      { host: "implicit.test", address: "127.0.0.5", port: 25 },
    ]);
    await assert.rejects(
      mxHops("null.test", resolver, 25),
      (e) => e instanceof DnsError && !e.temporary && /null MX/.test(e.message),
    );
    await assert.rejects(mxHops("missing.test", resolver, 25), DnsError);
    await assert.rejects(mxHops("empty.test", resolver, 25), /No MX or address records/);
  } finally {
    await dns.close();
  }
});

/** A resolver of its own (no shared cache) asking DNS, with a short per-attempt timeout. */
function resolverFor(port: number) {
  return mxResolver(createResolver({ server: { host: "127.0.0.1", port }, timeoutMs: 200 }));
}

Deno.test("mxHops: SERVFAIL, REFUSED or no answer for MX defers, never falls back to A", async () => {
  const dns = await startDnsServer({
    // Each has an A record: a failed MX lookup must not send the mail there.
    "broken.test": { servfail: true, a: ["127.0.0.9"] },
    "refusing.test": { refused: true, a: ["127.0.0.9"] },
    "silent.test": { timeout: true, a: ["127.0.0.9"] },
  });
  try {
    const resolver = resolverFor(dns.port);
    for (const domain of ["broken.test", "refusing.test", "silent.test"]) {
      await assert.rejects(
        mxHops(domain, resolver, 25),
        (e) => e instanceof DnsError && e.temporary && /MX lookup for/.test(e.message),
        domain,
      );
    }
    assert.ok(!dns.questions.some((q) => q.startsWith("A ")), dns.questions.join());
  } finally {
    await dns.close();
  }
});

Deno.test("mxHops: NXDOMAIN bounces, NODATA for MX uses the domain's addresses", async () => {
  const dns = await startDnsServer({
    "implicit.test": { a: ["127.0.0.5"], aaaa: ["::5"] },
    "v6only.test": { aaaa: ["::6"] },
    "nothing.test": { txt: ["v=spf1 -all"] },
    "mx-gone.test": { mx: [[10, "gone.mx-gone.test"]] },
    "mx-broken.test": { mx: [[10, "broken.mx-broken.test"]] },
    "broken.mx-broken.test": { servfail: true },
    "addr-broken.test": { cname: "broken.mx-broken.test" },
  });
  try {
    const resolver = resolverFor(dns.port);
    await assert.rejects(
      mxHops("missing.test", resolver, 25),
      (e) => e instanceof DnsError && !e.temporary && /does not exist \(NXDOMAIN\)/.test(e.message),
    );
    assert.deepEqual(await mxHops("implicit.test", resolver, 25), [
      { host: "implicit.test", address: "127.0.0.5", port: 25 },
      { host: "implicit.test", address: "::5", port: 25 },
    ]);
    assert.deepEqual(await mxHops("v6only.test", resolver, 25), [
      { host: "v6only.test", address: "::6", port: 25 },
    ]);
    await assert.rejects(
      mxHops("nothing.test", resolver, 25),
      (e) => e instanceof DnsError && !e.temporary && /No MX or address/.test(e.message),
    );
    // Every MX host NXDOMAIN: no mail host (as Exim's "MX records point to non-existent hosts").
    await assert.rejects(
      mxHops("mx-gone.test", resolver, 25),
      (e) => e instanceof DnsError && !e.temporary,
    );
    // An MX host whose lookup fails: perhaps later.
    await assert.rejects(
      mxHops("mx-broken.test", resolver, 25),
      (e) => e instanceof DnsError && e.temporary,
    );
  } finally {
    await dns.close();
  }
});

Deno.test("mxHops: the implicit MX's address lookup failing defers", async () => {
  // MX answers NODATA, then the A/AAAA lookups fail: not "no mail host" but "not now".
  const resolver = {
    mx: () => Promise.reject(new DnsLookupError("nodata", "No MX records")),
    addresses: () => Promise.reject(new DnsLookupError("servfail", "Server failure")),
  };
  await assert.rejects(
    mxHops("flaky.test", resolver, 25),
    (e) => e instanceof DnsError && e.temporary && /Address lookup/.test(e.message),
  );
});

Deno.test("mxResolver: addresses are IPv4 then IPv6; one family failing still gives the other", async () => {
  const dns = await startDnsServer({
    "both.test": { a: ["127.0.0.1"], aaaa: ["::1"] },
    "none.test": {},
  });
  try {
    const resolver = resolverFor(dns.port);
    assert.deepEqual(await resolver.addresses("both.test"), ["127.0.0.1", "::1"]);
    await assert.rejects(
      resolver.addresses("none.test"),
      (e) => e instanceof DnsLookupError && e.kind === "nodata",
    );
    await assert.rejects(
      resolver.addresses("absent.test"),
      (e) => e instanceof DnsLookupError && e.kind === "nxdomain",
    );
    const half = mxResolver({
      ...createResolver({ server: { host: "127.0.0.1", port: dns.port } }),
      aaaa: () => Promise.reject(new DnsLookupError("timeout", "No answer")),
    });
    assert.deepEqual(await half.addresses("both.test"), ["127.0.0.1"]);
    await assert.rejects(
      half.addresses("none.test"),
      (e) => e instanceof DnsLookupError && e.kind === "timeout",
    );
  } finally {
    await dns.close();
  }
});
