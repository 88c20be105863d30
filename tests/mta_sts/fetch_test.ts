/** The policy fetch (RFC 8461 §3.3) against an HTTPS policy host on loopback. */
import assert from "node:assert/strict";
import {
  type FetchOptions,
  fetchPolicyBody,
  type FetchTimer,
  MAX_POLICY_BYTES,
  PolicyFetchError,
} from "../../src/mta_sts/mod.ts";
import { type PolicyAnswer, policyText, readFixture, startPolicyHost } from "./_helpers.ts";

const CA = readFixture("ca.pem");
const POLICY = policyText("enforce", ["mx.example.test"]);

async function fetchFrom(
  answer: PolicyAnswer,
  options: Partial<FetchOptions> = {},
  cert?: string,
): Promise<{ body?: string; error?: PolicyFetchError; requests: string[] }> {
  const host = await startPolicyHost(answer, cert);
  try {
    const body = await fetchPolicyBody("example.test", {
      port: host.port,
      ca: CA,
      lookup: () => Promise.resolve(["127.0.0.1"]),
      ...options,
    });
    return { body: new TextDecoder().decode(body), requests: host.requests };
  } catch (err) {
    if (!(err instanceof PolicyFetchError)) throw err;
    return { error: err, requests: host.requests };
  } finally {
    await host.close();
  }
}

Deno.test("fetch: the policy of mta-sts.DOMAIN, its certificate checked against --outbound-ca", async () => {
  const r = await fetchFrom({
    body: POLICY,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
  assert.equal(r.body, POLICY);
  assert.deepEqual(r.requests, ["GET /.well-known/mta-sts.txt mta-sts.example.test"]);
});

Deno.test("fetch: a certificate the CA did not sign, or for another name, is refused", async () => {
  let r = await fetchFrom({ body: POLICY }, { ca: undefined });
  assert.equal(r.error?.result, "sts-webpki-invalid", r.error?.message);
  r = await fetchFrom({ body: POLICY }, {}, "wrong-name");
  assert.equal(r.error?.result, "sts-webpki-invalid", r.error?.message);
  assert.match(r.error!.message, /certificate not valid/);
});

Deno.test("fetch: redirects are not followed (RFC 8461 §3.3)", async () => {
  const r = await fetchFrom({ status: 301, headers: { location: "https://elsewhere.test/" } });
  assert.match(r.error!.message, /redirect \(301\) not followed/);
  assert.equal(r.error!.result, "sts-policy-fetch-error");
  assert.equal(r.requests.length, 1);
});

Deno.test("fetch: only a 200 with text/plain counts", async () => {
  let r = await fetchFrom({ status: 404, body: "not here" });
  assert.match(r.error!.message, /HTTP status 404/);
  r = await fetchFrom({ body: POLICY, headers: { "content-type": "text/html" } });
  assert.match(r.error!.message, /content type text\/html, not text\/plain/);
  r = await fetchFrom({ body: POLICY, headers: { "content-type": "text/plainish" } });
  assert.match(r.error!.message, /not text\/plain/);
});

Deno.test("fetch: a body over 64 KiB is refused, declared or streamed", async () => {
  const big = "x".repeat(MAX_POLICY_BYTES + 1);
  let r = await fetchFrom({ body: big });
  assert.match(r.error!.message, /larger than 65536 octets/);
  // Chunked, with no length declared: cut off while it streams.
  r = await fetchFrom({ body: big, headers: { "transfer-encoding": "chunked" } });
  assert.match(r.error!.message, /larger than 65536 octets/);
  // Exactly 64 KiB is taken.
  r = await fetchFrom({ body: "x".repeat(MAX_POLICY_BYTES) });
  assert.equal(r.body?.length, MAX_POLICY_BYTES);
});

Deno.test("fetch: one deadline for the whole request (a host that never answers)", async () => {
  let fire: (() => void) | undefined;
  let armed = 0;
  const timer: FetchTimer = {
    after(ms, fn) {
      armed = ms;
      fire = fn;
      return () => (fire = undefined);
    },
  };
  const host = await startPolicyHost({ stall: true });
  try {
    const p = fetchPolicyBody("example.test", {
      port: host.port,
      ca: CA,
      lookup: () => Promise.resolve(["127.0.0.1"]),
      timer,
      timeoutMs: 5000,
    });
    // The request arrives (or the test's own time limit ends it), then the deadline passes.
    await host.requested();
    assert.equal(host.requests.length, 1);
    assert.equal(armed, 5000);
    fire!();
    await assert.rejects(p, /no answer within 5 s/);
  } finally {
    await host.close();
  }
});

Deno.test("fetch: a policy host without an address is a fetch error", async () => {
  const r = await fetchFrom({ body: POLICY }, { lookup: () => Promise.resolve([]) });
  assert.equal(r.error?.result, "sts-policy-fetch-error");
  assert.match(r.error!.message, /mta-sts\.example\.test/);
  const s = await fetchFrom({ body: POLICY }, {
    lookup: () => Promise.reject(new Error("SERVFAIL")),
  });
  assert.match(s.error!.message, /SERVFAIL/);
});
