/** `mail serve --check`: exits 0 on a good configuration, and names the problem otherwise. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assertNoStackTrace, mail } from "../_helpers/mail_process.ts";
import { withTempDir } from "./_helpers.ts";

const TLS = new URL("../fixtures/tls/", import.meta.url);
const CERT = fileURLToPath(new URL("cert.pem", TLS));
const KEY = fileURLToPath(new URL("key.pem", TLS));
const FREE = [
  "--smtp",
  "127.0.0.1:0",
  "--submission",
  "127.0.0.1:0",
  "--smtps",
  "127.0.0.1:0",
  "--imap",
  "127.0.0.1:0",
  "--pop3",
  "127.0.0.1:0",
];

async function check(dir: string, args: string[] = []) {
  const r = await mail(["serve", "--check", "--data", dir, ...args]);
  assertNoStackTrace(r.err);
  return r;
}

Deno.test("serve --check: a good configuration file exits 0 and starts nothing", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(
      join(dir, "mail.toml"),
      [
        `hostname = "mx.example.test"`,
        `domain = ["example.test"]`,
        `smtp = "127.0.0.1:0"`,
        `submission = "127.0.0.1:0"`,
        `smtps = "127.0.0.1:0"`,
        `tls-cert = ${JSON.stringify(CERT)}`,
        `tls-key = ${JSON.stringify(KEY)}`,
      ].join("\n"),
    );
    const r = await check(dir);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^config +.*mail\.toml$/m);
    assert.match(r.out, /^tls +certificate .*cert\.pem: .*expires \d{4}-/m);
    assert.match(r.out, /^smtps +127\.0\.0\.1:0 \(free\)$/m);
    assert.match(r.out, /^ok /m);
    // Nothing was created: no database, no generated certificate.
    const names = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name);
    assert.deepEqual(names, ["mail.toml"]);
  });
});

Deno.test("serve --check: defaults in a fresh directory say what start-up will create", async () => {
  await withTempDir(async (tmp) => {
    const dir = join(tmp, "new-data");
    const r = await check(dir, FREE);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /does not exist yet; created on start/);
    assert.match(r.out, /self-signed one for .* is generated/);
    await assert.rejects(Deno.stat(dir), Deno.errors.NotFound);
  });
});

Deno.test("serve --check: an unknown key in the TOML file exits 78 naming it", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "mail.toml"), `hostname = "mx.test"\nmax-szie = 1000\n`);
    const r = await check(dir, FREE);
    assert.equal(r.code, 78);
    assert.match(r.err, /^mail: .*mail\.toml: unknown key "max-szie"\n$/);
  });
});

Deno.test("serve --check: an unreadable or unusable certificate exits 78", async () => {
  await withTempDir(async (dir) => {
    const garbage = join(dir, "garbage.pem");
    await Deno.writeTextFile(garbage, "not a certificate\n");
    const cases: [string, string, RegExp][] = [
      [join(dir, "missing.pem"), KEY, /missing\.pem: certificate file not found/],
      [dir, KEY, /is a directory/],
      [garbage, KEY, /garbage\.pem: not a PEM certificate/],
      [CERT, garbage, /garbage\.pem: not a PEM private key/],
    ];
    if (Deno.uid() !== 0) {
      const locked = join(dir, "locked.pem");
      await Deno.copyFile(CERT, locked);
      await Deno.chmod(locked, 0o000);
      cases.push([locked, KEY, /locked\.pem: certificate file not readable/]);
    }
    for (const [cert, key, message] of cases) {
      const r = await check(dir, [...FREE, "--tls-cert", cert, "--tls-key", key]);
      assert.equal(r.code, 78, `${cert}: ${r.err}`);
      assert.match(r.err, message);
      assert.equal(r.err.trim().split("\n").length, 1, r.err);
    }
  });
});

Deno.test("serve --check: a port in use exits 69", async () => {
  await withTempDir(async (dir) => {
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const port = (taken.addr as Deno.NetAddr).port;
      const r = await check(dir, [
        "--smtp",
        `127.0.0.1:${port}`,
        "--submission",
        "127.0.0.1:0",
        "--imap",
        "off",
        "--pop3",
        "off",
      ]);
      assert.equal(r.code, 69);
      assert.match(
        r.err,
        new RegExp(`smtp listener 127\\.0\\.0\\.1:${port}: address already in use`),
      );
    } finally {
      taken.close();
    }
  });
});

Deno.test("serve --check: two listeners on one address exit 78", async () => {
  await withTempDir(async (dir) => {
    const r = await check(dir, [
      "--smtp",
      "127.0.0.1:2999",
      "--submission",
      "127.0.0.1:2999",
      "--imap",
      "off",
      "--pop3",
      "off",
    ]);
    assert.equal(r.code, 78);
    assert.match(r.err, /smtp and submission are both set to 127\.0\.0\.1:2999/);
  });
});

Deno.test("serve --check: a data directory that is a file exits 74", async () => {
  await withTempDir(async (tmp) => {
    const file = join(tmp, "file");
    await Deno.writeTextFile(file, "");
    const config = join(tmp, "mail.toml");
    await Deno.writeTextFile(config, `hostname = "mx.test"\n`);
    const r = await check(file, [...FREE, "--config", config]);
    assert.equal(r.code, 74);
    assert.match(r.err, /is not a directory/);
  });
});

Deno.test("serve --check: an existing store is reported at its schema version", async () => {
  await withTempDir(async (dir) => {
    const add = await mail(["user", "add", "a@example.test", "--data", dir], { stdin: "pw\n" });
    assert.equal(add.code, 0, add.err);
    const r = await check(dir, FREE);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /writable; database schema \d+, current/);
    await Deno.writeTextFile(join(dir, "mail.sqlite"), "x".repeat(4096));
    await Deno.remove(join(dir, "mail.sqlite-wal")).catch(() => {});
    await Deno.remove(join(dir, "mail.sqlite-shm")).catch(() => {});
    const bad = await check(dir, FREE);
    assert.equal(bad.code, 78, bad.err);
    assert.match(bad.err, /mail\.sqlite is not a valid mail database/);
  });
});
