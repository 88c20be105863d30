/**
 * End to end: `mail dkim generate`, then two `mail serve` on loopback (A for a.test, routing
 * example.org to B). A message submitted to A with Python's smtplib (AUTH, SMTPUTF8, UTF-8
 * header fields, an attachment, long lines, trailing blank lines) is stored for the local
 * recipient and relayed to B: dkimpy verifies both copies, RSA and Ed25519. The bounce for a
 * recipient B refuses is signed with the key of A's hostname's domain and verifies too; a
 * message from the MX listener is stored unsigned.
 */
import assert from "node:assert/strict";
import { mail, type ServeProcess } from "../_helpers/mail_process.ts";
import { python } from "../_helpers/python.ts";
import {
  dataWithUsers,
  PASSWORD,
  queueJson,
  serveDomain,
  storedMessages,
  waitFor,
} from "../queue/_helpers.ts";
import { dkimpyVerify } from "./_dkimpy.ts";

const SUBMIT = `
import smtplib, sys
port, user, password, sender = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
rcpts = sys.argv[5].split(',')
msg = open(sys.argv[6], 'rb').read()
with smtplib.SMTP('127.0.0.1', port, timeout=30) as s:
    s.ehlo('client.test')
    if user:
        s.login(user, password)
    s.sendmail(sender, rcpts, msg, mail_options=['SMTPUTF8'] if user else [])
`;

async function submit(port: number, user: string, to: string[], message: string) {
  const file = await Deno.makeTempFile();
  await Deno.writeTextFile(file, message);
  const r = await python(SUBMIT, [String(port), user, PASSWORD, "ann@a.test", to.join(","), file]);
  assert.equal(r.code, 0, r.err);
}

const attachment = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(30_000))))
  .replace(/.{76}/g, "$&\r\n");

const MESSAGE = "From: Änn Ünïcode <ann@a.test>\r\nTo: Bob <bob@example.org>, ann@a.test\r\n" +
  "Subject: Grüße — signed\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\n" +
  'Message-ID: <e2e@a.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n' +
  `\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n` +
  `Tschüß ${
    "long ".repeat(190)
  }\r\n  trailing   \r\n--b\r\nContent-Type: application/octet-stream\r\n` +
  `Content-Transfer-Encoding: base64\r\n\r\n${attachment}\r\n--b--\r\n\r\n\r\n\r\n`;

async function records(dir: string): Promise<Record<string, string>> {
  const r = await mail(["dkim", "list", "--json", "--data", dir]);
  assert.equal(r.code, 0, r.err);
  const keys = JSON.parse(r.out) as { domain: string; selector: string; record: string }[];
  return Object.fromEntries(keys.map((k) => [`${k.selector}._domainkey.${k.domain}`, k.record]));
}

Deno.test("serve: submissions signed once for local and relayed copies; bounces signed; MX mail not", async () => {
  const aDir = await dataWithUsers(["ann@a.test"]);
  const bDir = await dataWithUsers(["bob@example.org"]);
  for (const algorithm of ["rsa", "ed25519"]) {
    const r = await mail(["dkim", "generate", "a.test", "--algorithm", algorithm, "--data", aDir]);
    assert.equal(r.code, 0, r.err);
  }
  const published = await records(aDir);
  let a: ServeProcess | undefined;
  const b = await serveDomain(bDir, "example.org");
  try {
    a = await serveDomain(aDir, "a.test", ["--route", `example.org=127.0.0.1:${b.smtpPort}`]);
    await submit(a.submissionPort, "ann@a.test", ["ann@a.test", "bob@example.org"], MESSAGE);

    const [relayed] = await waitFor("delivery to B", async () => {
      const m = await storedMessages(bDir, "bob@example.org");
      return m.length > 0 ? m : undefined;
    });
    const [local] = await storedMessages(aDir, "ann@a.test");
    for (const copy of [local!, relayed!]) {
      const verdicts = await dkimpyVerify(copy, published);
      assert.deepEqual(verdicts.map((v) => [v.d, v.a, v.ok]), [
        ["a.test", "rsa-sha256", true],
        ["a.test", "ed25519-sha256", true],
      ]);
    }

    // A recipient B refuses: the bounce to ann, from MAILER-DAEMON@mx.a.test, signed for a.test.
    await submit(a.submissionPort, "ann@a.test", ["nobody@example.org"], MESSAGE);
    const bounce = await waitFor("the bounce", async () => {
      const m = await storedMessages(aDir, "ann@a.test");
      return m.find((x) => new TextDecoder().decode(x).includes("multipart/report"));
    });
    await waitFor("A's queue to empty", async () => (await queueJson(aDir)).length === 0);
    const verdicts = await dkimpyVerify(bounce, published);
    assert.deepEqual(verdicts.map((v) => [v.d, v.ok]), [["a.test", true], ["a.test", true]]);
    assert.match(new TextDecoder().decode(bounce), /^From: .*MAILER-DAEMON@mx\.a\.test/m);

    // The MX listener: not ours to sign, even with a From: in a.test.
    const before = (await storedMessages(aDir, "ann@a.test")).length;
    await submit(a.smtpPort, "", ["ann@a.test"], MESSAGE.replace("e2e@", "mx@"));
    const all = await waitFor("the MX message", async () => {
      const m = await storedMessages(aDir, "ann@a.test");
      return m.length > before ? m : undefined;
    });
    const fromMx = all.find((x) => new TextDecoder().decode(x).includes("<mx@a.test>"))!;
    assert.doesNotMatch(new TextDecoder().decode(fromMx), /DKIM-Signature/i);
  } finally {
    await a?.stop();
    await b.stop();
  }
});
