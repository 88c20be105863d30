/**
 * The queue's configuration errors are its own (QueueConfigError, naming the setting), and
 * `mail serve` turns them into one line on stderr and exit 78 (EX_CONFIG).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../../src/config.ts";
import { QueueConfigError } from "../../src/queue/errors.ts";
import { queueRunner } from "../../src/queue/setup.ts";
import type { Store } from "../../src/store/mod.ts";
import { assertNoStackTrace, mail } from "../_helpers/mail_process.ts";

const SMARTHOST = { "route": ["*=127.0.0.1:2600"], "smarthost-user": "u" };

async function withDir<T>(f: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "mail-queue-setup-" });
  try {
    return await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The runner is never built when a setting fails, so no store is needed. */
const NO_STORE = undefined as unknown as Store;

async function setupFails(
  dir: string,
  flags: Record<string, unknown>,
  setting: string,
  re: RegExp,
) {
  const config = await loadConfig({
    dataDir: dir,
    flags,
    env: () => undefined,
    hostname: "h.test",
  });
  await assert.rejects(
    () => queueRunner(config, NO_STORE),
    (e) => e instanceof QueueConfigError && e.setting === setting && re.test(e.message),
  );
}

Deno.test("queue setup: an unusable smarthost file is a QueueConfigError naming the setting", async () => {
  await withDir(async (dir) => {
    const missing = join(dir, "missing");
    await setupFails(
      dir,
      { ...SMARTHOST, "smarthost-password-file": missing },
      "smarthost-password-file",
      /^smarthost-password-file: cannot read .*missing/,
    );
    const empty = join(dir, "empty");
    await Deno.writeTextFile(empty, "\n");
    await setupFails(
      dir,
      { ...SMARTHOST, "smarthost-password-file": empty },
      "smarthost-password-file",
      /^smarthost-password-file: .*empty is empty$/,
    );
    const notPem = join(dir, "ca.txt");
    await Deno.writeTextFile(notPem, "not a certificate\n");
    await setupFails(
      dir,
      { "route": ["*=127.0.0.1:2600"], "smarthost-ca": notPem },
      "smarthost-ca",
      /^smarthost-ca: .*ca\.txt holds no PEM certificate$/,
    );
  });
});

Deno.test("mail serve: a queue configuration error is one line on stderr and exit 78", async () => {
  await withDir(async (dir) => {
    const r = await mail([
      "serve",
      "--data",
      dir,
      "--no-tls",
      "--smtp",
      "127.0.0.1:0",
      "--submission",
      "off",
      "--imap",
      "off",
      "--pop3",
      "off",
      "--route",
      "*=127.0.0.1:2600",
      "--smarthost-user",
      "u",
      "--smarthost-password-file",
      join(dir, "missing"),
    ]);
    assert.equal(r.code, 78, r.err);
    assertNoStackTrace(r.err);
    assert.match(r.err, /^mail: smarthost-password-file: cannot read [^\n]*missing[^\n]*\n$/m);
  });
});
