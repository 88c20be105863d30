/**
 * `mail send` end to end: the real entrypoint as a subprocess against a `mail serve` started
 * here (and, for faults, a scripted server), messages read back from the store and parsed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import PostalMime from "postal-mime";
import { assertNoStackTrace, mail } from "../_helpers/mail_process.ts";
import { startFakeServer } from "../_helpers/fake_smtp_server.ts";
import { startDnsServer } from "../_helpers/dns_server.ts";
import { floodLines, startHostileMx } from "../_helpers/hostile_mx.ts";
import { headerOf, serveWithUsers, storedMessages, TEST_CERT, TEST_KEY } from "./_send.ts";

const USERS = ["ann@example.test", "bob@example.test", "carl@example.test"];

Deno.test("mail send: composed messages to mail serve", async (t) => {
  const serve = await serveWithUsers(USERS);
  const server = ["--server", `127.0.0.1:${serve.smtpPort}`];
  const tmp = await Deno.makeTempDir();
  try {
    await t.step("a plain message", async () => {
      const r = await mail([
        "send",
        ...server,
        "--from",
        "zoe@sender.test",
        "--to",
        "ann@example.test",
        "--subject",
        "Hello",
        "--body",
        "Hi Ann,\n.a line with a dot\n",
      ]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /^ann@example\.test: sent: 250 2\.0\.0 /);
      const [stored] = await storedMessages(serve.dataDir, "ann@example.test");
      assert.ok(stored);
      const email = await PostalMime.parse(stored);
      assert.equal(email.subject, "Hello");
      assert.equal(email.from?.address, "zoe@sender.test");
      assert.equal(email.text, "Hi Ann,\n.a line with a dot\n");
      assert.match(email.messageId ?? "", /^<[^@]+@sender\.test>$/);
      const header = headerOf(stored);
      assert.match(header, /^Date: \w{3}, \d{1,2} \w{3} \d{4} /m);
      assert.match(header, /^MIME-Version: 1\.0\r$/m);
    });

    await t.step("UTF-8 subject, display name and body", async () => {
      const subject = "Grüße aus Köln — ein ziemlich langer Betreff, der gefaltet werden muss 🎉";
      const body = "Hallo Änne,\n\nwie geht's? Ça va?\n" + "ü".repeat(600) + "\n";
      const r = await mail([
        "send",
        ...server,
        "--from",
        '"Zoë Ämsel" <zoe@sender.test>',
        "--to",
        '"Ann Lee" <ann@example.test>',
        "--subject",
        subject,
      ], { stdin: body });
      assert.equal(r.code, 0, r.err);
      const all = await storedMessages(serve.dataDir, "ann@example.test");
      const stored = all[all.length - 1]!;
      const email = await PostalMime.parse(stored);
      assert.equal(email.subject, subject);
      assert.equal(email.from?.name, "Zoë Ämsel");
      assert.equal(email.to?.[0]?.name, "Ann Lee");
      assert.equal(email.text, body);
      // The composer writes 7-bit text with short lines (RFC 2047 words, quoted-printable).
      const ours = new TextDecoder().decode(stored).split("\r\n").slice(2); // after trace fields
      for (const line of ours) {
        assert.ok(line.length <= 78, `line too long: ${line}`);
        assert.match(line, /^[\x20-\x7e\t]*$/);
      }
    });

    await t.step("HTML and attachments, parsed back part by part", async () => {
      const html = join(tmp, "body.html");
      await Deno.writeTextFile(html, "<p>Hello <b>Bob</b> ✓</p>\n");
      const png = join(tmp, "pixel.png");
      const pngBytes = new Uint8Array(300).map((_, i) => (i * 7) & 0xff);
      await Deno.writeFile(png, pngBytes);
      const csv = join(tmp, "data.csv");
      await Deno.writeTextFile(csv, "a,b\n1,2\n");
      const r = await mail([
        "send",
        ...server,
        "--from",
        "zoe@sender.test",
        "--to",
        "bob@example.test",
        "--subject",
        "Files",
        "--body",
        "See attached.",
        "--html",
        html,
        "--attach",
        png,
        "--attach",
        csv,
      ]);
      assert.equal(r.code, 0, r.err);
      const [stored] = await storedMessages(serve.dataDir, "bob@example.test");
      const email = await PostalMime.parse(stored!);
      assert.equal(email.text?.trim(), "See attached.");
      assert.equal(email.html?.trim(), "<p>Hello <b>Bob</b> ✓</p>");
      assert.match(headerOf(stored!), /^Content-Type: multipart\/mixed;/m);
      assert.match(new TextDecoder().decode(stored!), /Content-Type: multipart\/alternative;/);
      const files = email.attachments.map((a) => ({
        name: a.filename,
        type: a.mimeType,
        bytes: new Uint8Array(a.content as ArrayBuffer),
      }));
      assert.deepEqual(files.map((f) => [f.name, f.type]), [
        ["pixel.png", "image/png"],
        ["data.csv", "text/csv"],
      ]);
      assert.deepEqual(files[0]!.bytes, pngBytes);
      assert.equal(new TextDecoder().decode(files[1]!.bytes).replace(/\r\n/g, "\n"), "a,b\n1,2\n");
    });

    await t.step("Bcc: delivered, never in the stored headers", async () => {
      const r = await mail([
        "send",
        ...server,
        "--from",
        "zoe@sender.test",
        "--to",
        "bob@example.test",
        "--bcc",
        "carl@example.test",
        "--subject",
        "Secret copy",
        "--body",
        "x",
        "--json",
      ]);
      assert.equal(r.code, 0, r.err);
      const doc = JSON.parse(r.out);
      assert.deepEqual(
        doc.recipients.map((x: { recipient: string; status: string }) => [x.recipient, x.status]),
        [["bob@example.test", "sent"], ["carl@example.test", "sent"]],
      );
      const [carls] = await storedMessages(serve.dataDir, "carl@example.test");
      assert.ok(carls, "the Bcc recipient got it");
      for (const m of [carls, ...(await storedMessages(serve.dataDir, "bob@example.test"))]) {
        const header = headerOf(m);
        assert.doesNotMatch(header, /^Bcc:/im);
        assert.doesNotMatch(
          header.split("\r\n").filter((l) => !/^(Received|\s)/.test(l)).join(),
          /carl/,
        );
      }
    });

    await t.step("--raw is sent byte for byte", async () => {
      const raw = new TextEncoder().encode(
        "From: Zoe <zoe@sender.test>\r\nTo: ann@example.test\r\nSubject: raw\r\n" +
          "X-Odd:   spacing kept  \r\n\r\n.dot line\r\n..two dots\r\n" + "y".repeat(900) +
          "\r\nlast line\r\n",
      );
      const file = join(tmp, "raw.eml");
      await Deno.writeFile(file, raw);
      const r = await mail(["send", ...server, "--raw", file]);
      assert.equal(r.code, 0, r.err);
      const all = await storedMessages(serve.dataDir, "ann@example.test");
      const stored = all[all.length - 1]!;
      // The server prepends Return-Path and Received; the rest is ours, exactly.
      const tail = stored.subarray(stored.length - raw.length);
      assert.deepEqual(tail, raw);
      const prefix = new TextDecoder().decode(stored.subarray(0, stored.length - raw.length));
      // (with the MX listener's Authentication-Results between them).
      assert.match(
        prefix,
        /^Return-Path: <zoe@sender\.test>\r\n(?:Authentication-Results: [^]*)?Received: /,
      );
    });

    await t.step("a refused recipient among accepted ones", async () => {
      const r = await mail([
        "send",
        ...server,
        "--from",
        "zoe@sender.test",
        "--to",
        "ann@example.test, nobody@example.test",
        "--cc",
        "bob@example.test",
        "--body",
        "x",
      ]);
      assert.equal(r.code, 69);
      assert.match(r.out, /^ann@example\.test: sent: 250 /m);
      assert.match(r.out, /^bob@example\.test: sent: 250 /m);
      assert.match(
        r.out,
        /^nobody@example\.test: refused: RCPT TO:<nobody@example\.test>: 550 5\.1\.1 /m,
      );
      assert.match(r.err, /^mail: Of 3 recipients, 1 refused$/m);
      assertNoStackTrace(r.err);
    });

    await t.step("bad input and usage errors", async () => {
      let r = await mail(["send", ...server, "--to", "ann@example.test", "--body", "x"]);
      assert.equal(r.code, 64, "no --from");
      r = await mail(["send", ...server, "--from", "a@b.test", "--to", "not an address"]);
      assert.equal(r.code, 65, r.err);
      r = await mail([
        "send",
        ...server,
        "--from",
        "a@b.test",
        "--to",
        "ann@example.test",
        "--attach",
        join(tmp, "missing"),
      ]);
      assert.equal(r.code, 66, r.err);
      r = await mail([
        "send",
        "--server",
        "127.0.0.1:1",
        "--from",
        "a@b.test",
        "--to",
        "ann@example.test",
        "--body",
        "x",
      ]);
      assert.equal(r.code, 75, "nothing listens: try later");
      assert.match(r.err, /^mail: Connect to 127\.0\.0\.1:1: connection refused$/m);
      for (const x of [r.err]) assertNoStackTrace(x);
    });
  } finally {
    await serve.cleanup();
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("mail send: STARTTLS and AUTH to the submission listener", async () => {
  const serve = await serveWithUsers(USERS, ["--tls-cert", TEST_CERT, "--tls-key", TEST_KEY]);
  const tmp = await Deno.makeTempDir();
  try {
    const pw = join(tmp, "pw");
    await Deno.writeTextFile(pw, "pw\n");
    const base = [
      "send",
      "--server",
      `127.0.0.1:${serve.submissionPort}`,
      "--from",
      "ann@example.test",
      "--to",
      "bob@example.test",
      "--body",
      "over TLS",
    ];
    let r = await mail([
      ...base,
      "--ca",
      TEST_CERT,
      "--user",
      "ann@example.test",
      "--password-file",
      pw,
      "-v",
    ]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /^> STARTTLS$/m);
    assert.match(r.err, /^\* TLS started: TLSv1\.[23], .*certificate verified$/m);
    assert.match(r.err, /^> AUTH PLAIN \*\*\*$/m);
    assert.doesNotMatch(r.err, /AGFubkBleGFtcGxlLnRlc3QAcHc=/, "no credentials in the trace");
    const [stored] = await storedMessages(serve.dataDir, "bob@example.test");
    assert.match(new TextDecoder().decode(stored), /over TLS/);

    // The password from the environment; without --ca the self-signed certificate is refused.
    r = await mail([...base, "--user", "ann@example.test"], { env: { MAIL_PASSWORD: "pw" } });
    assert.equal(r.code, 69);
    assert.match(r.err, /certificate.*--insecure/);
    r = await mail([...base, "--insecure", "--user", "ann@example.test"], {
      env: { MAIL_PASSWORD: "pw" },
    });
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /warning: --insecure/);

    // Wrong password: 535, exit 77. No login at all: submission says 530, exit 77 too.
    r = await mail([...base, "--ca", TEST_CERT, "--user", "ann@example.test"], {
      env: { MAIL_PASSWORD: "wrong" },
    });
    assert.equal(r.code, 77, r.err);
    assert.match(r.err, /AUTH PLAIN: 535 /);
    r = await mail([...base, "--ca", TEST_CERT]);
    assert.equal(r.code, 77, r.err);
    assert.match(r.err, /530 5\.7\.0/);
  } finally {
    await serve.cleanup();
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("mail send: a server that drops the connection mid-DATA", async () => {
  const fake = await startFakeServer(`
S: 220 fake.test ESMTP
C: EHLO *
S: 250-fake.test
S: 250 PIPELINING
C: MAIL FROM:<zoe@sender.test>
C: RCPT TO:<ann@example.test>
S: 250 OK
S: 250 OK
C: DATA
S: 354 go ahead
C: From: *
CLOSE
`);
  try {
    const r = await mail([
      "send",
      "--server",
      `127.0.0.1:${fake.port}`,
      "--from",
      "zoe@sender.test",
      "--to",
      "ann@example.test",
      "--body",
      "x",
    ]);
    assert.equal(r.code, 75, r.err);
    assert.match(r.err, /^mail: DATA: connection (closed by server|reset by peer)/m);
    assertNoStackTrace(r.err);
  } finally {
    await fake.close();
  }
});

Deno.test("mail send --direct: MX preferences, a dead first MX, null MX", async () => {
  const serve = await serveWithUsers(USERS);
  // Nothing listens on 127.0.0.2 and 127.0.0.3: those MX hosts are dead.
  const dns = await startDnsServer({
    "example.test": {
      mx: [[20, "backup.example.test"], [5, "dead.example.test"], [10, "mx.example.test"]],
    },
    "dead.example.test": { a: ["127.0.0.2"] },
    "mx.example.test": { a: ["127.0.0.1"] },
    "backup.example.test": { a: ["127.0.0.3"] },
    "nomail.test": { mx: [[0, "."]] },
  });
  try {
    const direct = ["send", "--direct", "--dns", dns.address, "--mx-port", String(serve.smtpPort)];
    let r = await mail([
      ...direct,
      "--from",
      "zoe@sender.test",
      "--to",
      "ann@example.test",
      "--body",
      "end to end",
      "-v",
    ]);
    assert.equal(r.code, 0, r.err);
    const tried = [...r.err.matchAll(/^\* Connecting to (\S+)/gm)].map((m) => m[1]);
    assert.deepEqual(tried, [
      `dead.example.test:${serve.smtpPort}`,
      `mx.example.test:${serve.smtpPort}`,
    ]);
    assert.match(r.out, /^ann@example\.test: sent: 250 /);
    assert.equal((await storedMessages(serve.dataDir, "ann@example.test")).length, 1);
    assert.deepEqual(dns.questions.slice(0, 1), ["MX example.test"]);

    r = await mail([
      ...direct,
      "--from",
      "zoe@sender.test",
      "--to",
      "x@nomail.test",
      "--body",
      "x",
    ]);
    assert.equal(r.code, 69);
    assert.match(r.err, /nomail\.test does not accept mail \(null MX, RFC 7505\)/);

    // --route overrides the MX.
    r = await mail([
      ...direct,
      "--route",
      `elsewhere.test=127.0.0.1:${serve.smtpPort}`,
      "--from",
      "zoe@sender.test",
      "--to",
      "bob@example.test",
      "--body",
      "routed",
    ]);
    assert.equal(r.code, 0, r.err);
  } finally {
    await dns.close();
    await serve.cleanup();
  }
});

Deno.test("mail send --direct: opportunistic TLS to an MX with a self-signed certificate", async () => {
  const serve = await serveWithUsers(USERS, ["--tls-cert", TEST_CERT, "--tls-key", TEST_KEY]);
  try {
    const send = (...extra: string[]) =>
      mail([
        "send",
        "--direct",
        "--route",
        `example.test=127.0.0.1:${serve.smtpPort}`,
        "--from",
        "zoe@sender.test",
        "--to",
        "ann@example.test",
        "--body",
        "to an MX",
        "-v",
        ...extra,
      ]);
    // Encrypted, not verified, delivered: what Postfix does at smtp_tls_security_level = may.
    let r = await send();
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /^> STARTTLS$/m);
    assert.match(
      r.err,
      /^\* TLS started: TLSv1\.[23], \S+, certificate not verified \(opportunistic, RFC 7435\)$/m,
    );
    assert.doesNotMatch(r.err, /warning/);
    assert.equal((await storedMessages(serve.dataDir, "ann@example.test")).length, 1);

    // Naming a CA asks for verification, and the certificate passes it.
    r = await send("--ca", TEST_CERT);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /^\* TLS started: .*, certificate verified$/m);
    assert.equal((await storedMessages(serve.dataDir, "ann@example.test")).length, 2);
  } finally {
    await serve.cleanup();
  }
});

Deno.test("mail send --direct: a failed TLS handshake is retried in plaintext", async () => {
  const mx = await startHostileMx({ startTls: "not-tls" });
  try {
    const r = await mail([
      "send",
      "--direct",
      "--route",
      `hostile.test=127.0.0.1:${mx.port}`,
      "--from",
      "zoe@sender.test",
      "--to",
      "ann@hostile.test",
      "--body",
      "in the clear if need be",
      "-v",
    ]);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.err,
      /^\* 127\.0\.0\.1:\d+: STARTTLS: TLS handshake failed: .+; retrying without TLS$/m,
    );
    assert.equal(mx.connections(), 2);
    assert.equal(mx.accepted.length, 1);
    assert.match(mx.accepted[0]!, /in the clear if need be/);
  } finally {
    await mx.close();
  }
});

Deno.test("mail send: an endless EHLO reply is a temporary failure with one clear line", async () => {
  // 1,000 lines: bounded, so that a client without the cap delivers (and fails this test)
  // instead of reading for ever.
  const mx = await startHostileMx({ ehloLines: floodLines(1000) });
  try {
    for (
      const how of [["--direct", "--route", `*=127.0.0.1:${mx.port}`], [
        "--server",
        `127.0.0.1:${mx.port}`,
      ]]
    ) {
      const r = await mail([
        "send",
        ...how,
        "--from",
        "zoe@sender.test",
        "--to",
        "ann@hostile.test",
        "--body",
        "x",
      ]);
      assert.equal(r.code, 75, r.err);
      assert.match(r.err, /^mail: EHLO \S+: reply longer than 100 lines\n$/);
      assertNoStackTrace(r.err);
    }
    assert.equal(mx.accepted.length, 0);
  } finally {
    await mx.close();
  }
});
