import assert from "node:assert/strict";
import {
  backoff,
  expired,
  JITTER,
  nextAttempt,
  type Schedule,
  warningDue,
} from "../../src/queue/schedule.ts";

const POSTFIX: Schedule = {
  minBackoffMs: 300_000,
  maxBackoffMs: 4_000_000,
  lifetimeMs: 5 * 86_400_000,
  delayWarningMs: 4 * 3_600_000,
};
const middle = () => 0.5; // no jitter
const low = () => 0;
const high = () => 0.999999;

Deno.test("backoff doubles from the minimum and stops at the maximum", () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 100].map((n) => backoff(n, POSTFIX, middle)),
    [300_000, 600_000, 1_200_000, 2_400_000, 4_000_000, 4_000_000, 4_000_000],
  );
});

Deno.test("jitter moves the backoff by at most ±20%, never above the maximum", () => {
  assert.equal(backoff(1, POSTFIX, low), 300_000 * (1 - JITTER));
  assert.ok(Math.abs(backoff(1, POSTFIX, high) - 300_000 * (1 + JITTER)) < 1);
  assert.equal(backoff(10, POSTFIX, high), 4_000_000);
  for (let i = 0; i < 200; i++) {
    const b = backoff(3, POSTFIX);
    assert.ok(b >= 960_000 && b <= 1_440_000, String(b));
  }
});

Deno.test("the next attempt never lies past the expiry; expiry and warnings", () => {
  const created = 1_000_000;
  const now = created + POSTFIX.lifetimeMs - 1000;
  assert.equal(nextAttempt(9, now, created, POSTFIX, middle), created + POSTFIX.lifetimeMs);
  assert.equal(nextAttempt(1, created, created, POSTFIX, middle), created + 300_000);
  assert.equal(expired(created, created + POSTFIX.lifetimeMs - 1, POSTFIX), false);
  assert.equal(expired(created, created + POSTFIX.lifetimeMs, POSTFIX), true);
  assert.equal(warningDue(created, created + 4 * 3_600_000 - 1, POSTFIX), false);
  assert.equal(warningDue(created, created + 4 * 3_600_000, POSTFIX), true);
  assert.equal(warningDue(created, created + 1e12, { ...POSTFIX, delayWarningMs: 0 }), false);
});
