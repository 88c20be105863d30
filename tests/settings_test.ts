/**
 * The settings table of `mail serve` (src/settings.ts) is the only place a setting is written:
 * its flag, TOML key and environment variable all read it, `--help` shows its default, and
 * docs/cli.md holds the table rendered from it. After a deliberate change, rewrite the docs'
 * table with
 *
 *     UPDATE_DOCS=1 deno test -A tests/settings_test.ts
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig, type ServeConfig } from "../src/config.ts";
import { helpText, type Setting, SETTINGS, settingsMarkdown } from "../src/settings.ts";
import { serveCommand, settingFlags } from "../src/cli/serve.ts";

const DOCS = new URL("../docs/cli.md", import.meta.url);
const BEGIN = "<!-- serve-settings:begin -->";
const END = "<!-- serve-settings:end -->";

Deno.test("docs/cli.md holds exactly the settings table rendered from src/settings.ts", async () => {
  const docs = await Deno.readTextFile(DOCS);
  const begin = docs.indexOf(BEGIN);
  const end = docs.indexOf(END);
  assert.ok(begin >= 0 && end > begin, `docs/cli.md has no ${BEGIN} ... ${END} section`);
  const expected = `\n\n${settingsMarkdown()}\n\n`;
  if (Deno.env.get("UPDATE_DOCS") === "1") {
    const updated = docs.slice(0, begin + BEGIN.length) + expected + docs.slice(end);
    if (updated !== docs) await Deno.writeTextFile(DOCS, updated);
    return;
  }
  assert.equal(
    docs.slice(begin + BEGIN.length, end),
    expected,
    "the table is out of date: UPDATE_DOCS=1 deno test -A tests/settings_test.ts",
  );
});

Deno.test("settings: one row per setting, every name once", () => {
  for (const names of [SETTINGS.map((s) => s.key), SETTINGS.map((s) => s.flag)]) {
    assert.equal(new Set(names).size, names.length, names.join(" "));
  }
  assert.equal(new Set(SETTINGS.map((s) => s.env)).size, SETTINGS.length);
  assert.equal(new Set(SETTINGS.map((s) => s.field)).size, SETTINGS.length);
  const table = settingsMarkdown();
  for (const s of SETTINGS) {
    assert.ok(table.includes(`\`${s.flag}`) && table.includes(`\`${s.env}\``), s.key);
    assert.equal(s.repeatable, s.type.list === true);
  }
});

Deno.test("mail serve --help shows every setting with its default from the table", () => {
  const command = serveCommand().configureHelp({ helpWidth: 10_000 });
  const help = command.helpInformation();
  for (const s of SETTINGS) {
    const flags = s.type.placeholder ? `${s.flag} <${s.type.placeholder}>` : s.flag;
    const line = help.split("\n").find((l) => l.trimStart().startsWith(`${flags} `));
    assert.ok(line, `no ${flags} in:\n${help}`);
    assert.ok(line.includes(helpText(s)), line);
  }
  // No default is typed by hand beside the table's: every "default: …" is a setting's, or
  // one of the three flags that are not settings.
  const lines = help.split("\n").filter((l) => l.includes("default:"));
  assert.equal(lines.length, SETTINGS.length + 2, lines.join("\n"));
  assert.ok(lines.some((l) => l.trimStart().startsWith("--data <dir>")));
  assert.ok(lines.some((l) => l.trimStart().startsWith("--config <file>")));
});

/** A value other than the default for each setting, with what the configuration then holds. */
interface Sample {
  readonly value: string | number | boolean | readonly string[];
  readonly expect: unknown;
  /** Other settings it needs (a key and its certificate, a smarthost and its password). */
  readonly with?: Readonly<Record<string, string>>;
}

const SMARTHOST = { "route": "*=127.0.0.1:2600" };
const SAMPLES: Record<string, Sample> = {
  "hostname": { value: "mx.example.test", expect: "mx.example.test" },
  "domain": { value: ["a.test", "B.test"], expect: ["a.test", "b.test"] },
  "catch-all": { value: true, expect: true },
  "smtp": { value: "0.0.0.0:25", expect: { host: "0.0.0.0", port: 25 } },
  "submission": { value: "off", expect: undefined },
  "smtps": { value: "[::1]:465", expect: { host: "::1", port: 465 } },
  "imap": { value: "0.0.0.0:143", expect: { host: "0.0.0.0", port: 143 } },
  "imaps": { value: "[::]:993", expect: { host: "::", port: 993 } },
  "imap-autologout": { value: "3600", expect: 3600 },
  "pop3": { value: "0.0.0.0:110", expect: { host: "0.0.0.0", port: 110 } },
  "pop3s": { value: "[::]:995", expect: { host: "::", port: 995 } },
  "pop3-autologout": { value: "900", expect: 900 },
  "tls-cert": { value: "/c.pem", expect: "/c.pem", with: { "tls-key": "/k.pem" } },
  "tls-key": { value: "/k.pem", expect: "/k.pem", with: { "tls-cert": "/c.pem" } },
  "no-tls": { value: true, expect: true },
  "allow-insecure-auth": { value: true, expect: true },
  "max-size": { value: 5000, expect: 5000 },
  "max-recipients": { value: 200, expect: 200 },
  "max-connections": { value: 10, expect: 10 },
  "max-connections-per-ip": { value: 3, expect: 3 },
  "max-errors": { value: 5, expect: 5 },
  "timeout": { value: 12.5, expect: 12.5 },
  "data-timeout": { value: 700, expect: 700 },
  "line-deadline": { value: 9, expect: 9 },
  "greet-wait": { value: 0.5, expect: 0.5 },
  "shutdown-grace": { value: 0, expect: 0 },
  "auth-max-failures": { value: 4, expect: 4 },
  "auth-lockout": { value: 60, expect: 60 },
  "auth-delay": { value: 0.25, expect: 0.25 },
  "route": {
    value: ["x.test=127.0.0.1:2600", "*=[::1]:2601"],
    expect: new Map([["x.test", { host: "127.0.0.1", port: 2600 }], ["*", {
      host: "::1",
      port: 2601,
    }]]),
  },
  "dns": { value: "127.0.0.1:5353", expect: { host: "127.0.0.1", port: 5353 } },
  "mx-port": { value: 2525, expect: 2525 },
  "queue-min-backoff": { value: 1.5, expect: 1.5 },
  "queue-max-backoff": { value: 600, expect: 600 },
  "queue-lifetime": { value: 3600, expect: 3600 },
  "delay-warning": { value: 0, expect: 0 },
  "relay-concurrency": { value: 7, expect: 7 },
  "relay-concurrency-per-destination": { value: 2, expect: 2 },
  "smarthost-user": {
    value: "relay-user",
    expect: "relay-user",
    with: { ...SMARTHOST, "smarthost-password-file": "/pw" },
  },
  "smarthost-password-file": {
    value: "/pw",
    expect: "/pw",
    with: { ...SMARTHOST, "smarthost-user": "u" },
  },
  "smarthost-ca": { value: "/ca.pem", expect: "/ca.pem", with: SMARTHOST },
  "auth-checks": { value: "off", expect: false },
  "dmarc": { value: "tag", expect: "tag" },
  "spf-fail": { value: "reject", expect: "reject" },
  "dmarc-temperror": { value: "defer", expect: "defer" },
  "trusted-network": {
    value: ["192.0.2.0/24", "2001:db8::1"],
    expect: [
      { address: "192.0.2.0", prefix: 24, family: "ipv4" },
      { address: "2001:db8::1", prefix: 128, family: "ipv6" },
    ],
  },
  "outbound-ca": { value: "/ca.pem", expect: "/ca.pem" },
  "mta-sts-port": { value: 8443, expect: 8443 },
  "log-format": { value: "json", expect: "json" },
  "log-level": { value: "debug", expect: "debug" },
};

const setting = (key: string): Setting => SETTINGS.find((s) => s.key === key)!;

const tomlValue = (v: Sample["value"]): string =>
  Array.isArray(v)
    ? `[${v.map((x) => JSON.stringify(x)).join(", ")}]`
    : typeof v === "string"
    ? JSON.stringify(v)
    : String(v);

const envValue = (v: Sample["value"]): string => Array.isArray(v) ? v.join(",") : String(v);

function flagArgs(s: Setting, v: Sample["value"]): string[] {
  if (s.type.placeholder === undefined) return [s.flag];
  return (Array.isArray(v) ? v : [v]).flatMap((x) => [s.flag, String(x)]);
}

async function loadWith(
  toml: string,
  env: Record<string, string>,
  argv: string[],
): Promise<ServeConfig> {
  const dir = await Deno.makeTempDir({ prefix: "mail-settings-" });
  try {
    await Deno.writeTextFile(join(dir, "mail.toml"), toml);
    const command = serveCommand();
    command.parseOptions(argv);
    return await loadConfig({
      dataDir: dir,
      flags: settingFlags(command),
      env: (k) => env[k],
      hostname: "host.test",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("every setting is read alike from its TOML key, its variable and its flag", async () => {
  assert.deepEqual(
    Object.keys(SAMPLES).sort(),
    SETTINGS.map((s) => s.key).sort(),
    "every setting needs a sample value in SAMPLES (a new setting: add one)",
  );
  const defaults = await loadWith("", {}, []);
  for (const s of SETTINGS) {
    const sample = SAMPLES[s.key]!;
    const all: [Setting, Sample["value"]][] = [
      [s, sample.value],
      ...Object.entries(sample.with ?? {}).map(([k, v]): [Setting, string] => [setting(k), v]),
    ];
    const layers: [string, () => Promise<ServeConfig>][] = [
      [
        "toml",
        () => loadWith(all.map(([t, v]) => `${t.key} = ${tomlValue(v)}\n`).join(""), {}, []),
      ],
      [
        "env",
        () => loadWith("", Object.fromEntries(all.map(([t, v]) => [t.env, envValue(v)])), []),
      ],
      ["flag", () => loadWith("", {}, all.flatMap(([t, v]) => flagArgs(t, v)))],
    ];
    for (const [layer, load] of layers) {
      assert.deepEqual((await load())[s.field], sample.expect, `${s.key} from ${layer}`);
    }
    assert.notDeepEqual(defaults[s.field], sample.expect, `${s.key}: the sample is the default`);
  }
});
