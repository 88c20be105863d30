/**
 * RSASSA-PKCS1-v1_5/SHA-256 verification with BigInt, against `node:crypto`'s verify (an
 * implementation we did not write) over random messages, keys of each size DKIM meets, and
 * signatures broken every way a forger might try.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { Buffer } from "node:buffer";
import { createHash, generateKeyPairSync, type KeyObject, sign, verify } from "node:crypto";
import { rsaPublicKey, verifyRsaSha256 } from "../../src/checks/rsa_verify.ts";

interface TestKey {
  readonly bits: number;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly n: bigint;
  readonly d: bigint;
}

const big = (b64url: string) => BigInt("0x" + Buffer.from(b64url, "base64url").toString("hex"));

function makeKey(bits: number, publicExponent = 65537): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: bits,
    publicExponent,
  });
  const jwk = privateKey.export({ format: "jwk" });
  return { bits, privateKey, publicKey, n: big(jwk.n!), d: big(jwk.d!) };
}

const KEYS = [makeKey(1024), makeKey(2048), makeKey(2048, 3), makeKey(3072), makeKey(4096)];

const spki = (k: TestKey) => new Uint8Array(k.publicKey.export({ type: "spki", format: "der" }));
const sha256 = (data: Uint8Array) => new Uint8Array(createHash("sha256").update(data).digest());

function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  for (b %= m; e > 0n; e >>= 1n, b = b * b % m) if (e & 1n) r = r * b % m;
  return r;
}

function bytes(x: bigint, length: number): Uint8Array {
  return new Uint8Array(Buffer.from(x.toString(16).padStart(length * 2, "0"), "hex"));
}

/** A raw RSA signature of EM (any bytes, k long) with K's private key: for forged encodings. */
function rawSign(k: TestKey, em: Uint8Array): Uint8Array {
  const m = BigInt("0x" + Buffer.from(em).toString("hex"));
  return bytes(modPow(m, k.d, k.n), em.length);
}

const PREFIX = "3031300d060960864801650304020105000420";

/** EMSA-PKCS1-v1_5 of DIGEST for K, with its parts replaceable. */
function encoding(
  k: TestKey,
  digest: Uint8Array,
  { prefix = PREFIX, pad = 0xff, trailer = "" } = {},
): Uint8Array {
  const length = Math.ceil(k.bits / 8);
  const t = Buffer.concat([Buffer.from(prefix, "hex"), digest, Buffer.from(trailer, "hex")]);
  const em = new Uint8Array(length);
  em[1] = 1;
  em.fill(pad, 2, length - t.length - 1);
  em.set(t, length - t.length);
  return em;
}

Deno.test("RSA verify: node:crypto's signatures verify, for every key size and e = 3", async () => {
  for (const k of KEYS) {
    const key = await rsaPublicKey(spki(k), false);
    assert.deepEqual(key.bits, k.bits);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
        const signature = new Uint8Array(sign("sha256", data, k.privateKey));
        return verifyRsaSha256(key, sha256(data), signature);
      }),
      { numRuns: 20 },
    );
  }
});

Deno.test("RSA verify: agrees with node:crypto on altered signatures and messages", async () => {
  for (const k of KEYS.slice(0, 3)) {
    const key = await rsaPublicKey(spki(k), false);
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        fc.boolean(),
        (data, at, bit, alterMessage) => {
          const signature = new Uint8Array(sign("sha256", data, k.privateKey));
          const message = new Uint8Array(data);
          if (alterMessage) message[at % message.length]! ^= 1 << bit;
          else signature[at % signature.length]! ^= 1 << bit;
          const ours = verifyRsaSha256(key, sha256(message), signature);
          assert.deepEqual(ours, verify("sha256", message, k.publicKey, signature));
          assert(!ours);
        },
      ),
      { numRuns: 100 },
    );
  }
});

Deno.test("RSA verify: forged and malformed encodings are refused", async () => {
  const k = KEYS[1]!;
  const key = await rsaPublicKey(spki(k), false);
  const digest = sha256(new TextEncoder().encode("hello"));
  // The honest encoding, made by hand, verifies: the cases below differ only where they say.
  assert(verifyRsaSha256(key, digest, rawSign(k, encoding(k, digest))));
  const forged = {
    "padding of zeros": encoding(k, digest, { pad: 0x00 }),
    "DigestInfo without its NULL": encoding(k, digest, {
      prefix: "302f300b0609608648016503040201" + "0420",
    }),
    "SHA-1's DigestInfo": encoding(k, digest.subarray(0, 20), {
      prefix: "3021300906052b0e03021a05000414",
    }),
    "garbage after the hash": encoding(k, digest.subarray(0, 24), { trailer: "00".repeat(8) }),
    "block type 2": (() => {
      const em = encoding(k, digest);
      em[1] = 2;
      return em;
    })(),
  };
  for (const [name, em] of Object.entries(forged)) {
    const signature = rawSign(k, em);
    assert(!verifyRsaSha256(key, digest, signature), name);
    assert.deepEqual(verify("sha256", Buffer.from("hello"), k.publicKey, signature), false, name);
  }
  const good = new Uint8Array(sign("sha256", Buffer.from("hello"), k.privateKey));
  assert(!verifyRsaSha256(key, digest, good.subarray(1)), "one octet short");
  assert(!verifyRsaSha256(key, digest, new Uint8Array([0, ...good])), "one octet long");
  assert(!verifyRsaSha256(key, digest, bytes(k.n, 256)), "the modulus itself");
  assert(!verifyRsaSha256(key, digest, new Uint8Array(256).fill(0xff)), "above the modulus");
  assert(!verifyRsaSha256(key, digest, new Uint8Array(256)), "zero");
  assert(!verifyRsaSha256(key, digest.subarray(1), good), "a short digest");
});

Deno.test("RSA verify: keys are read from SubjectPublicKeyInfo and bare RSAPublicKey", async () => {
  const k = KEYS[1]!;
  const bare = new Uint8Array(k.publicKey.export({ type: "pkcs1", format: "der" }));
  const a = await rsaPublicKey(spki(k), false);
  const b = await rsaPublicKey(bare, true);
  assert.deepEqual([a.n, a.e, a.k], [b.n, b.e, 256]);
  await assert.rejects(() => rsaPublicKey(bare, false));
  await assert.rejects(() => rsaPublicKey(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]), true));
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey;
  await assert.rejects(() =>
    rsaPublicKey(new Uint8Array(ec.export({ type: "spki", format: "der" })), false)
  );
});
