/**
 * Delivery under a policy (src/queue/mta_sts.ts) with the client's deliver() stubbed: what it
 * is asked to do in each mode, and what becomes of its results. A refusal from an allowed MX
 * inside a transaction (a 550 to RCPT) stays a refusal: only failures before the transaction
 * (STARTTLS, the certificate) become MTA-STS deferrals.
 */
import assert from "node:assert/strict";
import { ClientError } from "../../src/client/errors.ts";
import type { DeliverOptions, NextHop, RecipientResult } from "../../src/client/deliver.ts";
import type { Envelope } from "../../src/client/smtp_client.ts";
import { deliverUnderPolicy } from "../../src/queue/mta_sts.ts";
import type { ActivePolicy, PolicyMode } from "../../src/mta_sts/mod.ts";

const active = (mode: PolicyMode): ActivePolicy => ({
  domain: "example.test",
  id: "one",
  policy: { mode, mx: ["mx1.example.test", "*.backup.example.test"], maxAge: 86400 },
  fetchedAt: 0,
  expiresAt: 86_400_000,
});
const HOPS: NextHop[] = [
  { host: "mx1.example.test", address: "192.0.2.1", port: 25 },
  { host: "rogue.example.net", address: "192.0.2.66", port: 25 },
  { host: "b.backup.example.test", address: "192.0.2.2", port: 25 },
];
const ENVELOPE = { sender: "ann@a.test", recipients: ["bob@example.test", "eve@example.test"] };
const BASE: DeliverOptions = { helo: "mx.a.test", tls: "auto", insecure: true };
const MESSAGE = new TextEncoder().encode("Subject: x\r\n\r\nx\r\n");

type Call = { hops: readonly NextHop[]; options: DeliverOptions };

/** A deliver() that fails HOPS' sessions as told, then answers with RESULTS (if any hop is left). */
function stub(failures: ClientError[], results?: (hop: NextHop) => RecipientResult[]) {
  const calls: Call[] = [];
  const deliver = (
    envelope: Envelope,
    _message: Uint8Array,
    hops: readonly NextHop[],
    options: DeliverOptions,
  ): Promise<RecipientResult[]> => {
    calls.push({ hops, options });
    let i = 0;
    for (const hop of hops) {
      const err = failures[i++];
      if (err) {
        options.onHopFailure?.(hop, err);
        continue;
      }
      options.onSession?.(hop, { protocol: "TLSv1.3", cipher: "x", verified: true });
      return Promise.resolve(results!(hop));
    }
    const last = failures[hops.length - 1]!;
    const hop = hops.at(-1)!;
    return Promise.resolve(envelope.recipients.map((recipient) => ({
      recipient,
      status: last.temporary ? "deferred" : "refused",
      text: last.message,
      failure: last.failure,
      hop: `${hop.host}:${hop.port}`,
    })));
  };
  return { calls, deliver };
}

/** Every recipient accepted by HOP. */
const allSent = (hop: NextHop): RecipientResult[] =>
  ENVELOPE.recipients.map((recipient) => ({
    recipient,
    status: "sent",
    text: "250 ok",
    hop: `${hop.host}:25`,
  }));

/** The test envelope delivered through DELIVER under a policy of MODE. */
function underPolicy(
  deliver: Parameters<typeof deliverUnderPolicy>[0],
  mode: Parameters<typeof active>[0],
  { hops = HOPS, ca }: { hops?: NextHop[]; ca?: string } = {},
) {
  return deliverUnderPolicy(deliver, active(mode), ENVELOPE, MESSAGE, hops, BASE, ca);
}

Deno.test("enforce: only allowed MX hosts, STARTTLS required, certificates checked against the CA", async () => {
  const { calls, deliver } = stub([], allSent);
  const r = await underPolicy(deliver, "enforce", { ca: "CA" });
  assert.deepEqual(r.map((x) => x.status), ["sent", "sent"]);
  assert.deepEqual(calls[0]!.hops.map((h) => h.host), [
    "mx1.example.test",
    "b.backup.example.test",
  ]);
  const o = calls[0]!.options;
  assert.equal(o.tls, "starttls");
  assert.equal(o.insecure, false);
  assert.equal(o.opportunistic, false);
  assert.deepEqual(o.ca, ["CA"]);
});

Deno.test("enforce: every allowed host failing STARTTLS or its certificate defers, saying MTA-STS", async () => {
  const { deliver } = stub([
    new ClientError("STARTTLS", "unsupported", "mx1.example.test does not offer STARTTLS"),
    new ClientError("STARTTLS", "tls", "TLS handshake failed: self-signed certificate"),
  ]);
  const r = await underPolicy(deliver, "enforce");
  for (const x of r) {
    assert.equal(x.status, "deferred");
    assert.equal(
      x.text,
      "MTA-STS policy of example.test (enforce): STARTTLS: TLS handshake failed: self-signed certificate",
    );
    assert.equal(x.hop, "b.backup.example.test:25");
  }
});

Deno.test("enforce: a failure that is not about TLS keeps its meaning (a 554 greeting bounces)", async () => {
  const { deliver } = stub([
    new ClientError("STARTTLS", "tls", "TLS handshake failed: self-signed certificate"),
    new ClientError("Connect to b.backup.example.test:25", "reply", {
      code: 554,
      enhanced: "5.7.1",
      lines: ["go away"],
    }),
  ]);
  const r = await underPolicy(deliver, "enforce");
  assert.deepEqual(r.map((x) => x.status), ["refused", "refused"]);
  assert.doesNotMatch(r[0]!.text, /MTA-STS/);
});

Deno.test("enforce: a refusal inside the transaction of an allowed MX stays a refusal", async () => {
  const { deliver } = stub(
    [new ClientError("STARTTLS", "tls", "TLS handshake failed: certificate has expired")],
    (hop) => [
      { recipient: "bob@example.test", status: "sent", text: "250 ok", hop: `${hop.host}:25` },
      {
        recipient: "eve@example.test",
        status: "refused",
        text: "RCPT TO:<eve@example.test>: 550 5.1.1 no such user",
        failure: "reply",
        hop: `${hop.host}:25`,
      },
    ],
  );
  const r = await underPolicy(deliver, "enforce");
  assert.deepEqual(r.map((x) => [x.status, x.text]), [
    ["sent", "250 ok"],
    ["refused", "RCPT TO:<eve@example.test>: 550 5.1.1 no such user"],
  ]);
});

Deno.test("enforce: no MX allowed: deferred without a delivery attempt", async () => {
  const { calls, deliver } = stub([]);
  const r = await underPolicy(deliver, "enforce", { hops: [HOPS[1]!] });
  assert.equal(calls.length, 0);
  assert.deepEqual(r.map((x) => x.status), ["deferred", "deferred"]);
  assert.match(r[0]!.text, /^MTA-STS: no MX host of example\.test is allowed by its policy/);
});

Deno.test("testing: every MX, opportunistic TLS as without a policy", async () => {
  const { calls, deliver } = stub([], allSent);
  const r = await underPolicy(deliver, "testing", { ca: "CA" });
  assert.deepEqual(r.map((x) => x.status), ["sent", "sent"]);
  assert.deepEqual(calls[0]!.hops, HOPS);
  assert.equal(calls[0]!.options.tls, "auto");
  assert.equal(calls[0]!.options.insecure, true);
  assert.deepEqual(calls[0]!.options.ca, ["CA"]);
});
