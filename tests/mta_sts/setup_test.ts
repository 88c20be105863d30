/**
 * `--outbound-ca` is read at start-up: a file that cannot be used is a QueueConfigError naming
 * the setting, and `mail serve` says so in one line and exits 78 (EX_CONFIG). Also the result
 * types the log lines carry (RFC 8460 §4.3), from the client's words.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../../src/config.ts";
import { QueueConfigError } from "../../src/queue/errors.ts";
import { queueRunner } from "../../src/queue/setup.ts";
import type { Store } from "../../src/store/mod.ts";
import { certificateResult, sessionResult } from "../../src/mta_sts/mod.ts";
import { assertNoStackTrace, mail } from "../_helpers/mail_process.ts";

async function withDir<T>(f: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "mail-mta-sts-setup-" });
  try {
    return await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("--outbound-ca: unreadable or not PEM is a QueueConfigError naming it", async () => {
  await withDir(async (dir) => {
    const notPem = join(dir, "ca.txt");
    await Deno.writeTextFile(notPem, "not a certificate\n");
    for (
      const [file, re] of [
        [join(dir, "missing"), /^outbound-ca: cannot read .*missing/],
        [notPem, /^outbound-ca: .*ca\.txt holds no PEM certificate$/],
      ] as const
    ) {
      const config = await loadConfig({
        dataDir: dir,
        flags: { "outbound-ca": file },
        env: () => undefined,
        hostname: "h.test",
      });
      await assert.rejects(
        () => queueRunner(config, undefined as unknown as Store),
        (e) => e instanceof QueueConfigError && e.setting === "outbound-ca" && re.test(e.message),
      );
    }
  });
});

Deno.test("mail serve --outbound-ca MISSING: one line on stderr and exit 78", async () => {
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
      "--outbound-ca",
      join(dir, "missing"),
    ]);
    assert.equal(r.code, 78, r.err);
    assertNoStackTrace(r.err);
    assert.match(r.err, /^mail: outbound-ca: cannot read [^\n]*missing[^\n]*\n$/m);
  });
});

Deno.test("TLS-RPT result types of failed sessions (RFC 8460 §4.3)", () => {
  const table: [string, string, string, string | undefined][] = [
    [
      "STARTTLS",
      "unsupported",
      "STARTTLS: mx.test does not offer STARTTLS",
      "starttls-not-supported",
    ],
    ["STARTTLS", "reply", "STARTTLS: 454 4.7.0 TLS not available", "starttls-not-supported"],
    [
      "STARTTLS",
      "tls",
      "STARTTLS: TLS handshake failed: Hostname/IP does not match certificate's altnames",
      "certificate-host-mismatch",
    ],
    [
      "STARTTLS",
      "tls",
      "STARTTLS: TLS handshake failed: certificate has expired",
      "certificate-expired",
    ],
    [
      "STARTTLS",
      "tls",
      "STARTTLS: TLS handshake failed: self-signed certificate",
      "certificate-not-trusted",
    ],
    [
      "STARTTLS",
      "tls",
      "STARTTLS: TLS handshake failed: invalid peer certificate: UnknownIssuer",
      "certificate-not-trusted",
    ],
    ["STARTTLS", "tls", "STARTTLS: TLS handshake failed: something else", "validation-failure"],
    ["STARTTLS", "timeout", "STARTTLS: no answer within 30 s", undefined],
    ["Connect to mx.test:25", "connect", "connection refused", undefined],
    ["EHLO h.test", "reply", "EHLO: 421 busy", undefined],
  ];
  for (const [command, failure, message, want] of table) {
    assert.equal(sessionResult({ command, failure, message }), want, message);
  }
  // node:tls authorizationError codes (testing mode reads them from an unverified session).
  assert.equal(certificateResult("ERR_TLS_CERT_ALTNAME_INVALID"), "certificate-host-mismatch");
  assert.equal(certificateResult("CERT_HAS_EXPIRED"), "certificate-expired");
  assert.equal(certificateResult("UNABLE_TO_VERIFY_LEAF_SIGNATURE"), "certificate-not-trusted");
  assert.equal(certificateResult("DEPTH_ZERO_SELF_SIGNED_CERT"), "certificate-not-trusted");
});
