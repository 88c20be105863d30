/**
 * DKIM verification of received mail (RFC 6376 §6), Ed25519 (RFC 8463) included: a strict,
 * bounded parser of DKIM-Signature fields, the canonicalizations of `src/dkim/canon.ts`, keys
 * from `s._domainkey.d` through the checks' resolver; RSA signatures checked by `rsa_verify.ts`,
 * Ed25519 ones by Web Crypto. Its results have the shape and the statuses mailauth's `dkimVerify`
 * gives (its lenient mode), so that mailauth's DMARC and the Authentication-Results writer take
 * them as they are. Written
 * instead of using mailauth's verifier because that one cost most of the checks' time per
 * message (its stream parser and byte-wise canonicalization, and RSA through `node:crypto` on
 * the main thread; docs/performance.md has the figures).
 *
 * Where it differs from mailauth on purpose: `rsa-sha1` signatures are not verified (RFC 8301
 * §3.1: "MUST NOT be used for ... verifying"), they are a `permerror` "insecure algorithm"; a
 * signature with `l=` that passes says in its comment how much of the body it covered (RFC 6376
 * §8.2: the rest could be anything); a signature whose tag list breaks RFC 6376 §3.2 or §3.5 (a
 * tag twice, v= not 1, no h=, an i= outside d=) is `neutral` unverified, as mailauth's strict mode
 * has it, where its lenient mode verifies it anyway.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHash, type Hash } from "node:crypto";
import {
  type HeaderField,
  RelaxedBody,
  relaxedHeader,
  SimpleBody,
  simpleHeader,
} from "../dkim/canon.ts";
import { fromLatin1 } from "../bytes.ts";
import { isFws, trimmed } from "../trim.ts";
import type { Resolve } from "./lookups.ts";
import { type RsaPublicKey, rsaPublicKey, verifyRsaSha256 } from "./rsa_verify.ts";

/** One signature's result, as mailauth's `dkimVerify` gives it (the parts the checks read). */
export interface DkimResult {
  /** d=, absent for a message without signatures. */
  readonly signingDomain?: string;
  readonly status: {
    readonly result: string;
    readonly comment?: string;
    /** Canonical body bytes after the l= length, not covered by the signature. */
    readonly underSized?: number;
    /** For Authentication-Results (RFC 8601 §2.7.1): i (as `@d`), s, a, and b's first 8. */
    readonly header?: Readonly<Record<string, string>>;
  };
}

/** Tags per signature or key record at most: RFC 6376 defines 14, a few unknown ones pass. */
const MAX_TAGS = 64;

/** Names in h= at most: RFC 6376 §5.4.1's list, oversigned, is under 60. */
const MAX_SIGNED_FIELDS = 200;

/** Key records kept (parsed and imported) across messages, by their text. */
const MAX_KEYS = 256;

/** The smallest RSA key accepted (RFC 8301 §3.2: verifiers MUST NOT accept smaller ones). */
const MIN_RSA_BITS = 1024;

/**
 * The largest RSA key used: RFC 8301 §3.2 asks verifiers for keys up to 4096 bits, and Web
 * Crypto here verifies no larger ones (its error would be the comment otherwise).
 */
const MAX_RSA_BITS = 4096;

type Tags = Map<string, string>;

/**
 * RFC 6376 §3.2 tag-list: `name = value` separated by `;`, white space (FWS) around names and
 * values ignored. Undefined for a list that is not one (a tag without `=`, a bad name, a
 * duplicate, too many tags).
 */
export function parseTagList(text: string): Tags | undefined {
  const tags: Tags = new Map();
  const specs = text.split(";");
  // A final ";" is allowed: the empty spec after it is not a tag.
  if (specs.length > 0 && /^[ \t\r\n]*$/.test(specs[specs.length - 1]!)) specs.pop();
  if (specs.length > MAX_TAGS) return undefined;
  for (const spec of specs) {
    const eq = spec.indexOf("=");
    if (eq < 0) return undefined;
    const name = trimmed(spec, isFws, isFws, 0, eq);
    if (!TAG_NAME.test(name) || tags.has(name)) return undefined;
    tags.set(name, trimmed(spec, isFws, isFws, eq + 1));
  }
  return tags;
}

const TAG_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/** A signature whose tags are understood; what verifying it needs. */
interface Signature {
  readonly field: HeaderField;
  readonly algorithm: "rsa-sha256" | "ed25519-sha256" | "rsa-sha1";
  readonly headerCanon: "simple" | "relaxed";
  readonly bodyCanon: "simple" | "relaxed";
  readonly d: string;
  readonly s: string;
  /** h=, lower case. */
  readonly signed: readonly string[];
  readonly bh: string;
  readonly b: string;
  readonly length?: number | undefined;
  readonly expires?: number | undefined;
  readonly timestamp?: number | undefined;
  readonly header: Record<string, string>;
}

/** Why a signature is not verified, and how it is reported (mailauth's lenient statuses). */
type Unverified = { skip: true } | { status: string; comment: string };

const DIGITS = /^[0-9]+$/;

const b64 = (value: string) => value.replace(/[ \t\r\n]+/g, "");

/** The signature in FIELD, or why it is not verified (RFC 6376 §6.1.1). */
function readSignature(
  field: HeaderField,
): Signature | Unverified & { header?: Record<string, string>; d?: string; b?: string } {
  const colon = field.raw.indexOf(":");
  const tags = parseTagList(field.raw.slice(colon + 1));
  if (tags === undefined) return { status: "neutral", comment: "signature syntax error" };
  const d = tags.get("d") ?? "";
  const s = tags.get("s") ?? "";
  const a = (tags.get("a") ?? "").toLowerCase();
  const b = b64(tags.get("b") ?? "");
  const header: Record<string, string> = {};
  if (d) header.i = `@${d}`;
  if (s) header.s = s;
  if (tags.get("a")) header.a = tags.get("a")!;
  if (b) header.b = b.slice(0, 8);
  const known = { header, d, b };
  // Signatures nobody can verify are left out, as mailauth does: an unknown algorithm or
  // canonicalization, no domain or selector.
  if (a !== "rsa-sha256" && a !== "ed25519-sha256" && a !== "rsa-sha1") return { skip: true };
  const [hc = "simple", bc = "simple", ...more] = (tags.get("c") ?? "simple").toLowerCase()
    .split("/").map((x) => x.trim());
  const canons = ["simple", "relaxed"];
  if (more.length > 0 || !canons.includes(hc) || !canons.includes(bc)) return { skip: true };
  if (!d || !s) return { skip: true };
  for (const required of ["v", "a", "b", "bh", "d", "h", "s"]) {
    if (!tags.has(required)) {
      return { status: "neutral", comment: "signature missing required tag", ...known };
    }
  }
  if (tags.get("v") !== "1") {
    return { status: "neutral", comment: "incompatible version", ...known };
  }
  const numeric = (tag: string, digits: number) => {
    const v = tags.get(tag);
    if (v === undefined) return undefined;
    return v.length >= 1 && v.length <= digits && DIGITS.test(v) ? Number(v) : NaN;
  };
  const length = numeric("l", 76);
  const t = numeric("t", 12);
  const x = numeric("x", 12);
  if ([length, t, x].some((n) => Number.isNaN(n))) {
    return { status: "neutral", comment: "signature syntax error", ...known };
  }
  const signed = tags.get("h")!.split(":").map((n) => n.trim().toLowerCase()).filter((n) => n);
  // Each name is looked for among the fields: a hostile h= could make that quadratic.
  if (signed.length > MAX_SIGNED_FIELDS) {
    return { status: "neutral", comment: "too many signed fields", ...known };
  }
  if (!signed.includes("from")) {
    return { status: "neutral", comment: "From field not signed", ...known };
  }
  const i = tags.get("i");
  if (i !== undefined) {
    const at = i.lastIndexOf("@");
    const domain = i.slice(at + 1).toLowerCase().replace(/\.$/, "");
    const dd = d.toLowerCase().replace(/\.$/, "");
    if (at < 0 || (domain !== dd && !domain.endsWith(`.${dd}`))) {
      return { status: "neutral", comment: "domain mismatch", ...known };
    }
  }
  return {
    field,
    algorithm: a,
    headerCanon: hc as "simple" | "relaxed",
    bodyCanon: bc as "simple" | "relaxed",
    d,
    s,
    signed,
    bh: b64(tags.get("bh")!),
    b,
    length,
    expires: x,
    timestamp: t,
    header,
  };
}

/**
 * RFC 6376 §3.7: the header fields h= names, each name taking the last of its fields not yet
 * taken (a name with none left adds nothing), then the signature's own field with its b= value
 * emptied, without its CRLF.
 */
function signedHeader(sig: Signature, fields: readonly HeaderField[]): string {
  const canon = sig.headerCanon === "relaxed" ? relaxedHeader : simpleHeader;
  const used = new Set<number>();
  let text = "";
  for (const name of sig.signed) {
    for (let k = fields.length - 1; k >= 0; k--) {
      if (fields[k]!.key === name && !used.has(k)) {
        used.add(k);
        text += canon(fields[k]!.raw);
        break;
      }
    }
  }
  return text + canon(withoutB(sig.field.raw), true);
}

/** The field with the value of its b= tag (and the white space around it) removed. */
function withoutB(raw: string): string {
  const colon = raw.indexOf(":");
  const specs = raw.slice(colon + 1).split(";");
  for (let k = 0; k < specs.length; k++) {
    const eq = specs[k]!.indexOf("=");
    if (eq >= 0 && specs[k]!.slice(0, eq).trim() === "b") specs[k] = specs[k]!.slice(0, eq + 1);
  }
  return raw.slice(0, colon + 1) + specs.join(";");
}

/**
 * Run buffers for relaxed body hashes, used again from message to message: a body is hashed
 * from start to end in one synchronous pass, so a buffer is back here before the next message.
 */
const runBuffers: Uint8Array[] = [];

/** The body hash of one canonicalization and length, fed the body once. */
class BodyHash {
  readonly #hash: Hash = createHash("sha256");
  readonly #limit: number;
  /** Canonical bytes in all, hashed or not. */
  total = 0;
  readonly #canon: RelaxedBody | SimpleBody;
  readonly #buffer: Uint8Array | undefined;

  constructor(canon: "simple" | "relaxed", limit: number | undefined) {
    this.#limit = limit ?? Infinity;
    const sink = (bytes: Uint8Array) => {
      const room = this.#limit - this.total;
      if (room > 0) this.#hash.update(room >= bytes.length ? bytes : bytes.subarray(0, room));
      this.total += bytes.length;
    };
    if (canon === "relaxed") {
      this.#buffer = runBuffers.pop() ?? new Uint8Array(16 * 1024);
      this.#canon = new RelaxedBody(sink, this.#buffer);
    } else {
      this.#canon = new SimpleBody(sink);
    }
  }

  update(bytes: Uint8Array): void {
    this.#canon.update(bytes);
  }

  /** The hash, base64, once the body is over. */
  end(): string {
    this.#canon.end();
    // A few are kept: one per canonicalization and l= of a message's signatures in use at once.
    if (this.#buffer !== undefined && runBuffers.length < 4) runBuffers.push(this.#buffer);
    return this.#hash.digest("base64");
  }
}

/** A key from a DKIM key record (RFC 6376 §3.6.1), or why there is none. */
type Key =
  | { key: CryptoKey; type: "ed25519"; bits: number; hashes?: string[] | undefined }
  | { key: RsaPublicKey; type: "rsa"; bits: number; hashes?: string[] | undefined }
  | { error: string };

/** Key records already imported, by their text: the same record is the same key. */
const keys = new Map<string, Promise<Key>>();

function keyOf(record: string): Promise<Key> {
  let key = keys.get(record);
  if (key === undefined) {
    key = importKey(record);
    if (keys.size >= MAX_KEYS) keys.delete(keys.keys().next().value!);
    keys.set(record, key);
  }
  return key;
}

async function importKey(record: string): Promise<Key> {
  // Key records are read leniently, as mailauth does: a bad tag costs nothing but itself.
  const tags: Tags = new Map();
  for (const spec of record.split(";").slice(0, MAX_TAGS)) {
    const eq = spec.indexOf("=");
    if (eq > 0) tags.set(spec.slice(0, eq).trim().toLowerCase(), spec.slice(eq + 1).trim());
  }
  const v = tags.get("v");
  if (v !== undefined && v.toLowerCase() !== "dkim1") return { error: "unknown key version" };
  const list = (tag: string) =>
    tags.get(tag)?.split(":").map((x) => x.trim().toLowerCase()).filter((x) => x);
  const services = list("s");
  if (services && !services.includes("email") && !services.includes("*")) {
    return { error: "key not for email" };
  }
  const p = b64(tags.get("p") ?? "");
  // An empty p= is a revoked key (RFC 6376 §3.6.1).
  if (!p || !/^[A-Za-z0-9+/]+={0,2}$/.test(p)) return { error: "invalid public key" };
  const der = new Uint8Array(Buffer.from(p, "base64"));
  const k = (tags.get("k") ?? "").toLowerCase();
  const hashes = list("h");
  try {
    if (der.length === 32 && k !== "rsa") {
      const key = await crypto.subtle.importKey("raw", der, "Ed25519", false, ["verify"]);
      return { key, type: "ed25519", bits: 256, hashes };
    }
    if (k === "ed25519") {
      const key = await crypto.subtle.importKey("spki", der, "Ed25519", false, ["verify"]);
      return { key, type: "ed25519", bits: 256, hashes };
    }
    if (k !== "" && k !== "rsa") return { error: "unknown key type" };
    const key = await rsaPublicKey(der, isBareRsaKey(der));
    return { key, type: "rsa", bits: key.bits, hashes };
  } catch {
    return { error: "unknown key type" };
  }
}

/** Whether DER is a bare RSAPublicKey (a SEQUENCE that starts with an INTEGER). */
function isBareRsaKey(der: Uint8Array): boolean {
  if (der.length < 3 || der[0] !== 0x30) return false;
  const head = der[1]! < 0x80 ? 2 : 2 + (der[1]! & 0x7f);
  return der[head] === 0x02;
}

/** What verifying a message's signatures needs besides its header fields and body. */
export interface DkimInput {
  readonly resolve: Resolve;
  /** Seconds since the epoch, for x= (RFC 6376 §3.5). */
  readonly now: number;
}

/**
 * Verifies every DKIM-Signature among FIELDS over BODY (the message's body, in chunks). The
 * caller bounds how many there are. A message without one gets one result, `none`.
 */
export async function verifyDkim(
  fields: readonly HeaderField[],
  body: readonly Uint8Array[],
  input: DkimInput,
): Promise<DkimResult[]> {
  const read = fields.filter((f) => f.key === "dkim-signature").map(readSignature);
  // One body hash per canonicalization and length, started before any key is asked for.
  const hashes = new Map<string, BodyHash>();
  for (const r of read) {
    if (!("field" in r)) continue;
    const id = `${r.bodyCanon}:${r.length ?? ""}`;
    if (!hashes.has(id)) hashes.set(id, new BodyHash(r.bodyCanon, r.length));
  }
  // The key lookups go out at once, while the body is hashed.
  const lookups = read.map((r) =>
    "field" in r && r.algorithm !== "rsa-sha1" ? lookUpKey(r, input.resolve) : undefined
  );
  for (const l of lookups) l?.catch(() => {});
  if (hashes.size > 0) {
    for (const chunk of body) for (const h of hashes.values()) h.update(chunk);
  }
  const digests = new Map([...hashes].map(([id, h]) => [id, { hash: h.end(), total: h.total }]));
  const results: DkimResult[] = [];
  for (let n = 0; n < read.length; n++) {
    const r = read[n]!;
    if ("skip" in r) continue;
    // mailauth also gives each result an id (a hash of b=) for DMARC to report; the checks
    // neither report it nor let it change a verdict, so it is not worked out.
    const base = r.d ? { signingDomain: r.d } : {};
    if (!("field" in r)) {
      results.push({
        ...base,
        status: { result: r.status, comment: r.comment, header: r.header ?? {} },
      });
      continue;
    }
    const digest = digests.get(`${r.bodyCanon}:${r.length ?? ""}`)!;
    const underSized = r.length !== undefined && digest.total > r.length
      ? digest.total - r.length
      : undefined;
    const signature = new Uint8Array(Buffer.from(r.b, "base64"));
    const status = await verifyOne(r, fields, digest.hash, signature, lookups[n], input.now);
    results.push({
      ...base,
      status: {
        ...status,
        ...(underSized !== undefined ? { underSized } : {}),
        ...(status.result === "pass" && r.length !== undefined && underSized !== undefined
          ? { comment: `l=${r.length}, ${underSized} body bytes not signed` }
          : {}),
        header: r.header,
      },
    });
  }
  if (results.length === 0) {
    results.push({ status: { result: "none", comment: "message not signed" } });
  }
  return results;
}

async function lookUpKey(sig: Signature, resolve: Resolve): Promise<Key> {
  let answer: unknown;
  try {
    answer = await resolve(`${sig.s}._domainkey.${sig.d}`, "TXT");
  } catch (err) {
    const code = (err as { code?: unknown })?.code;
    if (code === "ENOTFOUND" || code === "ENODATA") return { error: "no key" };
    throw err;
  }
  // The first record's strings, joined (RFC 6376 §3.6.2.2), white space removed as mailauth does.
  const first = Array.isArray(answer) ? answer[0] : undefined;
  const record = (Array.isArray(first) ? first.join("") : String(first ?? "")).replace(/\s+/g, "");
  if (!record) return { error: "invalid public key" };
  return await keyOf(record);
}

async function verifyOne(
  sig: Signature,
  fields: readonly HeaderField[],
  bodyHash: string,
  /** b=, decoded. */
  signature: Uint8Array<ArrayBuffer>,
  lookup: Promise<Key> | undefined,
  now: number,
): Promise<{ result: string; comment?: string }> {
  if (sig.algorithm === "rsa-sha1" || lookup === undefined) {
    return { result: "permerror", comment: "insecure algorithm" };
  }
  // RFC 6376 §6.1.3 step 3 is a PERMFAIL; mailauth reports it as neutral, and so do we.
  if (bodyHash !== sig.bh) return { result: "neutral", comment: "body hash did not verify" };
  let key: Key;
  try {
    key = await lookup;
  } catch (err) {
    const code = (err as { code?: unknown })?.code;
    return { result: "temperror", comment: `DNS failure: ${code ?? (err as Error).message}` };
  }
  if ("error" in key) return { result: "neutral", comment: key.error };
  if (key.hashes && !key.hashes.includes("sha256")) {
    return { result: "neutral", comment: "inappropriate hash algorithm" };
  }
  if (key.type === "rsa" && key.bits > MAX_RSA_BITS) {
    return { result: "neutral", comment: "key too large" };
  }
  if (key.type === "rsa" && key.bits < MIN_RSA_BITS) {
    return { result: "policy", comment: "weak key" };
  }
  const type = sig.algorithm === "rsa-sha256" ? "rsa" : "ed25519";
  if (key.type !== type) return { result: "neutral", comment: "inappropriate key algorithm" };
  // The canonical header is one char per octet; its octets are hashed.
  const data = fromLatin1(signedHeader(sig, fields));
  let ok: boolean;
  try {
    const digest = createHash("sha256").update(data).digest();
    ok = key.type === "rsa"
      ? verifyRsaSha256(key.key, digest, signature)
      // RFC 8463 §3: Ed25519 signs the SHA-256 of the canonical header.
      : await crypto.subtle.verify("Ed25519", key.key, signature, digest);
  } catch (err) {
    return { result: "neutral", comment: (err as Error).message };
  }
  if (!ok) return { result: "fail", comment: "bad signature" };
  // RFC 6376 §3.5: x= must be later than t=, and a signature past its x= is not valid.
  if (sig.expires !== undefined && sig.timestamp !== undefined && sig.expires < sig.timestamp) {
    return { result: "neutral", comment: "invalid expiration" };
  }
  if (sig.expires !== undefined && sig.expires < now) {
    return { result: "neutral", comment: "expired" };
  }
  return { result: "pass" };
}
