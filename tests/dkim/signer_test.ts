/**
 * The signer of `mail serve`, in process: which messages are signed (authenticated submissions
 * whose From: domain has a key) and which are not (the MX listener, clients that have not
 * logged in, domains without keys); the oldest key of an algorithm signs; keys added or
 * removed are seen within a reload check; a broken key logs an error per message and the mail
 * goes on unsigned; MAILER-DAEMON's notices are signed with the hostname's domain key.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { generateKey } from "../../src/dkim/keys.ts";
import { DkimSigner, DkimStage, KeyRing, RELOAD_CHECK_MS } from "../../src/dkim/signer.ts";
import { type LogRecord, resetLogging, setupLogging } from "../../src/log.ts";
import { notice } from "../../src/queue/bounces.ts";
import type { QueueEntry } from "../../src/store/mod.ts";
import { dkimpyVerify } from "./_dkimpy.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const text = (chunks: readonly Uint8Array[]) =>
  chunks.map((c) => new TextDecoder().decode(c)).join("");

const TRACE =
  "Return-Path: <ann@a.test>\r\nReceived: from c ([127.0.0.1])\r\n\tby mx.a.test; x\r\n";
function message(from: string) {
  const chunks = [
    enc(TRACE),
    enc(`From: ${from}\r\nTo: bob@b.test\r\nSubject: hi\r\n\r\nHello\r\n`),
  ];
  return { chunks, size: chunks[0]!.length + chunks[1]!.length };
}

const submission = { role: "submission" as const, authUser: "ann@a.test" };

async function recordsOf(dir: string): Promise<Record<string, string>> {
  const { loadKeys } = await import("../../src/dkim/keys.ts");
  return Object.fromEntries(
    loadKeys(dir).keys.map((k) => [`${k.selector}._domainkey.${k.domain}`, k.record]),
  );
}

Deno.test("stage: signs authenticated submissions from a domain with a key, nothing else", async () => {
  const dir = await Deno.makeTempDir();
  await generateKey(dir, "a.test", "r", "rsa");
  await generateKey(dir, "a.test", "e", "ed25519");
  const stage = new DkimStage(new DkimSigner(new KeyRing(dir)));
  const d = { id: "Q1" };

  const m = message("Ann <ann@a.test>");
  const signed = await stage.process(m, d, submission);
  const t = text(signed.chunks);
  assert.match(
    t,
    /^Return-Path: <ann@a\.test>\r\nDKIM-Signature: v=1; a=rsa-sha256;[^]*\r\nDKIM-Signature: v=1; a=ed25519-sha256;[^]*\r\nReceived: from c/,
  );
  assert.equal(signed.size, enc(t).length);
  const verdicts = await dkimpyVerify(enc(t), await recordsOf(dir));
  assert.deepEqual(verdicts.map((v) => [v.s, v.ok]), [["r", true], ["e", true]]);

  // Not signed: the MX listener, a client that has not logged in, a domain without a key.
  assert.equal(await stage.process(m, d, { role: "mx", authUser: undefined }), m);
  assert.equal(await stage.process(m, d, { role: "submission", authUser: undefined }), m);
  const other = message("Bob <bob@b.test>");
  assert.equal(await stage.process(other, d, submission), other);
  const none = message("undisclosed-recipients:;");
  assert.equal(await stage.process(none, d, submission), none);
});

Deno.test("key ring: the oldest key of an algorithm signs; changes seen within a check", async () => {
  const dir = await Deno.makeTempDir();
  let now = 1_000_000;
  const ring = new KeyRing(dir, () => now);
  assert.deepEqual(ring.keysFor("a.test").keys, []);
  // An empty key directory, then a key in it.
  await Deno.mkdir(join(dir, "dkim"));
  now += RELOAD_CHECK_MS;
  assert.deepEqual(ring.keysFor("a.test").keys, []);
  await generateKey(dir, "a.test", "first", "rsa");
  // Not looked at again before a check is due.
  assert.deepEqual(ring.keysFor("a.test").keys, []);
  now += RELOAD_CHECK_MS;
  assert.deepEqual(ring.keysFor("a.test").keys.map((k) => k.selector), ["first"]);
  await generateKey(dir, "a.test", "second", "rsa");
  now += RELOAD_CHECK_MS;
  assert.deepEqual(ring.keysFor("a.test").keys.map((k) => k.selector), ["first"]);
  await Deno.remove(join(dir, "dkim", "a.test", "first.pem"));
  now += RELOAD_CHECK_MS;
  assert.deepEqual(ring.keysFor("a.test").keys.map((k) => k.selector), ["second"]);
  // A key file rewritten in place (an editor, a restore) is read again too.
  await Deno.writeTextFile(join(dir, "dkim", "a.test", "second.pem"), "damaged\n");
  now += RELOAD_CHECK_MS;
  const found = ring.keysFor("a.test");
  assert.deepEqual(found.keys, []);
  assert.deepEqual(found.broken.map((b) => b.selector), ["second"]);
});

Deno.test("a broken key: an error logged per message, mail unsigned by it, the others still sign", async () => {
  const dir = await Deno.makeTempDir();
  await generateKey(dir, "a.test", "good", "ed25519");
  await Deno.writeTextFile(
    join(dir, "dkim", "a.test", "bad.pem"),
    "-----BEGIN PRIVATE KEY-----\nnope\n",
  );
  const logged: LogRecord[] = [];
  setupLogging("pretty", "info", (r) => logged.push(r));
  try {
    const stage = new DkimStage(new DkimSigner(new KeyRing(dir)));
    for (const id of ["Q1", "Q2"]) {
      const signed = await stage.process(message("ann@a.test"), { id }, submission);
      const t = text(signed.chunks);
      assert.equal(t.match(/DKIM-Signature:/g)?.length, 1);
      assert.match(t, /s=good;/);
    }
    const perMessage = logged.filter((r) =>
      r.level === "error" && r.properties["id"] !== undefined
    );
    assert.deepEqual(perMessage.map((r) => [r.properties["id"], r.properties["selector"]]), [[
      "Q1",
      "bad",
    ], ["Q2", "bad"]]);
    assert.ok(logged.every((r) => !JSON.stringify(r).includes("BEGIN PRIVATE KEY")));
  } finally {
    resetLogging();
  }
  // Only the broken key: delivered unsigned.
  await Deno.remove(join(dir, "dkim", "a.test", "good.pem"));
  const ring = new KeyRing(dir);
  const m = message("ann@a.test");
  setupLogging("pretty", "info", () => {});
  try {
    assert.equal(await new DkimStage(new DkimSigner(ring)).process(m, { id: "Q3" }, submission), m);
  } finally {
    resetLogging();
  }
});

const first: QueueEntry = {
  id: 1,
  messageRowId: 1,
  messageId: "ORIG1",
  sender: "ann@a.test",
  recipient: "bob@b.test",
  domain: "b.test",
  attempts: 1,
  nextAttempt: 0,
  lastReply: undefined,
  createdAt: 0,
  warned: false,
  receivedAt: 0,
};

Deno.test("notices: signed with the key of the hostname's nearest domain that has one", async () => {
  const dir = await Deno.makeTempDir();
  await generateKey(dir, "a.test", "n", "rsa");
  const signer = new DkimSigner(new KeyRing(dir));
  const original = enc("From: ann@a.test\r\nTo: bob@b.test\r\nSubject: x\r\n\r\nbody\r\n");
  const o = {
    hostname: "mx.a.test",
    localDomains: new Set(["a.test"]),
    sign: (m: Uint8Array, id: string) => signer.signNotice("mx.a.test", m, id),
  };
  const failed = {
    recipient: "bob@b.test",
    action: "failed" as const,
    status: "5.1.1",
    text: "550 no",
  };
  const bounce = notice(o, "failure", first, [failed], original, Date.now());
  const t = text(bounce.chunks);
  assert.match(
    t,
    /^Return-Path: <>\r\nDKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=a\.test;/,
  );
  assert.equal(bounce.size, enc(t).length);
  const verdicts = await dkimpyVerify(enc(t), await recordsOf(dir));
  assert.deepEqual(verdicts.map((v) => v.ok), [true]);
  // A delay warning the same way.
  const delayed = { ...failed, action: "delayed" as const, status: "4.4.1" };
  const warning = notice(o, "delay", first, [delayed], original, Date.now());
  const w = text(warning.chunks);
  assert.match(w, /^Return-Path: <>\r\nDKIM-Signature: /);
  assert.deepEqual((await dkimpyVerify(enc(w), await recordsOf(dir))).map((v) => v.ok), [true]);
  // Without a signer (or a key), a notice is as before: unsigned.
  const plain = notice({ ...o, sign: undefined }, "failure", first, [failed], original, Date.now());
  assert.doesNotMatch(text(plain.chunks), /DKIM-Signature/);
  // No key for the hostname or its parents: unsigned.
  assert.equal(signer.signNotice("mx.other.test", original, "X").length, 0);
});
