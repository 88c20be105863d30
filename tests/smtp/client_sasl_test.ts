import assert from "node:assert/strict";
import {
  chooseMechanism,
  decodeChallenge,
  loginResponses,
  plainResponse,
  SaslError,
} from "../../src/smtp/sasl.ts";

Deno.test("SASL PLAIN: NUL-separated, base64 of UTF-8 (RFC 4616 §2)", () => {
  assert.equal(plainResponse("ann@example.test", "s3cret"), "AGFubkBleGFtcGxlLnRlc3QAczNjcmV0");
  const decoded = atob(plainResponse("jörg", "pässwort"));
  const bytes = Uint8Array.from(decoded, (c) => c.charCodeAt(0));
  assert.equal(new TextDecoder().decode(bytes), "\0jörg\0pässwort");
});

Deno.test("SASL LOGIN and challenges", () => {
  assert.deepEqual(loginResponses("ann@example.test", "s3cret"), [
    "YW5uQGV4YW1wbGUudGVzdA==",
    "czNjcmV0",
  ]);
  assert.equal(decodeChallenge("VXNlcm5hbWU6"), "Username:");
  assert.equal(decodeChallenge("not base64!"), undefined);
});

Deno.test("SASL: bad credentials and mechanism choice", () => {
  assert.throws(() => plainResponse("", "x"), SaslError);
  assert.throws(() => plainResponse("a\0b", "x"), SaslError);
  assert.equal(chooseMechanism(["LOGIN", "PLAIN", "CRAM-MD5"]), "PLAIN");
  assert.equal(chooseMechanism(["login"]), "LOGIN");
  assert.equal(chooseMechanism(["CRAM-MD5"]), undefined);
});
