/**
 * `mail serve --check` and the DKIM records: each key's record looked up through `--dns` (the
 * tests' responder on loopback) and reported as matching, missing, stale (another key's p=) or
 * not looked up (SERVFAIL), with the record to publish; an unusable key file is reported.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startDnsServer } from "../_helpers/dns_server.ts";
import { mail } from "../_helpers/mail_process.ts";
import { generateKey } from "../../src/dkim/keys.ts";
import { checkRecord } from "../../src/dkim/record_check.ts";

Deno.test("serve --check: matches, missing, stale, lookup failure, unusable key", async () => {
  const dir = await Deno.makeTempDir();
  const ok = await generateKey(dir, "a.test", "ok", "rsa");
  const stale = await generateKey(dir, "a.test", "stale", "ed25519");
  const other = await generateKey(await Deno.makeTempDir(), "a.test", "x", "ed25519");
  await generateKey(dir, "b.test", "missing", "rsa");
  await generateKey(dir, "c.test", "broken", "rsa");
  await Deno.mkdir(join(dir, "dkim", "d.test"));
  await Deno.writeTextFile(join(dir, "dkim", "d.test", "junk.pem"), "not a key\n");
  const dns = await startDnsServer({
    // The responder splits a long record into strings of 255 octets, as zone files hold it.
    "ok._domainkey.a.test": { txt: [ok.record] },
    "stale._domainkey.a.test": { txt: ["v=spf1 -all", other.record] },
    "broken._domainkey.c.test": { servfail: true },
  });
  try {
    const r = await mail([
      "serve",
      "--check",
      "--data",
      dir,
      "--dns",
      dns.address,
      "--no-tls",
      "--smtp",
      "127.0.0.1:0",
      "--submission",
      "127.0.0.1:0",
      "--imap",
      "off",
      "--pop3",
      "off",
    ]);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /^dkim +a\.test selector ok \(rsa\): the record at ok\._domainkey\.a\.test matches$/m,
    );
    assert.match(
      r.out,
      /^dkim +a\.test selector stale \(ed25519\): the record at stale\._domainkey\.a\.test is stale/m,
    );
    assert.match(
      r.out,
      /^dkim +b\.test selector missing \(rsa\): no record at missing\._domainkey\.b\.test$/m,
    );
    assert.match(
      r.out,
      /^dkim +c\.test selector broken \(rsa\): cannot look up broken\._domainkey\.c\.test/m,
    );
    assert.ok(r.err.includes(`replace it with: ${stale.record}`), r.err);
    assert.match(
      r.err,
      /No DKIM record at missing\._domainkey\.b\.test: publish this TXT record there: v=DKIM1; k=rsa; p=/,
    );
    assert.match(r.err, /DKIM key junk of d\.test .* is unusable/);
    assert.match(r.out, /^ok /m);
  } finally {
    await dns.close();
  }
});

Deno.test("record check: k= defaults to rsa; whitespace in p= is ignored; errors by kind", async () => {
  const want = "v=DKIM1; k=rsa; p=ABCD";
  const answer = (records: string[][]) => () => Promise.resolve(records);
  assert.equal((await checkRecord(answer([["v=DKIM1; p=AB CD"]]), "n", want)).kind, "matches");
  assert.equal(
    (await checkRecord(answer([["v=DKIM1; k=ed25519; p=ABCD"]]), "n", want)).kind,
    "stale",
  );
  assert.equal((await checkRecord(answer([["v=spf1 -all"]]), "n", want)).kind, "missing");
  const fail = (kind: string) => () => Promise.reject(Object.assign(new Error(kind), { kind }));
  assert.equal((await checkRecord(fail("nxdomain"), "n", want)).kind, "missing");
  assert.equal((await checkRecord(fail("nodata"), "n", want)).kind, "missing");
  assert.equal((await checkRecord(fail("timeout"), "n", want)).kind, "error");
});
