import assert from "node:assert/strict";
import { TestClock } from "./_fixtures.ts";
import { until } from "../_helpers/clock.ts";
import { Deadline, LookupCounter, ResolverHealth } from "../../src/checks/lookups.ts";

const never = () => new Promise<unknown>(() => {});
const code = (err: unknown) => (err as { code?: string }).code;

Deno.test("deadline: a lookup that never answers fails as a timeout once the budget is spent", async () => {
  const clock = new TestClock();
  const deadline = new Deadline(5000, clock);
  const resolve = new LookupCounter(50).resolver(never, deadline);
  const waiting = resolve("example.com", "TXT");
  clock.advance(4999);
  assert.equal(deadline.spent, false);
  clock.advance(1);
  await assert.rejects(waiting, (err) => code(err) === "ETIMEOUT");
  // Later lookups fail at once.
  await assert.rejects(resolve("example.org", "TXT"), (err) => code(err) === "ETIMEOUT");
  deadline.close();
});

Deno.test("deadline: closing it stops its timer", () => {
  const clock = new TestClock();
  const deadline = new Deadline(5000, clock);
  assert.equal(clock.pending, 1);
  deadline.close();
  assert.equal(clock.pending, 0);
});

Deno.test("counter: lookups past the per-message limit fail without asking", async () => {
  const clock = new TestClock();
  const deadline = new Deadline(5000, clock);
  let asked = 0;
  const counter = new LookupCounter(3);
  // Two phases of one message share the count.
  const first = counter.resolver(() => Promise.resolve([`${++asked}`]), deadline);
  const second = counter.resolver(() => Promise.resolve([`${++asked}`]), deadline);
  await first("a.example", "A");
  await first("b.example", "A");
  await second("c.example", "A");
  await assert.rejects(second("d.example", "A"), (err) => code(err) === "ELOOKUPLIMIT");
  assert.equal(asked, 3);
  deadline.close();
});

Deno.test("health: after two timeouts in a row lookups fail at once; one probe nobody waits for", async () => {
  let calls = 0;
  const pending: ((v: unknown) => void)[] = [];
  const timeouts = { on: true };
  const health = new ResolverHealth();
  const wrapped = health.wrap(() => {
    calls++;
    if (timeouts.on) return Promise.reject(Object.assign(new Error("t"), { code: "ETIMEOUT" }));
    return new Promise((r) => pending.push(r));
  });
  await assert.rejects(wrapped("a.example", "TXT"));
  assert.equal(health.down, false);
  await assert.rejects(wrapped("b.example", "TXT"));
  assert.equal(health.down, true);
  // The next lookup fails at once, but goes out as a probe; while it is out, others do not.
  timeouts.on = false;
  await assert.rejects(wrapped("c.example", "TXT"), (err) => code(err) === "ETIMEOUT");
  await assert.rejects(wrapped("d.example", "TXT"), (err) => code(err) === "ETIMEOUT");
  assert.equal(calls, 3);
  // The probe is answered: the server is back, lookups go to it and are waited for.
  pending.shift()!(["ok"]);
  await until(() => !health.down, "the probe's answer");
  const after = wrapped("e.example", "TXT");
  assert.equal(calls, 4);
  pending.shift()!(["e"]);
  assert.deepEqual(await after, ["e"]);
});

Deno.test("health: an NXDOMAIN is an answer: the server is up", async () => {
  const health = new ResolverHealth();
  let reply: "timeout" | "nx" = "timeout";
  const wrapped = health.wrap(() =>
    Promise.reject(
      Object.assign(new Error(reply), { code: reply === "nx" ? "ENOTFOUND" : "ETIMEOUT" }),
    )
  );
  await assert.rejects(wrapped("a.example", "A"));
  reply = "nx";
  await assert.rejects(wrapped("b.example", "A"), (err) => code(err) === "ENOTFOUND");
  reply = "timeout";
  await assert.rejects(wrapped("c.example", "A"));
  assert.equal(health.down, false);
});
