/**
 * A smarthost (`route = "*=HOST:PORT"`) with AUTH credentials from the config file: A relays
 * everything through B's submission port, logging in as the user configured.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createSelfSigned } from "../../src/server/tls_cert.ts";
import { startServe } from "../_helpers/mail_process.ts";
import {
  dataWithUsers,
  headerText,
  PASSWORD,
  queueJson,
  serveDomain,
  storedMessages,
  submit,
  waitFor,
} from "./_helpers.ts";

Deno.test("smarthost with AUTH from the config file", async () => {
  // B knows ann@a.test as a submission user: it relays for her (here, to its own bob).
  const bDir = await dataWithUsers(["bob@example.org", "ann@a.test"]);
  const aDir = await dataWithUsers(["ann@a.test"]);
  const b = await serveDomain(bDir, "example.org");
  const config = join(aDir, "mail.toml");
  await Deno.writeTextFile(
    config,
    [
      `route = ["*=127.0.0.1:${b.submissionPort}"]`,
      `smarthost-user = "ann@a.test"`,
      `smarthost-password-file = "${join(aDir, "pw")}"`,
    ].join("\n") + "\n",
  );
  const a = await serveDomain(aDir, "a.test");
  try {
    await submit(a, "ann@a.test", ["bob@example.org"], "via smarthost");
    const [msg] = await waitFor("delivery through the smarthost", async () => {
      const m = await storedMessages(bDir, "bob@example.org");
      return m.length > 0 ? m : undefined;
    });
    assert.ok(msg);
    await waitFor("A's queue to empty", async () => (await queueJson(aDir)).length === 0);
    // B's Received says the message came in over submission with AUTH (ESMTPA), from A.
    assert.match(
      headerText(msg),
      /^Received: from mx\.a\.test [^\r]*\r\n\tby mx\.example\.org with ESMTPA /m,
    );
    assert.match(a.log(), /Delivery attempt .*via=smarthost/);
    assert.doesNotMatch(a.log() + b.log(), new RegExp(PASSWORD));
  } finally {
    await a.stop();
    await b.stop();
    await Deno.remove(aDir, { recursive: true });
    await Deno.remove(bDir, { recursive: true });
  }
});

Deno.test("smarthost with a private CA: its certificate is verified against --smarthost-ca", async () => {
  // B offers STARTTLS with a certificate no public root signed; AUTH needs TLS there.
  const bDir = await dataWithUsers(["bob@example.org", "ann@a.test"]);
  const { certPem, keyPem } = await createSelfSigned("127.0.0.1");
  await Deno.writeTextFile(join(bDir, "cert.pem"), certPem);
  await Deno.writeTextFile(join(bDir, "key.pem"), keyPem);
  const b = await startServe(bDir, [
    "--hostname",
    "mx.example.org",
    "--domain",
    "example.org",
    "--smtp",
    "127.0.0.1:0",
    "--submission",
    "127.0.0.1:0",
    "--imap",
    "off",
    "--pop3",
    "off",
    "--tls-cert",
    join(bDir, "cert.pem"),
    "--tls-key",
    join(bDir, "key.pem"),
  ]);
  const smarthost = [
    "--route",
    `*=127.0.0.1:${b.submissionPort}`,
    "--smarthost-user",
    "ann@a.test",
  ];
  // A trusts B's certificate as its CA; A2 does not, and must not log in or deliver.
  const aDir = await dataWithUsers(["ann@a.test"]);
  const a = await serveDomain(aDir, "a.test", [
    ...smarthost,
    "--smarthost-password-file",
    join(aDir, "pw"),
    "--smarthost-ca",
    join(bDir, "cert.pem"),
  ]);
  const a2Dir = await dataWithUsers(["ann@a.test"]);
  const a2 = await serveDomain(a2Dir, "a.test", [
    ...smarthost,
    "--smarthost-password-file",
    join(a2Dir, "pw"),
  ]);
  try {
    await submit(a2, "ann@a.test", ["bob@example.org"], "unverified");
    const [deferred] = await waitFor("A2's first attempt", async () => {
      const q = await queueJson(a2Dir);
      return q.length > 0 && q[0]!.attempts > 0 ? q : undefined;
    });
    assert.match(deferred?.last_reply ?? "", /certificate|TLS/i);
    await submit(a, "ann@a.test", ["bob@example.org"], "verified");
    const [msg] = await waitFor("delivery through the smarthost", async () => {
      const m = await storedMessages(bDir, "bob@example.org");
      return m.length > 0 ? m : undefined;
    });
    assert.ok(msg);
    assert.match(headerText(msg), /^Subject: verified\r$/m);
    // Received over TLS, logged in: ESMTPSA (RFC 3848).
    assert.match(headerText(msg), /with ESMTPSA /);
    assert.equal((await storedMessages(bDir, "bob@example.org")).length, 1);
  } finally {
    await a.stop();
    await a2.stop();
    await b.stop();
    for (const d of [aDir, a2Dir, bDir]) await Deno.remove(d, { recursive: true });
  }
});
