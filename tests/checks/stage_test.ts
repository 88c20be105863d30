/**
 * The checks of the MX listener against the tests' DNS responder on loopback, with messages
 * signed by mailauth and by dkimpy (an independent signer): each result of SPF, DKIM, ARC and
 * DMARC, what each policy setting does with them, and what is never checked.
 */
import assert from "node:assert/strict";
import { AuthChecks, type AuthChecksOptions, DOWN_TTL_MS } from "../../src/checks/mod.ts";
import { createResolver } from "../../src/dns/mod.ts";
import { SmtpError } from "../../src/smtp/reply.ts";
import type { StagedMessage } from "../../src/server/local_backend.ts";
import type { SessionContext } from "../../src/smtp/session.ts";
import { type DnsTable, startDnsServer, startRawDnsServer } from "../_helpers/dns_server.ts";
import { ioTurn, until } from "../_helpers/clock.ts";
import {
  context,
  delivery,
  ed25519Key,
  message,
  ourResults,
  rsaKey,
  sealedByForwarder,
  signWithDkimpy,
  signWithMailauth,
  TestClock,
  text,
} from "./_fixtures.ts";

const KEY = rsaKey();
const ED = ed25519Key();
const ARC_KEY = rsaKey();

/** Client 192.0.2.10 says HELO client.example; SPF and DMARC records of every kind. */
function table(): DnsTable {
  return {
    "client.example": { a: ["192.0.2.10"], txt: ["v=spf1 a -all"] },
    "pass.example": { txt: ["v=spf1 ip4:192.0.2.0/24 -all"] },
    "fail.example": { txt: ["v=spf1 -all"] },
    "softfail.example": { txt: ["v=spf1 ~all"] },
    "neutral.example": { txt: ["v=spf1 ?all"] },
    "none.example": { a: ["192.0.2.200"] },
    "temperror.example": { servfail: true },
    "permerror.example": { txt: ["v=spf1 ip4:192.0.2.0/24 -all", "v=spf1 -all"] },
    // Signers: SPF allows the client; DKIM keys; DMARC policies.
    "example.com": { txt: ["v=spf1 ip4:192.0.2.0/24 -all"] },
    "sel._domainkey.example.com": { txt: [KEY.record] },
    "ed._domainkey.example.com": { txt: [ED.record] },
    "_dmarc.example.com": { txt: ["v=DMARC1; p=reject"] },
    "none.test": { txt: ["v=spf1 -all"] },
    "sel._domainkey.none.test": { txt: [KEY.record] },
    "_dmarc.none.test": { txt: ["v=DMARC1; p=none"] },
    "quarantine.test": { txt: ["v=spf1 -all"] },
    "sel._domainkey.quarantine.test": { txt: [KEY.record] },
    "_dmarc.quarantine.test": { txt: ["v=DMARC1; p=quarantine"] },
    "reject.test": { txt: ["v=spf1 -all"] },
    "sel._domainkey.reject.test": { txt: [KEY.record] },
    "_dmarc.reject.test": { txt: ["v=DMARC1; p=reject"] },
    // A key whose lookup fails for now, one revoked, one missing (nokey).
    "sel._domainkey.dnsdown.test": { servfail: true },
    "dnsdown.test": { txt: ["v=spf1 -all"] },
    "_dmarc.dnsdown.test": { txt: ["v=DMARC1; p=reject"] },
    "sel._domainkey.revoked.test": { txt: ["v=DKIM1; p="] },
    "revoked.test": { txt: ["v=spf1 -all"] },
    "nokey.test": { txt: ["v=spf1 -all"] },
    "rset.example": { txt: ["v=spf1 -all"] },
    // SPF's limits (RFC 7208 §4.6.4): 10 lookups, 2 void lookups.
    "lookups.example": {
      txt: [
        `v=spf1 ${Array.from({ length: 11 }, (_, i) => `include:i${i}.example`).join(" ")} -all`,
      ],
    },
    ...Object.fromEntries(
      Array.from({ length: 11 }, (_, i) => [`i${i}.example`, { txt: ["v=spf1 ?all"] }]),
    ),
    "void.example": {
      txt: ["v=spf1 a:v1.example a:v2.example a:v3.example ip4:192.0.2.0/24 -all"],
    },
    // The forwarder that seals with ARC.
    "forwarder.example": { txt: ["v=spf1 ip4:198.51.100.7 -all"], a: ["198.51.100.7"] },
    "arc._domainkey.forwarder.example": { txt: [ARC_KEY.record] },
  };
}

const DNS = await startDnsServer(table());
const RESOLVER = createResolver({ server: { host: "127.0.0.1", port: DNS.port } });

function checks(options: Partial<AuthChecksOptions> = {}): AuthChecks {
  return new AuthChecks({
    hostname: "mx.local.test",
    authChecks: true,
    dmarc: "enforce",
    spfFail: "tag",
    dmarcTemperror: "deliver",
    trustedNetworks: [],
    resolve: RESOLVER.nodeStyle,
    ...options,
  });
}

/** One transaction: MAIL FROM SENDER, then TEXT as its data. */
async function receive(
  c: AuthChecks,
  sender: string,
  data: string,
  ctx: SessionContext = context("client.example"),
): Promise<StagedMessage> {
  const at = sender.lastIndexOf("@");
  c.onSender(
    sender ? { local: sender.slice(0, at), domain: sender.slice(at + 1) } as never : undefined,
    ctx,
  );
  const d = delivery(sender, data);
  return await c.process(d, d, ctx);
}

/** The results of one method in our Authentication-Results, in order. */
function results(m: StagedMessage, method: string): string[] {
  return ourResults(m).split(/;\s*/).filter((r) => r.startsWith(`${method}=`));
}

Deno.test("SPF: pass, fail, softfail, neutral, none, temperror, permerror of MAIL FROM", async () => {
  const c = checks();
  for (const result of ["pass", "fail", "softfail", "neutral", "none", "temperror", "permerror"]) {
    const m = await receive(c, `ann@${result}.example`, message(`ann@${result}.example`));
    const spf = results(m, "spf");
    assert.match(spf[0]!, new RegExp(`^spf=${result} .*smtp\\.mailfrom=ann@${result}\\.example$`));
    // The HELO identity is checked on its own (RFC 7208 §2.3).
    assert.match(spf[1]!, /^spf=pass .*smtp\.helo=client\.example$/);
  }
});

Deno.test("SPF: more than 10 lookups, or more than 2 void ones, is a permerror", async () => {
  for (const domain of ["lookups.example", "void.example"]) {
    const m = await receive(checks(), `ann@${domain}`, message(`ann@${domain}`));
    assert.match(results(m, "spf")[0]!, /^spf=permerror/, domain);
  }
});

Deno.test("DKIM: only the first 10 signatures are verified", async () => {
  let data = message("ann@example.com");
  for (let i = 0; i < 12; i++) {
    data = await signWithMailauth(data, "example.com", "sel", KEY.privateKey);
  }
  const m = await receive(checks(), "ann@example.com", data);
  assert.equal(results(m, "dkim").length, 10);
  // All twelve are stored, as they came.
  assert.equal(text(m).match(/^DKIM-Signature:/gm)!.length, 12);
});

Deno.test("SPF: the null sender is checked as postmaster@HELO, reported as smtp.helo", async () => {
  const m = await receive(checks(), "", message("ann@pass.example"));
  assert.deepEqual(
    results(m, "spf").map((r) => r.replace(/ \(.*\)/, "")),
    ["spf=pass smtp.helo=client.example"],
  );
  const other = await receive(checks(), "", message("ann@pass.example"), context("fail.example"));
  assert.match(results(other, "spf")[0]!, /^spf=fail .*smtp\.helo=fail\.example$/);
});

Deno.test("DKIM: signatures of mailauth and of dkimpy (RSA and Ed25519) pass", async () => {
  const plain = message("ann@example.com");
  const signed = [
    await signWithMailauth(plain, "example.com", "sel", KEY.privateKey),
    await signWithDkimpy(plain, "example.com", "sel", KEY.privateKey),
    await signWithDkimpy(plain, "example.com", "ed", ED.seed, "ed25519-sha256"),
  ];
  for (const data of signed) {
    const m = await receive(checks(), "ann@example.com", data);
    assert.match(results(m, "dkim")[0]!, /^dkim=pass header\.d=example\.com .*header\.s=(sel|ed)/);
    assert.match(results(m, "dmarc")[0]!, /^dmarc=pass .*header\.from=example\.com/);
  }
});

Deno.test("DKIM: a message in many small chunks verifies as the whole", async () => {
  const data = await signWithMailauth(
    message("ann@example.com"),
    "example.com",
    "sel",
    KEY.privateKey,
  );
  const c = checks();
  const ctx = context("client.example");
  for (const size of [1, 7, 64]) {
    c.onSender({ local: "ann", domain: "example.com" } as never, ctx);
    const d = delivery("ann@example.com", data, size);
    const m = await c.process(d, d, ctx);
    assert.match(results(m, "dkim")[0]!, /^dkim=pass/);
    assert.ok(text(m).endsWith(data));
  }
});

Deno.test("DKIM: fail, none, temperror, and a missing or revoked key (neutral)", async () => {
  const plain = message("ann@example.com");
  const signed = await signWithDkimpy(plain, "example.com", "sel", KEY.privateKey);
  const cases: [string, string, RegExp][] = [
    // A signed header field changed: the signature does not verify.
    ["ann@example.com", signed.replace("Subject: checks", "Subject: changed"), /^dkim=fail /],
    // The body changed: mailauth reports RFC 6376's PERMFAIL as neutral (RFC 8601 §2.7.1).
    [
      "ann@example.com",
      signed.replace("Hello there.", "Hello there!"),
      /^dkim=neutral \(body hash did not verify\)/,
    ],
    ["ann@example.com", plain, /^dkim=none /],
    [
      "ann@dnsdown.test",
      await signWithMailauth(message("ann@dnsdown.test"), "dnsdown.test", "sel", KEY.privateKey),
      /^dkim=temperror /,
    ],
    // RFC 6376 §6.1.2 PERMFAIL: mailauth reports it as neutral (RFC 8601 §2.7.1).
    [
      "ann@revoked.test",
      await signWithMailauth(message("ann@revoked.test"), "revoked.test", "sel", KEY.privateKey),
      /^dkim=neutral \(invalid public key\)/,
    ],
    [
      "ann@nokey.test",
      await signWithMailauth(message("ann@nokey.test"), "nokey.test", "sel", KEY.privateKey),
      /^dkim=neutral \(no key\)/,
    ],
  ];
  for (const [sender, data, expected] of cases) {
    const m = await receive(checks(), sender, data);
    assert.match(results(m, "dkim")[0]!, expected, data);
  }
});

/** A message from DOMAIN, signed there, but SPF fails and the subject was changed on the way. */
async function failing(domain: string): Promise<string> {
  const signed = await signWithMailauth(message(`ann@${domain}`), domain, "sel", KEY.privateKey);
  return signed.replace("Subject: checks", "Subject: tampered");
}

Deno.test("DMARC: a fail under p=none is delivered, recorded", async () => {
  const m = await receive(checks(), "ann@none.test", await failing("none.test"));
  assert.match(
    results(m, "dmarc")[0]!,
    /^dmarc=fail \(p=NONE.*header\.from=none\.test policy\.dmarc=none/,
  );
  assert.equal(m.folder, undefined);
});

Deno.test("DMARC: a fail under p=quarantine goes to Junk, flagged", async () => {
  const m = await receive(checks(), "ann@quarantine.test", await failing("quarantine.test"));
  assert.equal(m.folder, "Junk");
  assert.match(results(m, "dmarc")[0]!, /^dmarc=fail .*policy\.dmarc=quarantine/);
  assert.match(
    text(m),
    /^Return-Path: <ann@quarantine\.test>\r\nAuthentication-Results: [^]*X-Spam-Flag: YES\r\nReceived: /,
  );
});

Deno.test("DMARC: a fail under p=reject is refused with 550 5.7.1 and the reason", async () => {
  await assert.rejects(
    receive(checks(), "ann@reject.test", await failing("reject.test")),
    (err) =>
      err instanceof SmtpError && err.code === 550 && err.enhanced === "5.7.1" &&
      /DMARC policy of reject\.test is reject/.test(err.message),
  );
});

Deno.test("DMARC: dmarc=tag records a reject-worthy fail and delivers; off does not evaluate", async () => {
  const tagged = await receive(
    checks({ dmarc: "tag" }),
    "ann@reject.test",
    await failing("reject.test"),
  );
  assert.match(results(tagged, "dmarc")[0]!, /^dmarc=fail .*policy\.dmarc=reject/);
  assert.equal(tagged.folder, undefined);
  const off = await receive(
    checks({ dmarc: "off" }),
    "ann@reject.test",
    await failing("reject.test"),
  );
  assert.deepEqual(results(off, "dmarc"), []);
  assert.match(results(off, "dkim")[0]!, /^dkim=fail/);
});

Deno.test("DMARC: a fail that depends on a temperror is a temperror, never a reject", async () => {
  const data = await signWithMailauth(
    message("ann@dnsdown.test"),
    "dnsdown.test",
    "sel",
    KEY.privateKey,
  );
  // SPF fails, DKIM cannot be checked for now, p=reject: mailauth says fail.
  const m = await receive(checks(), "ann@dnsdown.test", data);
  assert.match(results(m, "dkim")[0]!, /^dkim=temperror/);
  assert.match(
    results(m, "dmarc")[0]!,
    /^dmarc=temperror .*temporary DNS error.*header\.from=dnsdown\.test$/,
  );
  await assert.rejects(
    receive(checks({ dmarcTemperror: "defer" }), "ann@dnsdown.test", data),
    (err) => err instanceof SmtpError && err.code === 451 && err.enhanced === "4.7.5",
  );
});

Deno.test("SPF fail with spf-fail reject: 550 5.7.23, unless DMARC passes through DKIM", async () => {
  await assert.rejects(
    receive(checks({ spfFail: "reject" }), "ann@fail.example", message("ann@fail.example")),
    (err) => err instanceof SmtpError && err.code === 550 && err.enhanced === "5.7.23",
  );
  const forwarded = await signWithMailauth(
    message("ann@example.com"),
    "example.com",
    "sel",
    KEY.privateKey,
  );
  const m = await receive(
    checks({ spfFail: "reject" }),
    "ann@example.com",
    forwarded,
    context("client.example", "203.0.113.5"),
  );
  assert.match(results(m, "spf")[0]!, /^spf=fail/);
  assert.match(results(m, "dmarc")[0]!, /^dmarc=pass/);
});

Deno.test("a forged Authentication-Results of ours is removed, a foreign one kept", async () => {
  const data = message(
    "ann@example.com",
    "Authentication-Results: MX.local.test; dmarc=pass header.from=bank.example\r\n" +
      "Authentication-Results: other.example;\r\n spf=pass smtp.mailfrom=ann@example.com\r\n" +
      'Authentication-Results: (c) "mx.local.test"; dkim=pass\r\n',
  );
  const m = await receive(checks(), "ann@example.com", data);
  const out = text(m);
  assert.equal(out.match(/^Authentication-Results: .*mx\.local\.test/gim)!.length, 1);
  assert.doesNotMatch(out, /bank\.example/);
  assert.match(
    out,
    /Authentication-Results: other\.example;\r\n spf=pass smtp\.mailfrom=ann@example\.com\r\n/,
  );
  // Every byte of the message but the forged fields is as it came.
  const expected = data
    .replace("Authentication-Results: MX.local.test; dmarc=pass header.from=bank.example\r\n", "")
    .replace('Authentication-Results: (c) "mx.local.test"; dkim=pass\r\n', "");
  assert.ok(out.endsWith(expected));
  assert.equal(m.size, new TextEncoder().encode(out).length);
});

Deno.test("ARC: a forwarded message sealed by the forwarder validates (arc=pass)", async () => {
  const original = await signWithMailauth(
    message("ann@none.test"),
    "none.test",
    "sel",
    KEY.privateKey,
  );
  // The forwarder (a list) received it, checked it, changed the subject and sealed it.
  const changed = original.replace("Subject: checks", "Subject: [list] checks");
  const forwarded = await sealedByForwarder(
    changed,
    "ann@none.test",
    RESOLVER.nodeStyle,
    ARC_KEY.privateKey,
  );
  assert.match(forwarded, /^ARC-Seal: /);
  const m = await receive(
    checks(),
    "list-bounces@forwarder.example",
    forwarded,
    context("forwarder.example", "198.51.100.7"),
  );
  assert.match(results(m, "arc")[0]!, /^arc=pass/);
  assert.match(results(m, "dkim")[0]!, /^dkim=fail/);
  assert.match(results(m, "dmarc")[0]!, /^dmarc=fail \(p=NONE arc=pass\)/);
});

Deno.test("ARC: DMARC reads the From: of a sealed message as the signer does", async () => {
  // Two addresses run together: mailauth's own address parser (in its ARC path) reads the
  // second, ours the first. DMARC must judge the domain the signer and a reader see.
  const from = "a@reject.test(,)b@none.test";
  const original = message("x@none.test").replace("From: Ann <x@none.test>", `From: ${from}`);
  const forwarded = await sealedByForwarder(
    original,
    "ann@none.test",
    RESOLVER.nodeStyle,
    ARC_KEY.privateKey,
  );
  await assert.rejects(
    receive(
      checks(),
      "list-bounces@forwarder.example",
      forwarded,
      context("forwarder.example", "198.51.100.7"),
    ),
    (err) => err instanceof SmtpError && /DMARC policy of reject\.test is reject/.test(err.message),
  );
});

Deno.test("submission, trusted networks and auth-checks off are not checked", async () => {
  const forged = message(
    "ann@reject.test",
    "Authentication-Results: mx.local.test; dmarc=pass\r\n",
  );
  const submitted = await receive(
    checks(),
    "ann@reject.test",
    forged,
    context("client.example", "192.0.2.10", { role: "submission", authUser: "ann@reject.test" }),
  );
  // Our users' mail is not checked, but may not carry our name either.
  assert.doesNotMatch(text(submitted), /mx\.local\.test; dmarc=pass/);
  assert.doesNotMatch(text(submitted), /spf=/);
  const mxAuthenticated = await receive(
    checks(),
    "ann@reject.test",
    message("ann@reject.test"),
    context("client.example", "192.0.2.10", { authUser: "ann@reject.test" }),
  );
  assert.doesNotMatch(text(mxAuthenticated), /Authentication-Results/);
  for (const address of ["10.1.2.3", "::ffff:10.1.2.3", "2001:db8::5"]) {
    const trusted = checks({
      trustedNetworks: [
        { address: "10.0.0.0", prefix: 8, family: "ipv4" },
        { address: "2001:db8::", prefix: 32, family: "ipv6" },
      ],
    });
    const d = delivery("ann@reject.test", forged);
    const out = await receive(trusted, "ann@reject.test", forged, context("relay.local", address));
    assert.deepEqual(out.chunks, d.chunks, address); // untouched, forged field and all
  }
  const d = delivery("ann@reject.test", forged);
  const off = await receive(checks({ authChecks: false }), "ann@reject.test", forged);
  assert.deepEqual(off.chunks, d.chunks);
});

Deno.test("a resolver that never answers: every check is a temperror after one budget", async () => {
  const clock = new TestClock();
  let asked = 0;
  const c = checks({
    resolve: () => {
      asked++;
      return new Promise(() => {});
    },
    clock,
  });
  const data = await signWithMailauth(
    message("ann@reject.test"),
    "reject.test",
    "sel",
    KEY.privateKey,
  );
  const ctx = context("client.example");
  c.onSender({ local: "ann", domain: "reject.test" } as never, ctx);
  const d = delivery("ann@reject.test", data);
  const done = c.process(d, d, ctx);
  // Let the checks reach their lookups, then spend both budgets (MAIL FROM's and DATA's).
  await until(() => asked >= 2, "the checks' first lookups");
  clock.advance(5000);
  const m = await done;
  for (const method of ["spf", "dkim", "dmarc"]) {
    assert.match(results(m, method)[0]!, new RegExp(`^${method}=temperror`), ourResults(m));
  }
  assert.equal(clock.pending, 0);
});

Deno.test("SPF starts at MAIL FROM and follows RSET and a new MAIL FROM", async () => {
  const asked: string[] = [];
  const c = checks({
    resolve: (name, type) => {
      asked.push(`${type} ${name}`);
      return RESOLVER.nodeStyle(name, type);
    },
  });
  const ctx = context("client.example");
  c.onSender({ local: "ann", domain: "rset.example" } as never, ctx);
  // RSET, then another sender: the first SPF is still out, so this one waits for DATA.
  c.onSender({ local: "ann", domain: "pass.example" } as never, ctx);
  const d = delivery("ann@pass.example", message("ann@pass.example"));
  const m = await c.process(d, d, ctx);
  assert.match(results(m, "spf")[0]!, /^spf=pass .*smtp\.mailfrom=ann@pass\.example/);
  // The first goes on (bounded by its budget), but was not started again.
  await until(() => asked.includes("TXT rset.example"), "the first SPF lookup");
  assert.equal(asked.filter((q) => q === "TXT pass.example").length, 1);
  // A new transaction in the same session: its own SPF.
  c.onSender({ local: "ann", domain: "softfail.example" } as never, ctx);
  const d2 = delivery("ann@softfail.example", message("ann@softfail.example"));
  assert.match(results(await c.process(d2, d2, ctx), "spf")[0]!, /^spf=softfail/);
});

Deno.test("MAIL FROM and RSET over and over start one SPF evaluation at a time", async () => {
  const clock = new TestClock();
  const asked: string[] = [];
  const c = checks({
    resolve: (name, type) => {
      asked.push(`${type} ${name}`);
      return new Promise(() => {});
    },
    clock,
  });
  const ctx = context("client.example");
  for (let i = 0; i < 20; i++) c.onSender({ local: "ann", domain: `d${i}.example` } as never, ctx);
  await until(() => asked.length >= 2, "the first evaluation's lookups");
  for (let i = 0; i < 100; i++) await ioTurn();
  assert.deepEqual(asked.sort(), ["TXT client.example", "TXT d0.example"]);
  // Once it is over (its budget spent), the next MAIL FROM starts the next one.
  clock.advance(5000);
  await until(() => clock.pending === 0, "the budget's end");
  for (let i = 0; i < 10; i++) await ioTurn();
  c.onSender({ local: "ann", domain: "next.example" } as never, ctx);
  await until(() => asked.includes("TXT next.example"), "the next evaluation");
});

Deno.test("DMARC: a message without one author domain gets dmarc=permerror", async () => {
  const data = message("ann@example.com").replace(
    "From: Ann <ann@example.com>",
    "From: Ann <ann@example.com>, Eve <eve@other.example>",
  );
  const m = await receive(checks(), "ann@example.com", data);
  assert.match(results(m, "dmarc")[0]!, /^dmarc=permerror/);
});

Deno.test("DMARC: several From: domains are each checked, the strictest failing policy applies", async () => {
  // RFC 7489 §6.6.1: a second From: field, or a second address, does not escape p=reject.
  const twoFields = message("a@reject.test", "From: b@none.test\r\n");
  const twoAddresses = message("a@none.test").replace(
    "From: Ann <a@none.test>",
    "From: a@none.test, Bank <b@reject.test>",
  );
  for (const data of [twoFields, twoAddresses]) {
    await assert.rejects(
      receive(checks(), "ann@none.test", data),
      (err) =>
        err instanceof SmtpError && err.code === 550 &&
        /DMARC policy of reject\.test is reject/.test(err.message),
    );
  }
  // p=quarantine and p=none failing: quarantine, recorded against its domain.
  const m = await receive(
    checks(),
    "ann@none.test",
    message("a@none.test", "From: q@quarantine.test\r\n"),
  );
  assert.equal(m.folder, "Junk");
  assert.match(
    results(m, "dmarc")[0]!,
    /^dmarc=fail \(.*one of 2 From: domains\) header\.from=quarantine\.test policy\.dmarc=quarantine/,
  );
});

Deno.test("a DNS server that never answers: once it is seen down, messages do not wait for it", async () => {
  const dead = await startRawDnsServer(() => undefined);
  try {
    const resolver = createResolver({
      server: { host: "127.0.0.1", port: dead.port },
      timeoutMs: 100,
    });
    const c = checks({ resolve: resolver.nodeStyle });
    // The first message meets the timeouts (SPF of MAIL FROM and of HELO, at once).
    const first = await receive(c, "ann@one.example", message("ann@one.example"));
    assert.match(results(first, "spf")[0]!, /^spf=temperror/);
    // The next, about other names, asks the server at most once (a probe nobody waits for).
    const before = dead.queries.length;
    const next = await receive(
      c,
      "ann@two.example",
      message("ann@two.example"),
      context("other.example"),
    );
    for (const method of ["spf", "dmarc"]) {
      assert.match(results(next, method)[0]!, new RegExp(`^${method}=temperror`));
    }
    assert.ok(dead.queries.length - before <= 2, `${dead.queries.length - before} queries`);
  } finally {
    await dead.close();
  }
});

Deno.test("a DNS server that is down: SPF and DMARC are not run afresh for every message, and its return is noticed", async () => {
  const clock = new TestClock();
  let up = false;
  let answered = 0;
  const spfLookups: string[] = [];
  const dmarcLookups: string[] = [];
  // A resolver that times out at once while down (the health check then stops waiting for it).
  const resolve = (name: string, rrtype: string) => {
    (name.startsWith("_dmarc.") ? dmarcLookups : spfLookups).push(name);
    if (up) return RESOLVER.nodeStyle(name, rrtype).finally(() => answered++);
    return Promise.reject(Object.assign(new Error("timed out"), { code: "ETIMEOUT" }));
  };
  const c = checks({ resolve, clock });
  // The first messages meet the timeouts; then the server is taken to be down.
  for (let i = 0; i < 2; i++) {
    const m = await receive(c, "ann@pass.example", message("ann@pass.example"));
    assert.match(results(m, "spf")[0]!, /^spf=temperror/);
  }
  // While it is down, one sender's SPF and DMARC run once in DOWN_TTL_MS, not once a message.
  spfLookups.length = 0;
  dmarcLookups.length = 0;
  for (let i = 0; i < 20; i++) {
    const m = await receive(c, "ann@pass.example", message("ann@pass.example"));
    assert.match(results(m, "spf")[0]!, /^spf=temperror/);
    assert.match(results(m, "dmarc")[0]!, /^dmarc=temperror/);
  }
  assert.ok(spfLookups.length <= 2, `${spfLookups.length} SPF lookups for 20 messages`);
  assert.ok(dmarcLookups.length <= 2, `${dmarcLookups.length} DMARC lookups for 20 messages`);
  // Back up: after DOWN_TTL_MS the next message asks again (a probe), and the one after that
  // gets a real answer.
  up = true;
  clock.advance(DOWN_TTL_MS);
  await receive(c, "ann@pass.example", message("ann@pass.example"));
  await until(() => answered > 0, "the probe's answer");
  const back = await receive(c, "ann@pass.example", message("ann@pass.example"));
  assert.match(results(back, "spf")[0]!, /^spf=pass/);
});

Deno.test("checks stop", async () => {
  await DNS.close();
});
