/** The shipped service unit and release workflow say what the README promises. */
import assert from "node:assert/strict";
import denoJson from "../../deno.json" with { type: "json" };
import { defaults } from "../../src/config.ts";

const read = (path: string) => Deno.readTextFile(new URL(`../../${path}`, import.meta.url));

/** `Key=value` lines of a systemd unit (comments and sections dropped), repeated keys kept. */
function unitSettings(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  }
  return out;
}

Deno.test("contrib/mail.service: dedicated user, data directory, low ports, reload, check", async () => {
  const unit = unitSettings(await read("contrib/mail.service"));
  const one = (key: string) => unit.get(key)?.[0];
  assert.equal(one("User"), "mailsrv");
  assert.notEqual(one("User"), "root");
  assert.equal(one("StateDirectory"), "mail");
  assert.equal(one("Environment"), "MAIL_DATA=/var/lib/mail");
  assert.equal(one("AmbientCapabilities"), "CAP_NET_BIND_SERVICE");
  assert.equal(one("CapabilityBoundingSet"), "CAP_NET_BIND_SERVICE");
  assert.match(one("ExecStart") ?? "", /\/mail serve$/);
  assert.match(one("ExecStartPre") ?? "", /\/mail serve --check$/);
  assert.equal(one("ExecReload"), "/bin/kill -HUP $MAINPID");
  assert.equal(unit.get("MemoryDenyWriteExecute"), undefined, "V8's JIT needs W+X memory");
  // systemd must wait longer than the graceful shutdown takes.
  assert.ok(Number(one("TimeoutStopSec")) > defaults("/", "h").shutdownGrace);
  const sysusers = await read("contrib/mail.sysusers");
  assert.match(sysusers, /^u mailsrv - ".*" \/var\/lib\/mail /m);
});

Deno.test(".github/workflows/release.yml: pinned Deno, five targets, checksums, release", async () => {
  const yml = await read(".github/workflows/release.yml");
  assert.match(yml, /DENO_VERSION: 2\.9\.6\n/);
  assert.match(await read(".ci/run"), /^DENO_VERSION=2\.9\.6$/m);
  assert.match(yml, /tags: \["v\*"\]/);
  for (
    const target of [
      "x86_64-unknown-linux-gnu",
      "aarch64-unknown-linux-gnu",
      "x86_64-apple-darwin",
      "aarch64-apple-darwin",
      "x86_64-pc-windows-msvc",
    ]
  ) {
    assert.match(yml, new RegExp(`target: ${target},`));
  }
  assert.match(yml, /--target \$\{\{ matrix\.target \}\}/);
  assert.match(yml, /sha256sum/);
  assert.match(yml, /SHA256SUMS/);
  assert.match(yml, /softprops\/action-gh-release@v2/);
  assert.match(yml, /run: \.ci\/run/);
  assert.match(denoJson.version, /^\d+\.\d+\.\d+(-[\w.]+)?$/);
});
