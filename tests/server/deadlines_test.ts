/** The shared deadline sweeper: one timer for every connection, running only while it has any. */
import assert from "node:assert/strict";
import { DeadlineSweeper } from "../../src/server/deadlines.ts";
import { bounded, ManualClock } from "../_helpers/clock.ts";

Deno.test("deadlines: every member is told the time at each sweep, and the timer stops with the last", async () => {
  const sweeper = new DeadlineSweeper();
  const start = Date.now();
  const seen: string[] = [];
  const { promise, resolve } = Promise.withResolvers<number>();
  const a = { sweep: () => void seen.push("a") };
  const b = {
    sweep(now: number) {
      seen.push("b");
      // A member that leaves during its own sweep (its socket destroyed) is allowed to.
      sweeper.delete(b);
      resolve(now);
    },
  };
  // The sweeper's timer never keeps the process alive (sockets do, in the server): this does.
  const alive = setTimeout(() => {}, 60_000);
  sweeper.add(a);
  sweeper.add(b);
  const now = await bounded(promise, "the first sweep");
  clearTimeout(alive);
  assert.ok(now >= start);
  assert.deepEqual(seen, ["a", "b"]);
  assert.equal(sweeper.size, 1);
  sweeper.delete(a);
  assert.equal(sweeper.size, 0);
  // Deno's sanitizer fails this test if the interval were still armed.
});

Deno.test("deadlines: once runs its action at the first sweep past the time, and only once", async () => {
  const sweeper = new DeadlineSweeper();
  const alive = setTimeout(() => {}, 60_000);
  const fired: string[] = [];
  const { promise, resolve } = Promise.withResolvers<void>();
  // Cancelled before it is due: never runs.
  const cancel = sweeper.once(Date.now(), () => fired.push("cancelled"));
  cancel();
  const later = sweeper.once(Date.now() + 60_000, () => fired.push("later"));
  sweeper.once(Date.now(), () => {
    fired.push("due");
    resolve();
  });
  assert.equal(sweeper.size, 2);
  await bounded(promise, "the due deadline");
  clearTimeout(alive);
  assert.deepEqual(fired, ["due"]);
  // The one that ran has left; the one not yet due is still waiting.
  assert.equal(sweeper.size, 1);
  later();
  assert.equal(sweeper.size, 0);
});

Deno.test("deadlines: members read the sweeper's clock, and a test's clock fires them without waiting", () => {
  const clock = new ManualClock(1_000);
  const fired: number[] = [];
  const cancel = clock.deadlines.once(clock.now() + 500, () => fired.push(clock.now()));
  const seen: number[] = [];
  const member = { sweep: (now: number) => void seen.push(now) };
  clock.deadlines.add(member);
  clock.advance(499);
  assert.deepEqual(fired, []);
  clock.advance(1);
  assert.deepEqual(fired, [1_500]);
  assert.deepEqual(seen, [1_499, 1_500]);
  assert.equal(clock.deadlines.now(), 1_500);
  cancel();
  clock.deadlines.delete(member);
  assert.equal(clock.deadlines.size, 0);
});

Deno.test("deadlines: as a client clock, a timer fires at the first sweep past its time; a cancelled one never", () => {
  const clock = new ManualClock(1_000);
  const timers = clock.deadlines.clientClock();
  assert.equal(timers.now(), 1_000);
  const fired: string[] = [];
  timers.after(5_000, () => fired.push("budget"));
  const cancel = timers.after(5_000, () => fired.push("cancelled"));
  cancel();
  clock.advance(4_999);
  assert.deepEqual(fired, []);
  clock.advance(1);
  assert.deepEqual(fired, ["budget"]);
  clock.advance(10_000);
  assert.deepEqual(fired, ["budget"]);
  assert.equal(clock.deadlines.size, 0);
});
