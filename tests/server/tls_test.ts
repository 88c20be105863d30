/**
 * TLS: STARTTLS (RFC 3207) and implicit TLS (RFC 8314) with AUTH, against a live server, with
 * Python's smtplib as the independent client; the STARTTLS injection defence; the generated
 * certificate; certificate reload on SIGHUP.
 */
import assert from "node:assert/strict";
import { python } from "../_helpers/python.ts";
import { createHash, X509Certificate } from "node:crypto";
import { join } from "node:path";
import { createSelfSigned, secureContext } from "../../src/server/tls_cert.ts";
import { openStore } from "../../src/store/mod.ts";
import { bounded, ioTurn, ManualClock } from "../_helpers/clock.ts";
import { startLiveServer } from "../_helpers/live_server.ts";
import { mail, startServe, TEST_SERVE_FLAGS } from "../_helpers/mail_process.ts";
import { TEST_PASSWORD } from "../_helpers/session_peer.ts";

const cert = await createSelfSigned("mx.test");
const tlsContext = secureContext(cert);

async function caFile(pem: string): Promise<string> {
  const f = await Deno.makeTempFile({ suffix: ".pem" });
  await Deno.writeTextFile(f, pem);
  return f;
}

// Connects, verifying the certificate chain against CA (the name is not checked: we connect to
// 127.0.0.1 and the certificate is for mx.test), then logs in and sends.
const CLIENT = `
import smtplib, ssl, sys
port, ca, password, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False
def connect():
    if mode == "implicit":
        s = smtplib.SMTP_SSL("127.0.0.1", port, context=ctx)
        s.ehlo("py.test")
        return s
    s = smtplib.SMTP("127.0.0.1", port)
    s.ehlo("py.test")
    print("features-before", sorted(s.esmtp_features))
    s.starttls(context=ctx)
    s.ehlo("py.test")
    return s
s = connect()
print("features-after", sorted(s.esmtp_features))
print("tls", s.sock.version())
s.login("alice@example.test", password)
refused = s.sendmail("alice@example.test", ["bob@example.test"], b"Subject: over tls\\r\\n\\r\\nsecret\\r\\n")
print("refused", refused)
try:
    s.sendmail("alice@example.test", ["someone@remote.test"], b"Subject: relay\\r\\n\\r\\nx\\r\\n")
except smtplib.SMTPRecipientsRefused as e:
    print("relay", e.recipients)
s.quit()
`;

Deno.test("STARTTLS + AUTH on the submission listener with smtplib; ESMTPSA in Received", async () => {
  const live = await startLiveServer({}, tlsContext);
  const ca = await caFile(cert.certPem);
  try {
    const r = await python(CLIENT, [String(live.submissionPort), ca, TEST_PASSWORD, "starttls"]);
    assert.equal(r.code, 0, r.err);
    // Before TLS: STARTTLS offered, AUTH not (RFC 3207, RFC 4954 §4). After: the reverse.
    assert.match(r.out, /features-before \[.*'starttls'.*\]/);
    assert.doesNotMatch(r.out, /features-before .*'auth'/);
    assert.match(r.out, /features-after \[.*'auth'.*\]/);
    assert.doesNotMatch(r.out, /features-after .*'starttls'/);
    assert.match(r.out, /tls TLSv1\.[23]/);
    assert.match(r.out, /refused \{\}/);
    // An authenticated submission client may relay: the remote recipient is queued.
    assert.doesNotMatch(r.out, /relay \{/);
    assert.deepEqual(live.store.queueList().map((e) => e.recipient), ["someone@remote.test"]);
    const [msg] = live.messages();
    const text = new TextDecoder().decode(msg);
    assert.match(text, / with ESMTPSA \(TLSv1\.[23] [A-Z0-9_-]+\) id /);
    assert.match(text, /Subject: over tls\r\n\r\nsecret\r\n$/);
  } finally {
    await Deno.remove(ca);
    await live.close();
  }
});

Deno.test("implicit TLS (smtps) + AUTH with smtplib.SMTP_SSL", async () => {
  const live = await startLiveServer({ smtps: { host: "127.0.0.1", port: 0 } }, tlsContext);
  const ca = await caFile(cert.certPem);
  try {
    const r = await python(CLIENT, [String(live.smtpsPort), ca, TEST_PASSWORD, "implicit"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /features-after \[.*'auth'.*\]/);
    assert.doesNotMatch(r.out, /features-after .*'starttls'/);
    assert.match(r.out, /refused \{\}/);
    assert.match(new TextDecoder().decode(live.messages()[0]), / with ESMTPSA /);
  } finally {
    await Deno.remove(ca);
    await live.close();
  }
});

Deno.test("STARTTLS on the MX listener: ESMTPS in Received, and no AUTH even under TLS", async () => {
  const live = await startLiveServer({}, tlsContext);
  const ca = await caFile(cert.certPem);
  try {
    const r = await python(
      `
import smtplib, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.check_hostname = False
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
s.starttls(context=ctx)
s.ehlo("py.test")
print("auth" in s.esmtp_features)
s.sendmail("x@remote.test", ["alice@example.test"], b"Subject: mx tls\\r\\n\\r\\nhi\\r\\n")
s.quit()
`,
      [String(live.port), ca],
    );
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trim(), "False");
    assert.match(new TextDecoder().decode(live.messages()[0]), / with ESMTPS \(TLSv1\.[23] /);
  } finally {
    await Deno.remove(ca);
    await live.close();
  }
});

/** Reads from a Deno connection until a CRLF-terminated line containing a final reply. */
async function readReply(conn: Deno.Conn): Promise<string> {
  let text = "";
  const buf = new Uint8Array(4096);
  while (!/(^|\n)\d{3} [^\n]*\r\n$/.test(text)) {
    const n = await bounded(conn.read(buf), `a reply after ${JSON.stringify(text)}`);
    if (n === null) throw new Error(`closed after ${JSON.stringify(text)}`);
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  return text;
}

Deno.test("STARTTLS injection: commands pipelined after STARTTLS are never executed", async () => {
  const live = await startLiveServer({}, tlsContext);
  try {
    const tcp = await Deno.connect({ hostname: "127.0.0.1", port: live.submissionPort });
    await readReply(tcp);
    await tcp.write(new TextEncoder().encode("EHLO inject.test\r\n"));
    assert.match(await readReply(tcp), /250-STARTTLS/);
    // One write: STARTTLS and, in the clear, a command an attacker slipped in behind it.
    await tcp.write(
      new TextEncoder().encode("STARTTLS\r\nRSET\r\nMAIL FROM:<evil@remote.test>\r\n"),
    );
    assert.equal(await readReply(tcp), "220 2.0.0 Ready to start TLS\r\n");
    const tls = await Deno.startTls(tcp, { hostname: "mx.test", caCerts: [cert.certPem] });
    await tls.write(new TextEncoder().encode("EHLO inject.test\r\n"));
    // The first reply after the handshake answers our EHLO: RSET and MAIL were dropped.
    const ehlo = await readReply(tls);
    assert.match(ehlo, /^250-mx\.test Hello inject\.test/);
    await tls.write(new TextEncoder().encode("MAIL FROM:<x@remote.test>\r\n"));
    // Were the injected MAIL executed, this would be 503 (sender already specified).
    assert.match(await readReply(tls), /^530 5\.7\.0 Authentication required/);
    tls.close();
  } finally {
    await live.close();
  }
});

Deno.test("mail serve: generates a certificate on first start, reuses it, reloads on SIGHUP", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mail-tls-" });
  try {
    const pw = join(dir, "pw");
    await Deno.writeTextFile(pw, "a-good-password\n");
    const add = await mail([
      "user",
      "add",
      "alice@example.test",
      "--data",
      dir,
      "--password-file",
      pw,
    ]);
    assert.equal(add.code, 0, add.err);

    const fingerprint = async (port: number, ca: string) => {
      const r = await python(
        `
import smtplib, ssl, sys, hashlib
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.check_hostname = False
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
s.starttls(context=ctx)
print(hashlib.sha256(s.sock.getpeercert(binary_form=True)).hexdigest())
s.quit()
`,
        [String(port), ca],
      );
      assert.equal(r.code, 0, r.err);
      return r.out.trim();
    };
    const first = await startServe(dir);
    const generated = join(dir, "tls", "cert.pem");
    const fp1 = await fingerprint(first.submissionPort, generated);
    assert.match(first.log(), /TLS certificate .*source=generated-new .*expires=/);
    assert.equal(await first.stop(), 0);

    const second = await startServe(dir);
    assert.equal(await fingerprint(second.submissionPort, generated), fp1);
    assert.match(second.log(), /TLS certificate .*source=generated /);
    await second.stop();

    // Configured files, replaced while running, are re-read on SIGHUP.
    const certFile = join(dir, "c.pem");
    const keyFile = join(dir, "k.pem");
    const a = await createSelfSigned("mx.test");
    await Deno.writeTextFile(certFile, a.certPem);
    await Deno.writeTextFile(keyFile, a.keyPem, { mode: 0o600 });
    const third = await startServe(dir, [
      ...TEST_SERVE_FLAGS,
      "--tls-cert",
      certFile,
      "--tls-key",
      keyFile,
    ]);
    try {
      const fpA = await fingerprint(third.submissionPort, certFile);
      assert.equal(
        fpA,
        createHash("sha256").update(new X509Certificate(a.certPem).raw).digest("hex"),
      );
      const b = await createSelfSigned("mx.test");
      await Deno.writeTextFile(certFile, b.certPem);
      await Deno.writeTextFile(keyFile, b.keyPem, { mode: 0o600 });
      const logged = third.log().length;
      await third.signal("SIGHUP");
      await third.waitForLog("TLS certificate", logged);
      const fpB = await fingerprint(third.submissionPort, certFile);
      assert.equal(
        fpB,
        createHash("sha256").update(new X509Certificate(b.certPem).raw).digest("hex"),
      );
    } finally {
      await third.stop();
    }
    const store = openStore(dir);
    assert.ok(store.userExists("alice@example.test"));
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a TLS handshake must end within the command timeout, however its bytes trickle in", async () => {
  // The start of a ClientHello, a byte every 400 ms on the test's clock: an idle timer would be
  // re-armed by each byte and never fire. The 1 s deadline fires, on port 465 and after
  // STARTTLS alike.
  const clock = new ManualClock();
  const live = await startLiveServer(
    { commandTimeout: 1, smtps: { host: "127.0.0.1", port: 0 } },
    tlsContext,
    clock.deadlines,
  );
  const hello = [0x16, 0x03, 0x01, 0x02, 0x00, ...new Array(60).fill(0x01)];
  const trickle = async (conn: Deno.Conn): Promise<number> => {
    let closed = false;
    const reading = conn.read(new Uint8Array(64)).then(() => closed = true, () => closed = true);
    let sent = 0;
    for (; sent < hello.length && !closed; sent++) {
      await conn.write(new Uint8Array([hello[sent]!])).catch(() => closed = true);
      await ioTurn();
      clock.advance(400);
      await ioTurn();
    }
    await reading;
    conn.close();
    return sent;
  };
  try {
    const implicit = await Deno.connect({ hostname: "127.0.0.1", port: live.smtpsPort });
    const starttls = await Deno.connect({ hostname: "127.0.0.1", port: live.submissionPort });
    await readReply(starttls);
    await starttls.write(new TextEncoder().encode("EHLO slow.test\r\n"));
    assert.match(await readReply(starttls), /^250-/);
    await starttls.write(new TextEncoder().encode("STARTTLS\r\n"));
    assert.equal(await readReply(starttls), "220 2.0.0 Ready to start TLS\r\n");
    const sent = await Promise.all([trickle(implicit), trickle(starttls)]);
    // Cut off while the bytes were still coming, not after the client ran out of them.
    for (const n of sent) assert.ok(n < hello.length, `sent all ${n} bytes unhindered`);
  } finally {
    await live.close();
  }
});
