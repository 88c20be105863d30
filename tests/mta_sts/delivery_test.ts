/**
 * MTA-STS end to end: `mail serve` relays to example.test, whose `_mta-sts` TXT record, MX and
 * policy host are served on loopback (the tests' DNS responder, an HTTPS policy host with a
 * certificate of the test CA, receiving MX hosts with or without STARTTLS and with a good or a
 * wrong certificate). `--outbound-ca` trusts the test CA; `--mta-sts-port` reaches the policy
 * host on its port. Every wait is bounded (waitFor, waitForLog).
 */
import assert from "node:assert/strict";
import type { ServeProcess } from "../_helpers/mail_process.ts";
import { type DnsTable, startDnsServer } from "../_helpers/dns_server.ts";
import {
  dataWithUsers,
  queueJson,
  serveDomain,
  storedMessages,
  submit,
  waitFor,
} from "../queue/_helpers.ts";
import { fixture, type PolicyAnswer, policyText, startPolicyHost } from "./_helpers.ts";
import { startMx, type TestMx } from "./_mx.ts";

/** An MX host of example.test: its name, its loopback address, its certificate (if STARTTLS). */
interface MxHost {
  readonly name: string;
  readonly address: string;
  readonly cert?: string;
}

interface LogLine {
  message: string;
  properties: Record<string, unknown>;
}

/** The JSON log lines of SERVE whose message is MESSAGE. */
function logLines(serve: ServeProcess, message: string): Record<string, unknown>[] {
  return serve.log().split("\n").filter((l) => l.startsWith("{")).map((l) =>
    JSON.parse(l) as LogLine
  ).filter((l) => l.message === message).map((l) => l.properties);
}

/** The log of the sending server of the running test, for a failure's message. */
let currentLog: () => string = () => "";

/** P, or a failure after MS (a bound on a stuck test, not a measurement) with the server's log. */
async function within<T>(p: Promise<T>, what: string, ms = 60_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`Timed out waiting for ${what}; the log:\n${currentLog()}`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A world: DNS, the policy host, the MX hosts and a sending `mail serve` for a.test. */
async function world(
  options: { policy: string | PolicyAnswer; mx: readonly MxHost[]; extra?: string[] },
  fn: (w: {
    table: DnsTable;
    policy: Awaited<ReturnType<typeof startPolicyHost>>;
    mxs: TestMx[];
    serve: () => ServeProcess;
    restart: () => Promise<void>;
    dir: string;
  }) => Promise<void>,
): Promise<void> {
  const table: DnsTable = {
    "example.test": { mx: options.mx.map((m, i) => [10 * (i + 1), m.name] as const) },
    "_mta-sts.example.test": { txt: ["v=STSv1; id=one;"], ttl: 0 },
    "mta-sts.example.test": { a: ["127.0.0.1"] },
  };
  for (const m of options.mx) table[m.name] = { a: [m.address] };
  const dns = await startDnsServer(table);
  const answer = typeof options.policy === "string" ? { body: options.policy } : options.policy;
  const policy = await startPolicyHost(answer);
  const mxs: TestMx[] = [];
  const dir = await dataWithUsers(["ann@a.test"]);
  let serve: ServeProcess | undefined;
  try {
    for (const m of options.mx) {
      mxs.push(await startMx({ host: m.address, port: mxs[0]?.port ?? 0, cert: m.cert }));
    }
    const flags = [
      "--dns",
      dns.address,
      "--mx-port",
      String(mxs[0]!.port),
      "--outbound-ca",
      fixture("ca.pem"),
      "--mta-sts-port",
      String(policy.port),
      "--log-format",
      "json",
      ...(options.extra ?? []),
    ];
    serve = await serveDomain(dir, "a.test", flags);
    currentLog = () => serve?.log() ?? "";
    await fn({
      table,
      policy,
      mxs,
      dir,
      serve: () => serve!,
      async restart() {
        await serve!.stop();
        serve = await serveDomain(dir, "a.test", flags);
      },
    });
  } finally {
    await serve?.stop();
    for (const m of mxs) await m.close();
    await policy.close();
    await dns.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Waits for the queue of DIR to hold one row whose last reply matches RE; returns it. */
const deferredWith = (dir: string, re: RegExp) =>
  waitFor(`a deferral matching ${re}`, async () => {
    const rows = await queueJson(dir);
    return rows.length === 1 && re.test(rows[0]!.last_reply ?? "") && rows[0]!;
  });

const ENFORCE = policyText("enforce", ["mx.example.test", "*.backup.example.test"]);

Deno.test("enforce: delivered over TLS to an allowed MX; the policy cached, refetched for a new id, kept across a restart and a failed refresh", async () => {
  await world({
    policy: ENFORCE,
    mx: [{ name: "mx.example.test", address: "127.0.0.1", cert: "mx" }],
  }, async (w) => {
    await submit(w.serve(), "ann@a.test", ["bob@example.test"], "one");
    const first = await within(w.mxs[0]!.nextMessage(), "the first message");
    assert.equal(first.tls, true);
    assert.deepEqual(first.recipients, ["bob@example.test"]);
    assert.deepEqual(w.policy.requests, ["GET /.well-known/mta-sts.txt mta-sts.example.test"]);
    await w.serve().waitForLog('"MTA-STS delivery"');
    const fetched = logLines(w.serve(), "MTA-STS policy fetched");
    assert.equal(fetched.length, 1);
    assert.deepEqual(
      { ...fetched[0], maxAge: undefined },
      {
        policyType: "sts",
        domain: "example.test",
        id: "one",
        result: "success",
        mode: "enforce",
        mx: "mx.example.test *.backup.example.test",
        maxAge: undefined,
      },
    );
    const delivery = logLines(w.serve(), "MTA-STS delivery");
    assert.equal(delivery.length, 1);
    assert.equal(delivery[0]!.result, "success");
    assert.equal(delivery[0]!.mx, "mx.example.test");

    // The same id: the held policy, no second fetch.
    await submit(w.serve(), "ann@a.test", ["bob@example.test"], "two");
    assert.equal((await within(w.mxs[0]!.nextMessage(), "the second message")).tls, true);
    assert.equal(w.policy.requests.length, 1);

    // A new id: fetched again.
    w.table["_mta-sts.example.test"] = { txt: ["v=STSv1; id=two;"], ttl: 0 };
    await submit(w.serve(), "ann@a.test", ["bob@example.test"], "three");
    assert.equal((await within(w.mxs[0]!.nextMessage(), "the third message")).tls, true);
    assert.equal(w.policy.requests.length, 2);

    // A restart keeps it (the store): no fetch.
    await w.restart();
    await submit(w.serve(), "ann@a.test", ["bob@example.test"], "four");
    assert.equal((await within(w.mxs[0]!.nextMessage(), "the fourth message")).tls, true);
    assert.equal(w.policy.requests.length, 2);

    // A failed refresh keeps using it (RFC 8461 §5.1): still enforced, still over TLS.
    w.table["_mta-sts.example.test"] = { txt: ["v=STSv1; id=three;"], ttl: 0 };
    w.policy.answer = { status: 500, body: "down" };
    await submit(w.serve(), "ann@a.test", ["bob@example.test"], "five");
    assert.equal((await within(w.mxs[0]!.nextMessage(), "the fifth message")).tls, true);
    assert.equal(w.policy.requests.length, 3);
    const failed = await waitFor("the failed fetch's log line", () => {
      const lines = logLines(w.serve(), "MTA-STS policy fetch failed");
      return lines.length > 0 && lines;
    });
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.result, "sts-policy-fetch-error");
    assert.equal(failed[0]!.heldPolicy, "two");
    await waitFor(
      "the fifth delivery's log line",
      () => logLines(w.serve(), "MTA-STS delivery").length === 2,
    );
    assert.equal(logLines(w.serve(), "MTA-STS delivery").at(-1)?.result, "success");
  });
});

Deno.test("enforce: no MX allowed by the policy: deferred without connecting, and said why", async () => {
  await world({
    policy: ENFORCE,
    mx: [{ name: "other.example.test", address: "127.0.0.1", cert: "mx" }],
  }, async (w) => {
    await submit(w.serve(), "ann@a.test", ["bob@example.test"], "one");
    await deferredWith(w.dir, /^MTA-STS: no MX host of example\.test is allowed by its policy/);
    assert.equal(w.mxs[0]!.connections, 0);
    const lines = logLines(w.serve(), "MTA-STS delivery");
    assert.equal(lines[0]?.result, "validation-failure");
    assert.equal(lines[0]?.mx, "other.example.test");
  });
});

Deno.test("enforce: an MX without STARTTLS: deferred, never sent in the clear", async () => {
  await world(
    { policy: ENFORCE, mx: [{ name: "mx.example.test", address: "127.0.0.1" }] },
    async (w) => {
      await submit(w.serve(), "ann@a.test", ["bob@example.test"], "one");
      await deferredWith(
        w.dir,
        /^MTA-STS policy of example\.test \(enforce\): STARTTLS: .*does not offer STARTTLS/,
      );
      assert.deepEqual(w.mxs[0]!.received, []);
      assert.equal(logLines(w.serve(), "MTA-STS delivery")[0]?.result, "starttls-not-supported");
    },
  );
});

Deno.test("enforce: a certificate for another name: deferred", async () => {
  await world({
    policy: ENFORCE,
    mx: [{ name: "mx.example.test", address: "127.0.0.1", cert: "wrong-name" }],
  }, async (w) => {
    await submit(w.serve(), "ann@a.test", ["bob@example.test"], "one");
    const row = await deferredWith(
      w.dir,
      /^MTA-STS policy of example\.test \(enforce\): STARTTLS: TLS handshake failed/,
    );
    assert.deepEqual(w.mxs[0]!.received, []);
    assert.equal(logLines(w.serve(), "MTA-STS delivery")[0]?.result, "certificate-host-mismatch");
    assert.equal(row.attempts >= 1, true);
  });
});

Deno.test("enforce: the first MX fails its certificate, the second allowed one gets the mail", async () => {
  await world({
    policy: policyText("enforce", ["*.example.test"]),
    mx: [
      { name: "mx.example.test", address: "127.0.0.1", cert: "wrong-name" },
      { name: "mx2.example.test", address: "127.0.0.2", cert: "mx" },
    ],
  }, async (w) => {
    await submit(w.serve(), "ann@a.test", ["bob@example.test"], "one");
    const got = await within(w.mxs[1]!.nextMessage(), "the message at mx2");
    assert.equal(got.tls, true);
    assert.deepEqual(w.mxs[0]!.received, []);
    const results = await waitFor("two log lines", () => {
      const lines = logLines(w.serve(), "MTA-STS delivery");
      return lines.length === 2 && lines.map((l) => [l.mx, l.result]);
    });
    assert.deepEqual(results, [
      ["mx.example.test", "certificate-host-mismatch"],
      ["mx2.example.test", "success"],
    ]);
  });
});

Deno.test("testing: delivered as without a policy, and what enforce would have done logged", async () => {
  await world({
    policy: policyText("testing", ["mx.example.test"]),
    mx: [{ name: "mx.example.test", address: "127.0.0.1", cert: "wrong-name" }],
  }, async (w) => {
    await submit(w.serve(), "ann@a.test", ["bob@example.test"], "one");
    const got = await within(w.mxs[0]!.nextMessage(), "the message");
    assert.equal(got.tls, true); // opportunistic: the certificate is not checked
    await w.serve().waitForLog('"MTA-STS delivery"');
    const [line] = logLines(w.serve(), "MTA-STS delivery");
    assert.equal(line?.mode, "testing");
    assert.equal(line?.result, "certificate-host-mismatch");
    assert.match(String(line?.detail), /delivered anyway \(testing mode\)/);
  });
});

Deno.test("routes are not subject to MTA-STS", async () => {
  // A --route to a host without STARTTLS: delivered in the clear, no policy looked up.
  const dns = await startDnsServer({
    "_mta-sts.example.test": { txt: ["v=STSv1; id=one;"], ttl: 0 },
    "mta-sts.example.test": { a: ["127.0.0.1"] },
  });
  const policy = await startPolicyHost({ body: ENFORCE });
  const mx = await startMx();
  const dir = await dataWithUsers(["ann@a.test"]);
  const serve = await serveDomain(dir, "a.test", [
    "--dns",
    dns.address,
    "--route",
    `example.test=127.0.0.1:${mx.port}`,
    "--outbound-ca",
    fixture("ca.pem"),
    "--mta-sts-port",
    String(policy.port),
  ]);
  try {
    await submit(serve, "ann@a.test", ["bob@example.test"], "routed");
    assert.equal((await within(mx.nextMessage(), "the routed message")).tls, false);
    assert.deepEqual(policy.requests, []);
  } finally {
    await serve.stop();
    await mx.close();
    await policy.close();
    await dns.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("enforce: when the queue lifetime runs out, the bounce says MTA-STS", async () => {
  await world({
    policy: ENFORCE,
    mx: [{ name: "mx.example.test", address: "127.0.0.1" }],
    extra: ["--queue-lifetime", "1"],
  }, async (w) => {
    await submit(w.serve(), "ann@a.test", ["bob@example.test"], "one");
    await w.serve().waitForLog('"Expired"');
    const bounce = await waitFor("the bounce", async () => {
      const m = await storedMessages(w.dir, "ann@a.test");
      return m.length === 1 && new TextDecoder().decode(m[0]);
    });
    assert.match(bounce, /MTA-STS policy of example\.test \(enforce\)/);
    assert.match(bounce, /Status: 4\.4\.7/);
    assert.deepEqual(w.mxs[0]!.received, []);
  });
});
