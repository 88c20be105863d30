import assert from "node:assert/strict";
import { DnsError, dnsResolver, mxHops, orderMx } from "../../src/client/mx.ts";
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
