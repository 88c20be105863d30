/** Configuration: defaults, then TOML, then environment, then flags; errors name the key. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../src/config.ts";
import { CliError } from "../src/exit_codes.ts";
import { mail } from "./_helpers/mail_process.ts";
import { startLiveServer } from "./_helpers/live_server.ts";
import { LineSocket } from "./_helpers/smtp_socket.ts";

async function load(
  toml: string | undefined,
  env: Record<string, string>,
  flags: Record<string, unknown>,
) {
  const dir = await Deno.makeTempDir({ prefix: "mail-config-" });
  if (toml !== undefined) await Deno.writeTextFile(join(dir, "mail.toml"), toml);
  try {
    return await loadConfig({ dataDir: dir, flags, env: (k) => env[k], hostname: "host.test" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("config: the embedded defaults", async () => {
  const c = await load(undefined, {}, {});
  assert.equal(c.hostname, "host.test");
  assert.deepEqual(c.domains, ["localhost"]);
  assert.equal(c.catchAll, false);
  assert.deepEqual(c.smtp, { host: "127.0.0.1", port: 2525 });
  assert.deepEqual(c.submission, { host: "127.0.0.1", port: 2587 });
  assert.equal(c.smtps, undefined);
  assert.equal(c.mxPort, 25);
  assert.equal(c.maxSize, 26214400);
  assert.equal(c.commandTimeout, 300);
  assert.equal(c.dataTimeout, 600);
  assert.equal(c.greetWait, 0);
  assert.equal(c.authDelay, 0.5);
  assert.equal(c.logFormat, "pretty");
  assert.ok(Object.isFrozen(c));
});

Deno.test("config: every duration is in seconds, fractions to the millisecond", async () => {
  assert.equal((await load("greet-wait = 0.5\n", {}, {})).greetWait, 0.5);
  assert.equal((await load(undefined, { MAIL_GREET_WAIT: "1.25" }, {})).greetWait, 1.25);
  assert.equal((await load(undefined, {}, { "greet-wait": "6" })).greetWait, 6);
  assert.equal((await load("timeout = 90.5\n", {}, {})).commandTimeout, 90.5);
  const cases: [string, RegExp][] = [
    // 500 was half a second when greet-wait was in milliseconds: now it would be 8 minutes.
    ["greet-wait = 500", /greet-wait: must be between 0 and 30 seconds, got 500 \(in seconds/],
    ["greet-wait = 31", /greet-wait: must be between 0 and 30 seconds/],
    ["greet-wait = -1", /greet-wait: must be between 0 and 30 seconds/],
    ["greet-wait = 0.0005", /greet-wait: must be a whole number of milliseconds/],
    ["greet-wait = 'soon'", /greet-wait: expected a number of seconds, got "soon"/],
    ["timeout = 0.5", /timeout: must be between 1 and 86400 seconds/],
  ];
  for (const [toml, pattern] of cases) {
    await assert.rejects(load(`${toml}\n`, {}, {}), (err: unknown) => {
      assert.ok(err instanceof CliError, String(err));
      assert.equal(err.exitCode, 78);
      assert.match(err.message, pattern);
      return true;
    });
  }
  await assert.rejects(
    load(undefined, { MAIL_GREET_WAIT: "500" }, {}),
    /^CliError: MAIL_GREET_WAIT: must be between 0 and 30 seconds, got 500 \(in seconds/,
  );
});

Deno.test("greet-wait is seconds on the wire: speaking after the first line is too early", async () => {
  // A bot that answers the greeting's first line at once is still inside a 1-second gap; were
  // the value taken as milliseconds, the whole greeting would have gone out long before.
  const live = await startLiveServer({ greetWait: 1 });
  try {
    const bot = await LineSocket.connect(live.port);
    assert.match((await bot.readLine())!, /^220-/);
    await bot.send("EHLO bot.test\r\n");
    assert.equal(await bot.readLine(), "554 mx.test Early talker: wait for the greeting");
    bot.close();
  } finally {
    await live.close();
  }
});

Deno.test("mail serve --check: greet-wait = 500 (milliseconds once) exits 78 naming the unit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mail-config-" });
  try {
    await Deno.writeTextFile(join(dir, "mail.toml"), "greet-wait = 500\n");
    const r = await mail(
      [
        "serve",
        "--check",
        "--data",
        dir,
        "--smtp",
        "127.0.0.1:0",
        "--submission",
        "off",
        "--imap",
        "off",
        "--pop3",
        "off",
      ],
    );
    assert.equal(r.code, 78, r.out + r.err);
    assert.equal(r.err.trim().split("\n").length, 1, r.err);
    assert.match(
      r.err,
      /^mail: .*mail\.toml: greet-wait: must be between 0 and 30 seconds, got 500/,
    );
    assert.match(r.err, /in seconds, not milliseconds/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config: file, then environment, then flags", async () => {
  const toml =
    'hostname = "file.test"\ndomain = ["a.test", "B.test"]\nmax-size = 5000\ncatch-all = true\n' +
    'route = ["x.test=127.0.0.1:2600"]\nsmtp = "0.0.0.0:25"\n';
  const fromFile = await load(toml, {}, {});
  assert.equal(fromFile.hostname, "file.test");
  assert.deepEqual(fromFile.domains, ["a.test", "b.test"]);
  assert.equal(fromFile.maxSize, 5000);
  assert.equal(fromFile.catchAll, true);
  assert.deepEqual(fromFile.routes.get("x.test"), { host: "127.0.0.1", port: 2600 });

  const fromEnv = await load(toml, { MAIL_MAX_SIZE: "6000", MAIL_DOMAIN: "c.test,d.test" }, {});
  assert.equal(fromEnv.maxSize, 6000);
  assert.deepEqual(fromEnv.domains, ["c.test", "d.test"]);
  assert.equal(fromEnv.hostname, "file.test");

  const fromFlags = await load(toml, { MAIL_MAX_SIZE: "6000" }, {
    "max-size": "7000",
    "submission": "off",
  });
  assert.equal(fromFlags.maxSize, 7000);
  assert.equal(fromFlags.submission, undefined);
  assert.deepEqual(fromFlags.smtp, { host: "0.0.0.0", port: 25 });
});

Deno.test("config: every bad input stops start-up naming the key (exit 78)", async () => {
  const cases: [string | undefined, Record<string, string>, Record<string, unknown>, RegExp][] = [
    ["domian = ['x.test']\n", {}, {}, /unknown key "domian"/],
    ["max-size = 'big'\n", {}, {}, /max-size: expected an integer/],
    ["max-size = 10\n", {}, {}, /max-size: must be between/],
    ["smtp = 'nowhere'\n", {}, {}, /smtp: expected HOST:PORT/],
    ["this is not toml", {}, {}, /invalid TOML/],
    [undefined, { MAIL_CATCH_ALL: "maybe" }, {}, /MAIL_CATCH_ALL: expected true or false/],
    [undefined, {}, { "log-format": "xml" }, /--log-format: expected one of pretty, json/],
    [undefined, {}, { "domain": ["bad..domain"] }, /--domain: "bad..domain"/],
    [undefined, {}, { "route": ["nohost"] }, /--route: expected DOMAIN=HOST:PORT/],
    [undefined, {}, { "max-recipients": "50" }, /max-recipients: must be between 100/],
    [undefined, {}, { "tls-cert": "/x.pem" }, /tls-cert and tls-key must be given together/],
    [
      undefined,
      {},
      { "smtp": "off", "submission": "off", "imap": "off", "pop3": "off" },
      /No listener/,
    ],
    [undefined, {}, { "pop3-autologout": "60" }, /pop3-autologout: must be between 600/],
    [undefined, {}, { "imaps": "127.0.0.1:993", "no-tls": true }, /imaps needs TLS/],
    [undefined, {}, { "imap-autologout": "60" }, /imap-autologout: must be between 1800/],
  ];
  for (const [toml, env, flags, pattern] of cases) {
    await assert.rejects(load(toml, env, flags), (err: unknown) => {
      assert.ok(err instanceof CliError, String(err));
      assert.equal(err.exitCode, 78);
      assert.match(err.message, pattern);
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
  }
});

Deno.test("mail serve with a bad config: one line on stderr, exit 78, no stack trace", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mail-config-" });
  try {
    await Deno.writeTextFile(join(dir, "mail.toml"), "max-size = -1\n");
    const r = await mail(["serve", "--data", dir]);
    assert.equal(r.code, 78);
    assert.equal(r.err.trim().split("\n").length, 1, r.err);
    assert.match(r.err, /^mail: .*max-size: must be between/);
    const explicit = await mail(["serve", "--data", dir, "--config", join(dir, "missing.toml")]);
    assert.equal(explicit.code, 78);
    assert.match(explicit.err, /Cannot read config file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mail serve: a port in use is a one-line error, exit 69", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mail-config-" });
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const r = await mail([
      "serve",
      "--data",
      dir,
      "--smtp",
      `127.0.0.1:${busy.addr.port}`,
      "--submission",
      "off",
      "--imap",
      "off",
      "--pop3",
      "off",
    ]);
    assert.equal(r.code, 69);
    assert.match(r.err, /Cannot listen on 127\.0\.0\.1:\d+ \(smtp\): EADDRINUSE/);
  } finally {
    busy.close();
    await Deno.remove(dir, { recursive: true });
  }
});
