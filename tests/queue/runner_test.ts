/** The runner against a real store, with the network replaced by a scripted deliver(). */
import assert from "node:assert/strict";
import type { DeliverFn } from "../../src/queue/runner.ts";
import { QueueRunner } from "../../src/queue/runner.ts";
import type { Route } from "../../src/queue/route.ts";
import type { RecipientResult } from "../../src/client/deliver.ts";
import type { Store } from "../../src/store/mod.ts";
import { message, withStore } from "../store/_helpers.ts";

const hops = {
  route(domain: string): Promise<Route> {
    return Promise.resolve({ kind: "hops", hops: [{ host: `mx.${domain}`, port: 25 }], via: "mx" });
  },
};

function runner(
  store: Store,
  deliver: DeliverFn,
  extra: Partial<ConstructorParameters<typeof QueueRunner>[0]> = {},
) {
  return new QueueRunner({
    store,
    router: hops,
    hostname: "mx.a.test",
    localDomains: ["a.test"],
    schedule: {
      minBackoffMs: 60_000,
      maxBackoffMs: 600_000,
      lifetimeMs: 86_400_000,
      delayWarningMs: 0,
    },
    concurrency: 10,
    concurrencyPerDestination: 10,
    pollMs: 20,
    deliver,
    ...extra,
  });
}

const result = (
  recipient: string,
  status: RecipientResult["status"],
  code: number,
): RecipientResult => ({
  recipient,
  status,
  text: `RCPT TO:<${recipient}>: ${code} reply`,
  reply: { code, enhanced: undefined, lines: ["reply"] },
  hop: "mx.remote.test:25",
});

async function until(what: string, f: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!f()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("recipients are grouped by message and domain; results are per recipient", () =>
  withStore(async (store) => {
    store.deliver(message("M1", [], undefined, {
      sender: "ann@a.test",
      relay: ["b1@one.test", "b2@one.test", "c@two.test"],
    }));
    const calls: string[][] = [];
    const r = runner(store, (envelope) => {
      calls.push([...envelope.recipients]);
      return Promise.resolve(
        envelope.recipients.map((x) =>
          x === "b2@one.test" ? result(x, "deferred", 451) : result(x, "sent", 250)
        ),
      );
    });
    r.start();
    await until("two transactions", () => calls.length === 2 && r.active === 0);
    await r.stop(1000);
    assert.deepEqual(calls.sort(), [["b1@one.test", "b2@one.test"], ["c@two.test"]]);
    const left = store.queueList();
    assert.deepEqual(left.map((e) => [e.recipient, e.attempts, e.lastReply]), [
      ["b2@one.test", 1, "RCPT TO:<b2@one.test>: 451 reply"],
    ]);
    assert.ok(left[0]!.nextAttempt >= Date.now() + 40_000);
  }));

Deno.test("a refused recipient bounces to a remote sender through the queue, from <>", () =>
  withStore(async (store) => {
    store.deliver(
      message("M2", [], undefined, { sender: "zoe@remote.test", relay: ["x@one.test"] }),
    );
    const r = runner(store, (envelope) =>
      Promise.resolve(
        envelope.sender === ""
          ? [] // the bounce's own delivery: leave it queued
          : envelope.recipients.map((x) => result(x, "refused", 550)),
      ));
    r.start();
    await until("the bounce queued", () => store.queueList().some((e) => e.sender === ""));
    await r.stop(1000);
    const [bounce] = store.queueList().filter((e) => e.sender === "");
    assert.equal(bounce?.recipient, "zoe@remote.test");
    assert.ok(!store.queueList().some((e) => e.recipient === "x@one.test"));
  }));

Deno.test("a stored message with more than 100 Received fields is not sent on: it bounces 5.4.6", () =>
  withStore(async (store) => {
    const looping = "Received: from x by y; Sat, 28 Nov 2026 12:00:00 +0000\r\n".repeat(101) +
      "Subject: loop\r\n\r\nbody\r\n";
    store.deliver(message("M9", [], looping, { sender: "zoe@remote.test", relay: ["x@one.test"] }));
    const sent: string[] = [];
    const r = runner(store, (envelope) => {
      if (envelope.sender !== "") sent.push(...envelope.recipients);
      return Promise.resolve([]); // the bounce's own delivery: leave it queued
    });
    r.start();
    await until("the bounce queued", () => store.queueList().some((e) => e.sender === ""));
    await r.stop(1000);
    assert.deepEqual(sent, []);
    const [bounce] = store.queueList().filter((e) => e.sender === "");
    const text = new TextDecoder().decode(store.messageBytes(bounce!.messageRowId));
    assert.match(text, /Status: 5\.4\.6\r\n/);
    assert.match(text, /mail loop \(RFC 5321 §6\.3\)/);
  }));

Deno.test("a message from <> is never bounced", () =>
  withStore(async (store) => {
    store.deliver(message("M3", [], undefined, { sender: "", relay: ["x@one.test"] }));
    let calls = 0;
    const r = runner(store, (envelope) => {
      calls++;
      return Promise.resolve(envelope.recipients.map((x) => result(x, "refused", 550)));
    });
    r.start();
    await until("the attempt", () => calls === 1 && store.queueList().length === 0);
    await r.stop(1000);
    assert.deepEqual(store.queueList(), []);
    assert.deepEqual(store.mailboxes(), []);
  }));

Deno.test("concurrency limits hold, in total and per destination; no row runs twice", () =>
  withStore(async (store) => {
    for (let i = 0; i < 12; i++) {
      store.deliver(message(`C${i}`, [], undefined, {
        sender: "ann@a.test",
        relay: [`u${i}@d${i % 3}.test`],
      }));
    }
    let active = 0;
    let most = 0;
    const perDomain = new Map<string, number>();
    let mostPerDomain = 0;
    const attempted = new Set<string>();
    const r = runner(store, async (envelope) => {
      const domain = envelope.recipients[0]!.split("@")[1]!;
      for (const x of envelope.recipients) {
        assert.ok(!attempted.has(x), `${x} attempted twice`);
        attempted.add(x);
      }
      active++;
      perDomain.set(domain, (perDomain.get(domain) ?? 0) + 1);
      most = Math.max(most, active);
      mostPerDomain = Math.max(mostPerDomain, perDomain.get(domain)!);
      await new Promise((res) => setTimeout(res, 15));
      active--;
      perDomain.set(domain, perDomain.get(domain)! - 1);
      return envelope.recipients.map((x) => result(x, "sent", 250));
    }, { concurrency: 2, concurrencyPerDestination: 1 });
    r.start();
    await until("every delivery", () => store.queueList().length === 0);
    await r.stop(1000);
    assert.equal(attempted.size, 12);
    assert.equal(most, 2);
    assert.equal(mostPerDomain, 1);
  }));

Deno.test("stop() abandons a hanging delivery; its row stays due for the next start", () =>
  withStore(async (store) => {
    store.deliver(message("H1", [], undefined, { sender: "ann@a.test", relay: ["x@one.test"] }));
    let started = false;
    const never = Promise.withResolvers<RecipientResult[]>();
    const r = runner(store, () => {
      started = true;
      return never.promise;
    });
    r.start();
    await until("the attempt", () => started);
    assert.equal(await r.stop(20), false);
    // The delivery finishes after the stop: its result is not recorded.
    never.resolve([result("x@one.test", "sent", 250)]);
    await new Promise((res) => setTimeout(res, 10));
    const [row] = store.queueList();
    assert.equal(row?.attempts, 0);
    assert.ok(row!.nextAttempt <= Date.now());
  }));

Deno.test("one bounce per message: failures at several destinations are reported together", () =>
  withStore(async (store) => {
    store.deliver(message("B1", [], undefined, {
      sender: "ann@a.test",
      relay: ["x@one.test", "y@two.test", "z@three.test"],
    }));
    const two = Promise.withResolvers<RecipientResult[]>();
    const called = new Set<string>();
    const r = runner(store, (envelope) => {
      const domain = envelope.recipients[0]!.split("@")[1]!;
      called.add(domain);
      if (domain === "two.test") return two.promise;
      const code = domain === "one.test" ? 550 : 250;
      return Promise.resolve(
        envelope.recipients.map((x) => result(x, code === 250 ? "sent" : "refused", code)),
      );
    });
    r.start();
    await until("three transactions, two over", () => called.size === 3 && r.active === 1);
    // one.test has refused and three.test accepted; two.test has not answered yet. The failure
    // waits for the pass: no bounce yet, and its row is still queued.
    assert.deepEqual(store.list("ann@a.test"), []);
    assert.deepEqual(store.queueList().map((e) => e.recipient).sort(), [
      "x@one.test",
      "y@two.test",
    ]);
    two.resolve([result("y@two.test", "refused", 551)]);
    await until("the queue empty", () => store.queueList().length === 0 && r.active === 0);
    await r.stop(1000);
    const bounces = store.list("ann@a.test");
    assert.equal(bounces.length, 1);
    const text = new TextDecoder().decode(store.read("ann@a.test", bounces[0]!.id));
    assert.match(text, /Final-Recipient: rfc822; ?x@one\.test/);
    assert.match(text, /Final-Recipient: rfc822; ?y@two\.test/);
    assert.doesNotMatch(text, /Final-Recipient: rfc822; ?z@three\.test/);
  }));

Deno.test("a failure waiting for its pass survives a stop: the row stays due, to bounce later", () =>
  withStore(async (store) => {
    store.deliver(message("B2", [], undefined, {
      sender: "ann@a.test",
      relay: ["x@one.test", "y@two.test"],
    }));
    const never = Promise.withResolvers<RecipientResult[]>();
    const called = new Set<string>();
    const r = runner(store, (envelope) => {
      const domain = envelope.recipients[0]!.split("@")[1]!;
      called.add(domain);
      return domain === "two.test"
        ? never.promise
        : Promise.resolve([result(envelope.recipients[0]!, "refused", 550)]);
    });
    r.start();
    await until("one refused, one hanging", () => called.size === 2 && r.active === 1);
    assert.equal(await r.stop(20), false);
    never.resolve([result("y@two.test", "refused", 550)]);
    await until("the abandoned attempt over", () => r.active === 0);
    // Nothing bounced and nothing lost: both rows are due for the next start.
    assert.deepEqual(store.list("ann@a.test"), []);
    assert.deepEqual(store.queueList().map((e) => e.recipient).sort(), [
      "x@one.test",
      "y@two.test",
    ]);
  }));
