/**
 * The resolver of src/dns/ against the tests' DNS responder on loopback: a lookup answered from
 * the cache, one that goes over UDP (TTL 0, so never cached), and a cached failure (what every
 * lookup costs on a machine whose DNS server is down, after the first).
 */
import { createResolver } from "../src/dns/mod.ts";
import { startDnsServer } from "../tests/_helpers/dns_server.ts";

const dns = await startDnsServer({
  "cached.test": { txt: ["v=spf1 ip4:192.0.2.0/24 -all"] },
  "fresh.test": { txt: ["v=spf1 ip4:192.0.2.0/24 -all"], ttl: 0 },
  "broken.test": { servfail: true },
});
const resolver = createResolver({ server: { host: "127.0.0.1", port: dns.port } });
await resolver.txt("cached.test");
await resolver.txt("broken.test").catch(() => {});

Deno.bench("DNS: TXT from the cache", { group: "dns", baseline: true }, async () => {
  await resolver.txt("cached.test");
});

Deno.bench("DNS: TXT over UDP on loopback (TTL 0)", { group: "dns" }, async () => {
  await resolver.txt("fresh.test");
});

Deno.bench("DNS: a cached SERVFAIL", { group: "dns" }, async () => {
  await resolver.txt("broken.test").catch(() => {});
});

globalThis.addEventListener("unload", () => void dns.close());
