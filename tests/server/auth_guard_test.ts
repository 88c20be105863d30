/**
 * The AUTH guard counts failures per client: an IPv4 address, or an IPv6 /64 (one host may use
 * any address of its /64). Time comes from the test's clock.
 */
import assert from "node:assert/strict";
import { AuthGuard, clientKey, DEFAULT_AUTH_GUARD } from "../../src/server/auth_guard.ts";

function guardAt(start = 1_000_000) {
  let now = start;
  const guard = new AuthGuard({
    ...DEFAULT_AUTH_GUARD,
    maxFailures: 3,
    windowMs: 60_000,
    lockoutMs: 600_000,
    now: () => now,
  });
  return { guard, advance: (ms: number) => (now += ms) };
}

Deno.test("clientKey: IPv4 as is, IPv4-mapped as IPv4, IPv6 by its /64", () => {
  const cases: [string, string][] = [
    ["192.0.2.7", "192.0.2.7"],
    ["::ffff:192.0.2.7", "192.0.2.7"],
    ["::FFFF:192.0.2.7", "192.0.2.7"],
    ["::ffff:c000:207", "192.0.2.7"],
    ["0:0:0:0:0:ffff:192.0.2.7", "192.0.2.7"],
    ["2001:db8:1:2::1", "2001:db8:1:2::/64"],
    ["2001:DB8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"],
    ["2001:0db8:0001:0002:ffff:0:0:1", "2001:db8:1:2::/64"],
    ["[2001:db8:1:2::9]", "2001:db8:1:2::/64"],
    ["fe80::1%eth0", "fe80:0:0:0::/64"],
    ["2001:db8::", "2001:db8:0:0::/64"],
    ["::1", "0:0:0:0::/64"],
    ["::", "0:0:0:0::/64"],
    // An IPv4-compatible (not mapped) tail stays IPv6.
    ["::192.0.2.7", "0:0:0:0::/64"],
    ["64:ff9b::192.0.2.7", "64:ff9b:0:0::/64"],
    ["unknown", "unknown"],
    ["", ""],
  ];
  for (const [address, key] of cases) assert.equal(clientKey(address), key, address);
});

Deno.test("auth guard: failures from addresses of one IPv6 /64 lock out the whole /64", () => {
  const { guard } = guardAt();
  assert.equal(guard.fail("2001:db8:1:2::1").locked, false);
  assert.equal(guard.fail("2001:db8:1:2:aaaa::2").locked, false);
  // Each guess from a fresh address of the same /64 still counts against it.
  assert.equal(guard.fail("2001:db8:1:2:ffff:ffff:ffff:ffff").locked, true);
  assert.equal(guard.isLocked("2001:db8:1:2::1234"), true);
  // The next /64 is another client.
  assert.equal(guard.isLocked("2001:db8:1:3::1"), false);
  assert.equal(guard.fail("2001:db8:1:3::1").locked, false);
});

Deno.test("auth guard: IPv4 counts per address, and its IPv4-mapped form is the same address", () => {
  const { guard } = guardAt();
  guard.fail("198.51.100.1");
  guard.fail("198.51.100.2");
  assert.equal(guard.isLocked("198.51.100.1"), false);
  guard.fail("::ffff:198.51.100.1");
  assert.equal(guard.fail("198.51.100.1").locked, true);
  assert.equal(guard.isLocked("::ffff:198.51.100.1"), true);
  assert.equal(guard.isLocked("198.51.100.2"), false);
  assert.equal(guard.isLocked("198.51.100.3"), false);
});

Deno.test("auth guard: failures leave the window and lockouts end, on the guard's clock", () => {
  const { guard, advance } = guardAt();
  guard.fail("2001:db8::1");
  guard.fail("2001:db8::2");
  advance(60_001);
  // The first two left the 60 s window: this is the first failure again.
  assert.equal(guard.fail("2001:db8::3").locked, false);
  guard.fail("2001:db8::4");
  assert.equal(guard.fail("2001:db8::5").locked, true);
  advance(599_999);
  assert.equal(guard.isLocked("2001:db8::6"), true);
  advance(1);
  assert.equal(guard.isLocked("2001:db8::6"), false);
});

Deno.test("auth guard: a success from the /64 clears its failures, but not a lockout", () => {
  const { guard } = guardAt();
  guard.fail("2001:db8:5::1");
  guard.fail("2001:db8:5::2");
  guard.succeed("2001:db8:5::3");
  assert.equal(guard.fail("2001:db8:5::1").locked, false);
  guard.fail("2001:db8:5::1");
  assert.equal(guard.fail("2001:db8:5::1").locked, true);
  guard.succeed("2001:db8:5::7");
  assert.equal(guard.isLocked("2001:db8:5::1"), true);
});

Deno.test("auth guard: the delay doubles per failure of the client, up to the cap", () => {
  let now = 0;
  const guard = new AuthGuard({ ...DEFAULT_AUTH_GUARD, maxFailures: 100, now: () => now });
  const delays = ["2001:db8::a", "2001:db8::b", "2001:db8::c", "2001:db8::d", "2001:db8::e"]
    .map((a) => guard.fail(a).delayMs);
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000]);
  assert.equal(guard.fail("2001:db8::f").delayMs, 8000);
  now += 1;
  assert.equal(guard.fail("2001:db9::a").delayMs, 500);
});
