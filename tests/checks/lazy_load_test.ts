import assert from "node:assert/strict";
import { staticGraph } from "../_helpers/static_graph.ts";
import { runFreshModule } from "../_helpers/mail_process.ts";
import { rsaKey, sealedByForwarder, signWithMailauth } from "./_fixtures.ts";

/**
 * `mail serve` must not load mailauth before the first message is checked: main.ts imports every
 * command at start-up, so mailauth must be reached from it only through a dynamic import.
 */

const MAILAUTH = /npm:\/?mailauth@|\/src\/checks\/verify\.ts$/;

Deno.test("lazy loading: main.ts reaches the checks but not mailauth statically", async () => {
  const graph = [...await staticGraph("main.ts")];
  assert.ok(graph.some((s) => s.endsWith("/src/checks/stage.ts")), "the walk reached the checks");
  for (const s of graph) assert.doesNotMatch(s, MAILAUTH);
});

Deno.test("lazy loading: the checks' verifier does bring mailauth", async () => {
  const graph = [...await staticGraph("src/checks/verify.ts")];
  assert.ok(graph.some((s) => /npm:\/?mailauth@/.test(s)));
});

/** DNS records of the stand-in test: the sender's SPF, DMARC and key, the forwarder's key. */
type Records = Record<string, string[][]>;

/**
 * Checks each of MESSAGES (from 192.0.2.1, all from example.org) in a process of its own that
 * has loaded nothing else, and says after each which of mailauth's dependencies with a
 * stand-in were by then loaded for real.
 */
const standInScript = (messages: string[], records: Records) => `
  import { createRequire } from "node:module";
  const verify = await import(${
  JSON.stringify(new URL("../../src/checks/verify.ts", import.meta.url).href)
});
  const records = ${JSON.stringify(records)};
  const resolve = (name, type) => type === "TXT" && records[name]
    ? Promise.resolve(records[name])
    : Promise.reject(Object.assign(new Error("no such name"), { code: "ENOTFOUND" }));
  const require = createRequire(import.meta.resolve("mailauth/lib/tools.js"));
  for (const text of ${JSON.stringify(messages)}) {
    const spf = verify.checkSpf({ sender: "a@example.org", helo: "client.example",
      ip: "192.0.2.1", mta: "mx.test", resolve, budgetMs: 5000 });
    const m = await verify.checkMessage([new TextEncoder().encode(text)],
      { resolve, ip: "192.0.2.1", spf, dmarc: true });
    console.log(JSON.stringify({
      spf: (await spf).mailfrom.result,
      dkim: m.dkim.map((r) => r.result),
      arc: m.arc.result,
      dmarc: m.dmarc?.result,
      real: ["joi", "libmime", "tldts"]
        .filter((name) => require.cache[require.resolve(name)]?.standIn !== true),
    }));
  }
`;

Deno.test("lazy loading: without ARC, the checks load no Joi, libmime or tldts; with it, they work", async () => {
  const key = rsaKey();
  const arcKey = rsaKey();
  const records: Records = {
    "example.org": [["v=spf1 ip4:192.0.2.1 -all"]],
    "client.example": [["v=spf1 ip4:192.0.2.1 -all"]],
    "_dmarc.example.org": [["v=DMARC1; p=reject"]],
    "sel._domainkey.example.org": [[key.record]],
    "arc._domainkey.forwarder.example": [[arcKey.record]],
  };
  const signed = await signWithMailauth(
    "From: a@example.org\r\nTo: b@local.test\r\nSubject: hi\r\n\r\nHello.\r\n",
    "example.org",
    "sel",
    key.privateKey,
  );
  // The same message, sealed by a forwarder that received it (RFC 8617).
  const resolve = (name: string) =>
    records[name] ? Promise.resolve(records[name]) : Promise.reject(
      Object.assign(new Error("no such name"), { code: "ENOTFOUND" }),
    );
  const forwarded = await sealedByForwarder(signed, "a@example.org", resolve, arcKey.privateKey);
  assert.equal(forwarded.match(/^ARC-/gm)?.length, 3);
  const out = await runFreshModule(
    standInScript([signed, forwarded], records),
  );
  const lines = out.map((l) => JSON.parse(l));
  const checked = { spf: "pass", dkim: ["pass"], dmarc: "pass" };
  assert.deepEqual(lines, [
    { ...checked, arc: "none", real: [] },
    // mailauth's DKIM verifier, run for ARC, has the real tldts loaded for its alignment.
    { ...checked, arc: "pass", real: ["tldts"] },
  ]);
});
