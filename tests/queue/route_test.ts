import assert from "node:assert/strict";
import { dnsResolver } from "../../src/client/mx.ts";
import { Router } from "../../src/queue/route.ts";
import { startDnsServer } from "../_helpers/dns_server.ts";

Deno.test("routes: an exact route, then the smarthost, then MX", async () => {
  const dns = await startDnsServer({
    "mx.test": { mx: [[10, "in.mx.test"]] },
    "in.mx.test": { a: ["127.0.0.1"] },
  });
  try {
    const resolver = dnsResolver({ ipAddr: "127.0.0.1", port: dns.port });
    const credentials = { user: "u", password: "p" };
    const routed = new Router({
      routes: new Map([["example.org", { host: "127.0.0.1", port: 2600 }], [
        "*",
        { host: "127.0.0.1", port: 2700 },
      ]]),
      resolver,
      mxPort: 2525,
      smarthostCredentials: credentials,
      smarthostCa: "-----BEGIN CERTIFICATE-----",
    });
    // The smarthost's CA is for the smarthost only, not for a domain's own route.
    assert.deepEqual(await routed.route("example.org"), {
      kind: "hops",
      hops: [{ host: "127.0.0.1", port: 2600 }],
      via: "route",
    });
    assert.deepEqual(await routed.route("mx.test"), {
      kind: "hops",
      hops: [{ host: "127.0.0.1", port: 2700 }],
      via: "smarthost",
      credentials,
      ca: "-----BEGIN CERTIFICATE-----",
    });
    const mx = new Router({ routes: new Map(), resolver, mxPort: 2525 });
    assert.deepEqual(await mx.route("mx.test"), {
      kind: "hops",
      hops: [{ host: "in.mx.test", address: "127.0.0.1", port: 2525 }],
      via: "mx",
    });
    assert.deepEqual(dns.questions.slice(0, 1), ["MX mx.test"]);
  } finally {
    await dns.close();
  }
});

Deno.test("DNS failures are temporary; NXDOMAIN and a null MX (RFC 7505) are final", async () => {
  const dns = await startDnsServer({
    "null.test": { mx: [[0, "."]] },
    "broken.test": { servfail: true },
    "nohost.test": { mx: [[10, "missing.test"]] },
  });
  try {
    const router = new Router({
      routes: new Map(),
      resolver: dnsResolver({ ipAddr: "127.0.0.1", port: dns.port }),
      mxPort: 25,
    });
    const nullMx = await router.route("null.test");
    assert.equal(nullMx.kind, "failed");
    assert.equal(nullMx.kind === "failed" && nullMx.temporary, false);
    assert.match(nullMx.kind === "failed" ? nullMx.text : "", /null MX/);
    // A failed lookup says nothing about the domain; NXDOMAIN, for the domain or every MX
    // host, says it has no mail host (our resolver reads the response code).
    for (
      const [domain, temporary] of [
        ["broken.test", true],
        ["nxdomain.test", false],
        ["nohost.test", false],
      ] as const
    ) {
      const r = await router.route(domain);
      assert.equal(r.kind, "failed", domain);
      assert.equal(r.kind === "failed" && r.temporary, temporary, domain);
    }
  } finally {
    await dns.close();
  }
});
