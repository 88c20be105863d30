/** The queue's settings: Postfix's defaults, one name each, checked together. */
import assert from "node:assert/strict";
import { loadConfig } from "../../src/config.ts";
import { CliError } from "../../src/exit_codes.ts";

async function load(flags: Record<string, unknown>, env: Record<string, string> = {}) {
  const dir = await Deno.makeTempDir({ prefix: "mail-config-" });
  try {
    return await loadConfig({ dataDir: dir, flags, env: (k) => env[k], hostname: "host.test" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("queue settings: defaults, flags and environment", async () => {
  const d = await load({});
  assert.deepEqual(
    [d.queueMinBackoff, d.queueMaxBackoff, d.queueLifetime, d.delayWarning],
    [300, 4000, 432000, 14400],
  );
  assert.equal(d.smarthostUser, undefined);
  const c = await load({ "queue-min-backoff": "1", "relay-concurrency": "3" }, {
    MAIL_QUEUE_LIFETIME: "60",
    MAIL_DELAY_WARNING: "0",
  });
  assert.deepEqual([c.queueMinBackoff, c.queueLifetime, c.delayWarning, c.relayConcurrency], [
    1,
    60,
    0,
    3,
  ]);
});

Deno.test("queue settings are checked together", async () => {
  const fails = async (flags: Record<string, unknown>, re: RegExp) =>
    await assert.rejects(() => load(flags), (e) => e instanceof CliError && re.test(e.message));
  await fails({ "smarthost-user": "u" }, /given together/);
  await fails(
    { "smarthost-user": "u", "smarthost-password-file": "/x" },
    /needs a smarthost/,
  );
  await fails({ "smarthost-ca": "/ca.pem" }, /smarthost-ca needs a smarthost/);
  await fails({ "queue-min-backoff": "600", "queue-max-backoff": "60" }, /queue-min-backoff/);
  await fails({ "queue-lifetime": "0" }, /--queue-lifetime/);
  const ok = await load({
    "route": ["*=127.0.0.1:2600"],
    "smarthost-user": "u",
    "smarthost-password-file": "/x",
    "smarthost-ca": "/ca.pem",
  });
  assert.equal(ok.smarthostUser, "u");
  assert.equal(ok.smarthostCa, "/ca.pem");
});
