/**
 * Our DKIM signatures, judged by verifiers we did not write: dkimpy for every kind of message
 * the issue names (UTF-8 header fields, long lines, attachments, trailing blank lines), RSA and
 * Ed25519 side by side; mailauth's verifier as a second opinion.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { generateKey, loadKeys } from "../../src/dkim/keys.ts";
import { dkimSignatures, MAX_INSTANCES } from "../../src/dkim/sign.ts";
import { dkimpyVerify } from "./_dkimpy.ts";

const enc = (s: string) => new TextEncoder().encode(s);

async function keysFor(domain: string) {
  const dir = await Deno.makeTempDir({ prefix: "mail-dkim-" });
  await generateKey(dir, domain, "r1", "rsa");
  await generateKey(dir, domain, "e1", "ed25519");
  const { keys } = loadKeys(dir);
  const records = Object.fromEntries(
    keys.map((k) => [`${k.selector}._domainkey.${domain}`, k.record]),
  );
  return { keys, records };
}

const { keys, records } = await keysFor("example.com");

function signed(message: Uint8Array): Uint8Array {
  const fields = enc(dkimSignatures(message, keys, new Date()));
  const out = new Uint8Array(fields.length + message.length);
  out.set(fields);
  out.set(message, fields.length);
  return out;
}

const HEAD = "From: Ann <ann@example.com>\r\nTo: bob@example.org\r\nSubject: test\r\n" +
  "Date: Thu, 03 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@example.com>\r\n";

const attachment = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(60_000))))
  .replace(/.{76}/g, "$&\r\n");

const MESSAGES: Record<string, string> = {
  "plain": HEAD + "\r\nHello.\r\n",
  "UTF-8 header fields (SMTPUTF8)":
    "From: Zoë Ünïcode <zoë@example.com>\r\nTo: 用户@例子.广告\r\n" +
    "Subject: Grüße aus Köln — ✓\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\n" +
    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n" +
    "Content-Transfer-Encoding: 8bit\r\n\r\nTschüß, 世界\r\n",
  // The last octet of à (C3 A0) and of Р (D0 A0) is NBSP in Latin-1: JavaScript's trim() would
  // take it for white space, which relaxed canonicalization does not (RFC 6376 §3.4.2: WSP only).
  "UTF-8 header values ending in octet A0":
    "From: Ann <ann@example.com>\r\nTo: bob@example.org\r\n" +
    "Subject: Voilà\r\nX-Name: Гоша Р\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\n" +
    "Content-Type: text/plain; charset=utf-8\r\n\r\nà\r\n",
  "long lines": HEAD + `X-Long: ${"h".repeat(3000)}\r\n` + "\r\n" + "x".repeat(20_000) +
    "\r\n" + "y ".repeat(5000) + "\r\n",
  "an attachment": HEAD + 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n' +
    "\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n--b\r\nContent-Type: " +
    "application/octet-stream\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: " +
    `attachment; filename="x.bin"\r\n\r\n${attachment}\r\n--b--\r\n`,
  "trailing blank lines and white space": HEAD + "\r\nText  with \t spaces \t\r\n\r\n \r\n" +
    "\t\r\n\r\n\r\n\r\n",
  "an empty body": HEAD + "\r\n",
  "no body at all": HEAD,
  "folded header fields, odd spacing": "from:   Ann\r\n <ann@example.com>\r\nSUBJECT:\tsplit\r\n" +
    "\t over  lines \r\nTo: a@x.test\r\nTo: b@x.test\r\nCc: c@x.test\r\n\r\nbody\r\n",
};

for (const [name, text] of Object.entries(MESSAGES)) {
  Deno.test(`dkimpy verifies our RSA and Ed25519 signatures: ${name}`, async () => {
    const verdicts = await dkimpyVerify(signed(enc(text)), records);
    assert.equal(verdicts.length, 2);
    assert.deepEqual(verdicts.map((v) => [v.a, v.ok]), [["rsa-sha256", true], [
      "ed25519-sha256",
      true,
    ]]);
    for (const v of verdicts) assert.equal(v.d, "example.com");
  });
}

Deno.test("dkimpy fails our signatures once the message changes", async () => {
  const message = signed(enc(MESSAGES["plain"]!));
  const text = new TextDecoder().decode(message);
  const bodyChanged = enc(text.replace("Hello.", "Hellp."));
  assert.deepEqual((await dkimpyVerify(bodyChanged, records)).map((v) => v.ok), [false, false]);
  // Oversigned: a second Subject above the signed one is not allowed in.
  const added = enc(text.replace("From: Ann", "Subject: added\r\nFrom: Ann"));
  assert.deepEqual((await dkimpyVerify(added, records)).map((v) => v.ok), [false, false]);
  // Unsigned fields may be added (a Received on the way).
  const relayed = enc("Received: by relay\r\n" + text);
  assert.deepEqual((await dkimpyVerify(relayed, records)).map((v) => v.ok), [true, true]);
});

Deno.test("h=: each present field per occurrence, From/To/Subject/Date once more", () => {
  const fields = dkimSignatures(
    enc(MESSAGES["folded header fields, odd spacing"]!),
    keys.slice(0, 1),
    new Date(),
  );
  const h = /h=([^;]*);/.exec(fields.replace(/\r\n\t/g, ""))![1]!;
  assert.equal(h, "from:from:subject:subject:date:to:to:to:cc");
  // Bounded: a header of 500 To fields names at most MAX_INSTANCES of them.
  const many = enc(HEAD + "To: x@y.test\r\n".repeat(500) + "\r\nbody\r\n");
  const big = dkimSignatures(many, keys.slice(0, 1), new Date()).replace(/\r\n\t/g, "");
  const names = /h=([^;]*);/.exec(big)![1]!.split(":");
  assert.equal(names.filter((n) => n === "to").length, MAX_INSTANCES + 1);
});

Deno.test("a message without From cannot be signed", () => {
  assert.throws(() => dkimSignatures(enc("Subject: x\r\n\r\nbody\r\n"), keys, new Date()), /From/);
});

Deno.test("mailauth's verifier agrees: RSA and Ed25519 pass", async () => {
  const { dkimVerify } = await import("mailauth/lib/dkim/verify.js");
  const message = signed(enc(MESSAGES["UTF-8 header fields (SMTPUTF8)"]!));
  const resolver = (name: string) => {
    const r = records[name.replace(/\.$/, "")];
    if (r === undefined) {
      return Promise.reject(Object.assign(new Error("none"), { code: "ENOTFOUND" }));
    }
    return Promise.resolve([[r]]);
  };
  const result = await dkimVerify(Buffer.from(message), { resolver });
  const statuses = result.results.map((r: { status: { result: string } }) => r.status.result);
  assert.deepEqual(statuses, ["pass", "pass"]);
});
