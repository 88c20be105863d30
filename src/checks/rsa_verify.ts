/**
 * RSASSA-PKCS1-v1_5 verification with SHA-256 (RFC 8017 §8.2.2), the one RSA operation DKIM
 * verifiers do (RFC 6376 §3.3.1). It is done here with BigInt, not with Web Crypto, because a
 * public-key operation is a few modular squarings (17 for e = 65537), which V8's BigInt does
 * several times faster than the runtime's RSA code, and on the main thread without a handoff to
 * another one (docs/performance.md has the figures). Only public data goes in, so its timing
 * tells nothing worth hiding.
 *
 * @module
 */
import { Buffer } from "node:buffer";

/** An RSA public key: the modulus, the public exponent, and the modulus's length. */
export interface RsaPublicKey {
  readonly n: bigint;
  readonly e: bigint;
  /** The modulus's length in bits. */
  readonly bits: number;
  /** The modulus's length in octets: k in RFC 8017. */
  readonly k: number;
}

/**
 * Reads DER, a SubjectPublicKeyInfo (RFC 5280 §4.1) or, when BARE, an RSAPublicKey (RFC 8017
 * §A.1.1, which some DKIM records publish), as an RSA public key. Web Crypto parses it (as it
 * did when it verified too, so the same records are accepted); the numbers are taken out of it.
 * Rejects when it is no RSA key.
 */
export async function rsaPublicKey(der: Uint8Array, bare: boolean): Promise<RsaPublicKey> {
  const spki = bare ? rsaSpki(der) : new Uint8Array(der);
  const algorithm = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  const key = await crypto.subtle.importKey("spki", spki, algorithm, true, ["verify"]);
  const jwk = await crypto.subtle.exportKey("jwk", key);
  const n = toBigInt(Buffer.from(jwk.n ?? "", "base64url"));
  const e = toBigInt(Buffer.from(jwk.e ?? "", "base64url"));
  // RFC 8017 §3.1: e is odd, at least 3 and less than n.
  if (n <= 0n || e < 3n || (e & 1n) === 0n || e >= n) throw new TypeError("Not an RSA key");
  const bits = n.toString(2).length;
  return { n, e, bits, k: Math.ceil(bits / 8) };
}

function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (; n > 0; n >>= 8) bytes.unshift(n & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

/** A bare RSAPublicKey wrapped as SubjectPublicKeyInfo (RFC 5280 §4.1, RFC 3279 §2.3.1). */
function rsaSpki(pkcs1: Uint8Array): Uint8Array<ArrayBuffer> {
  const algorithm = [
    0x30,
    0x0d,
    0x06,
    0x09,
    0x2a,
    0x86,
    0x48,
    0x86,
    0xf7,
    0x0d,
    0x01,
    0x01,
    0x01,
    0x05,
    0x00,
  ];
  const bitString = [0x03, ...derLength(pkcs1.length + 1), 0x00];
  const inner = algorithm.length + bitString.length + pkcs1.length;
  return new Uint8Array([0x30, ...derLength(inner), ...algorithm, ...bitString, ...pkcs1]);
}

/** The DER DigestInfo prefix for SHA-256 (RFC 8017 §9.2, note 1). */
const SHA256_PREFIX = Uint8Array.from([
  0x30,
  0x31,
  0x30,
  0x0d,
  0x06,
  0x09,
  0x60,
  0x86,
  0x48,
  0x01,
  0x65,
  0x03,
  0x04,
  0x02,
  0x01,
  0x05,
  0x00,
  0x04,
  0x20,
]);

/**
 * Whether SIGNATURE is KEY's RSASSA-PKCS1-v1_5 signature of a message whose SHA-256 is DIGEST
 * (RFC 8017 §8.2.2). The expected encoding is built and compared whole (the way §8.2.2 step 3
 * does it), so nothing in the signature is parsed.
 */
export function verifyRsaSha256(
  key: RsaPublicKey,
  digest: Uint8Array,
  signature: Uint8Array,
): boolean {
  // Step 1: the signature is exactly k octets.
  if (signature.length !== key.k || digest.length !== 32) return false;
  const s = toBigInt(signature);
  // RFC 8017 §5.2.2: a representative outside [0, n-1] is invalid.
  if (s >= key.n) return false;
  const em = modPow(s, key.e, key.n);
  const padding = paddingOf(key.k);
  return padding !== undefined && em === padding + toBigInt(digest);
}

/** The EMSA-PKCS1-v1_5 encodings' common part, by length: the same for every digest. */
const paddings = new Map<number, bigint>();

/**
 * EMSA-PKCS1-v1_5 (RFC 8017 §9.2) for K octets with the digest's 32 octets zero: 0x00 0x01,
 * PS (0xff, at least 8), 0x00, SHA-256's DigestInfo prefix. Undefined when K is too short.
 */
function paddingOf(k: number): bigint | undefined {
  const tLen = SHA256_PREFIX.length + 32;
  if (k < tLen + 11) return undefined;
  let padding = paddings.get(k);
  if (padding === undefined) {
    const encoded = new Uint8Array(k);
    encoded[1] = 0x01;
    encoded.fill(0xff, 2, k - tLen - 1);
    encoded.set(SHA256_PREFIX, k - tLen);
    padding = toBigInt(encoded);
    // Key lengths come from DNS: keep a few, not one per length anyone publishes.
    if (paddings.size >= 16) paddings.clear();
    paddings.set(k, padding);
  }
  return padding;
}

/** BASE^EXP mod M, by squaring from the exponent's top bit. */
function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  const bits = exp.toString(2);
  let r = base;
  for (let i = 1; i < bits.length; i++) {
    r = r * r % m;
    if (bits.charCodeAt(i) === 49) r = r * base % m;
  }
  return r;
}

/** The unsigned big-endian integer BYTES (OS2IP, RFC 8017 §4.2). */
function toBigInt(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  return BigInt(
    "0x" + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex"),
  );
}
