/**
 * Password hashing for SMTP AUTH accounts: scrypt (RFC 7914) from `node:crypto`.
 *
 * Stored form, self-describing so the cost can be raised later without breaking old hashes:
 *
 *     scrypt$N=32768,r=8,p=1$<salt, base64>$<hash, base64>
 *
 * N=32768, r=8 costs 128·N·r = 32 MiB and roughly 50-100 ms per hash: slow enough to make
 * offline guessing expensive, cheap enough for an AUTH exchange. Each run holds those 32 MiB
 * until it ends, and every AUTH attempt costs one, so a server must bound how many run at once
 * (`mail serve` does, in server/auth_limiter.ts). Passwords are never logged.
 *
 * Passwords are NFC-normalised before hashing (as SASLprep, RFC 4013, would in part), so the same
 * password typed on systems that compose accents differently still matches.
 *
 * @module
 */
import { randomBytes, scrypt, type ScryptOptions, timingSafeEqual } from "node:crypto";
import { Buffer } from "node:buffer";

const COST = { N: 32768, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const HASH_BYTES = 32;

/**
 * Verified instead when there is no such user, so a wrong address costs the same time as a
 * wrong password and the timing does not reveal which accounts exist. (The hash of a random
 * password nobody knows.)
 */
const DUMMY_HASH =
  "scrypt$N=32768,r=8,p=1$RkYMLRk873brcRmYy80+5g==$iYLeDzNNW3jO/RAjCQjmna07pigK9c9xkIoc3hTC/4I=";

/** Hashes `password` with a fresh random salt, in the stored form described above. */
export async function hashPassword(password: string): Promise<string> {
  if (password.length === 0) throw new Error("Password must not be empty");
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, HASH_BYTES, COST);
  return `scrypt$N=${COST.N},r=${COST.r},p=${COST.p}$${salt.toString("base64")}$${
    hash.toString("base64")
  }`;
}

/**
 * Whether `password` matches `stored` (a {@link hashPassword} result). `stored` undefined (no
 * such user) or malformed still costs one scrypt run, then yields false.
 */
export async function verifyPassword(
  password: string,
  stored: string | undefined,
): Promise<boolean> {
  const parsed = stored === undefined ? undefined : parse(stored);
  const target = parsed ?? parse(DUMMY_HASH)!;
  const actual = await derive(password, target.salt, target.hash.length, target.cost);
  // Constant-time, so the comparison does not leak how many leading bytes matched.
  const equal = timingSafeEqual(actual, target.hash);
  return parsed !== undefined && equal;
}

interface Cost {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

interface Parsed {
  readonly cost: Cost;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

const FORMAT = /^scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

/** Parses the stored form; undefined when malformed or with parameters out of sane bounds. */
function parse(stored: string): Parsed | undefined {
  const m = FORMAT.exec(stored);
  if (m === null) return undefined;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const salt = Buffer.from(m[4]!, "base64");
  const hash = Buffer.from(m[5]!, "base64");
  // Bounds keep a tampered hash from making verification allocate gigabytes or spin for minutes.
  const powerOfTwo = Number.isSafeInteger(N) && N > 1 && (N & (N - 1)) === 0;
  if (!powerOfTwo || N > 2 ** 20 || r < 1 || r > 32 || p < 1 || p > 16) return undefined;
  if (salt.length < 8 || hash.length < 16 || hash.length > 64) return undefined;
  return { cost: { N, r, p }, salt, hash };
}

function derive(password: string, salt: Buffer, length: number, cost: Cost): Promise<Buffer> {
  const options: ScryptOptions = {
    ...cost,
    // Node's default maxmem is 32 MiB, which N=32768, r=8 needs exactly and so exceeds.
    maxmem: 256 * cost.N * cost.r + 1024 * 1024,
  };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize("NFC"), salt, length, options, (err, key) => {
      if (err) reject(err);
      else resolve(key);
    });
  });
}
