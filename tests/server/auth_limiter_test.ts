/**
 * The password-check limiter: never more than its bound at once, waiters served in arrival
 * order, a bounded queue and a bounded wait (on the test's clock); and the SMTP backend answers
 * 454 4.7.0 for an attempt the limiter turns away.
 */
import assert from "node:assert/strict";
import { AuthBusyError, AuthLimiter } from "../../src/server/auth_limiter.ts";
import { LocalBackend } from "../../src/server/local_backend.ts";
import { SmtpError } from "../../src/smtp/reply.ts";
import type { SessionContext } from "../../src/smtp/session.ts";
import { ioTurn, ManualClock } from "../_helpers/clock.ts";
import { MemorySink } from "../_helpers/memory_sink.ts";
import {
  TEST_DOMAIN,
  TEST_PASSWORD,
  TEST_USERS,
  testGuard,
  testPasswordHash,
} from "../_helpers/session_peer.ts";

/** Work the test finishes by hand, counting how many run at once. */
function gauge() {
  let now = 0;
  let peak = 0;
  const started: number[] = [];
  const finish: (() => void)[] = [];
  const job = (n: number) => () => {
    started.push(n);
    peak = Math.max(peak, ++now);
    const { promise, resolve } = Promise.withResolvers<number>();
    finish.push(() => {
      now--;
      resolve(n);
    });
    return promise;
  };
  return {
    job,
    started,
    get peak() {
      return peak;
    },
    /** Lets started jobs begin, finishes the oldest, then lets the next ones start. */
    async finishOne() {
      await ioTurn();
      finish.shift()!();
      await ioTurn();
    },
  };
}

Deno.test("auth limiter: never more than its bound at once, and every job runs in arrival order", async () => {
  for (const concurrency of [1, 2, 3]) {
    const g = gauge();
    const limiter = new AuthLimiter({ concurrency, maxWaiting: 100 }, new ManualClock().deadlines);
    const results = Array.from({ length: 20 }, (_, n) => limiter.run(g.job(n)));
    await Promise.resolve();
    assert.equal(limiter.running, concurrency);
    assert.equal(limiter.waiting, 20 - concurrency);
    for (let i = 0; i < 20; i++) {
      assert.ok(g.peak <= concurrency, `${g.peak} at once with a bound of ${concurrency}`);
      await g.finishOne();
    }
    assert.deepEqual(await Promise.all(results), [...Array(20).keys()]);
    assert.deepEqual(g.started, [...Array(20).keys()]);
    assert.equal(g.peak, concurrency);
    assert.equal(limiter.running, 0);
    assert.equal(limiter.waiting, 0);
  }
});

Deno.test("auth limiter: one more than the queue holds is refused at once", async () => {
  const g = gauge();
  const limiter = new AuthLimiter({ concurrency: 1, maxWaiting: 2 }, new ManualClock().deadlines);
  const ok = [limiter.run(g.job(0)), limiter.run(g.job(1)), limiter.run(g.job(2))];
  await assert.rejects(
    limiter.run(g.job(3)),
    (e) => e instanceof AuthBusyError && e.reason === "queue full",
  );
  assert.deepEqual(g.started, [0]);
  for (let i = 0; i < 3; i++) await g.finishOne();
  assert.deepEqual(await Promise.all(ok), [0, 1, 2]);
  // Room again once the queue drained.
  const again = limiter.run(g.job(4));
  await g.finishOne();
  assert.equal(await again, 4);
});

Deno.test("auth limiter: an attempt that waited past the limit is refused; the rest go on", async () => {
  const clock = new ManualClock();
  const g = gauge();
  const limiter = new AuthLimiter(
    { concurrency: 1, maxWaiting: 10, waitMs: 30_000 },
    clock.deadlines,
  );
  const first = limiter.run(g.job(0));
  const early = limiter.run(g.job(1));
  clock.advance(20_000);
  const late = limiter.run(g.job(2));
  clock.advance(10_000);
  await assert.rejects(early, (e) => e instanceof AuthBusyError && e.reason === "wait timeout");
  assert.equal(limiter.waiting, 1);
  await g.finishOne();
  assert.equal(await first, 0);
  // The timed-out waiter gave its place up: the next in line runs.
  assert.deepEqual(g.started, [0, 2]);
  clock.advance(60_000); // a waiter that got its turn no longer times out
  await g.finishOne();
  assert.equal(await late, 2);
  assert.equal(clock.deadlines.size, 0);
});

Deno.test("auth limiter: a job that throws frees its turn", async () => {
  const limiter = new AuthLimiter({ concurrency: 1 }, new ManualClock().deadlines);
  const failing = limiter.run(() => Promise.reject(new Error("boom")));
  const throwing = limiter.run(() => {
    throw new Error("sync boom");
  });
  const after = limiter.run(() => Promise.resolve("ran"));
  await assert.rejects(failing, /boom/);
  await assert.rejects(throwing, /sync boom/);
  assert.equal(await after, "ran");
  assert.equal(limiter.running, 0);
});

Deno.test("auth limiter: check tells the right password from a wrong one, and tells the guard", async () => {
  const limiter = new AuthLimiter({ concurrency: 1 }, new ManualClock().deadlines);
  const guard = testGuard(2);
  const hash = await testPasswordHash();
  assert.deepEqual(await limiter.check(guard, "192.0.2.1", TEST_PASSWORD, hash), { kind: "ok" });
  assert.deepEqual(await limiter.check(guard, "192.0.2.1", "wrong", hash), {
    kind: "wrong",
    delayMs: 0,
    locked: false,
  });
  // No such user: a hash all the same, and a failure.
  assert.deepEqual(await limiter.check(guard, "192.0.2.1", TEST_PASSWORD, undefined), {
    kind: "wrong",
    delayMs: 0,
    locked: true,
  });
  assert.deepEqual(await limiter.check(guard, "192.0.2.1", TEST_PASSWORD, hash), {
    kind: "locked",
  });
  assert.equal(limiter.running, 0);
});

function context(address: string): SessionContext {
  return {
    client: { address, port: 40000 },
    helo: "client.test",
    role: "submission",
    tls: true,
    authUser: undefined,
  };
}

Deno.test("SMTP AUTH: attempts past the limiter's bound get 454 4.7.0, the rest 535, and a login works after", async () => {
  const sink = new MemorySink(TEST_USERS);
  const hash = await testPasswordHash();
  for (const u of TEST_USERS) sink.passwords.set(u, hash);
  const limiter = new AuthLimiter({ concurrency: 1, maxWaiting: 2 }, new ManualClock().deadlines);
  const backend = new LocalBackend(
    sink,
    { domains: [TEST_DOMAIN], catchAll: false },
    testGuard(),
    undefined,
    undefined,
    limiter,
  );
  // Ten clients at once: one checked, two waiting, seven turned away without a hash.
  const outcomes = await Promise.all(
    Array.from(
      { length: 10 },
      (_, i) =>
        backend.authenticate("alice@example.test", "wrong", context(`192.0.2.${i + 1}`)).then(
          () => "235",
          (e) => (e instanceof SmtpError ? e.toReply() : e),
        ),
    ),
  );
  const codes = outcomes.map((r) => `${r.code} ${r.enhanced}`);
  assert.deepEqual(codes.filter((c) => c === "535 5.7.8").length, 3, codes.join(", "));
  assert.deepEqual(codes.filter((c) => c === "454 4.7.0").length, 7, codes.join(", "));
  assert.equal(
    outcomes.find((r) => r.code === 454)?.lines[0],
    "Temporary authentication failure",
  );
  assert.equal(limiter.running, 0);
  assert.equal(
    await backend.authenticate("alice@example.test", TEST_PASSWORD, context("192.0.2.1")),
    "alice@example.test",
  );
});

Deno.test("SMTP AUTH: a client locked out while it waited is refused without its check", async () => {
  const sink = new MemorySink(TEST_USERS);
  sink.passwords.set("alice@example.test", await testPasswordHash());
  const limiter = new AuthLimiter({ concurrency: 1 }, new ManualClock().deadlines);
  const backend = new LocalBackend(
    sink,
    { domains: [TEST_DOMAIN], catchAll: false },
    testGuard(2),
    undefined,
    undefined,
    limiter,
  );
  // Three tries from one /64 at once: the first two fail and lock it out, so the third, though
  // it has the right password, is refused when its turn comes, before its hash.
  const tries = [["wrong", "2001:db8::1"], ["wrong", "2001:db8::2"], [TEST_PASSWORD, "2001:db8::3"]]
    .map(([pw, address]) =>
      backend.authenticate("alice@example.test", pw!, context(address!)).then(
        () => "235",
        (e) => `${e.code} ${e.enhanced}`,
      )
    );
  assert.deepEqual(await Promise.all(tries), ["535 5.7.8", "421 4.7.0", "421 4.7.0"]);
});
