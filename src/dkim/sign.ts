/**
 * DKIM-Signature fields (RFC 6376 §3.5, §5) for a message, relaxed/relaxed, rsa-sha256 or
 * ed25519-sha256 (RFC 8463). Linear in the message, in bounded memory: the body is canonicalized
 * into the hash as it is read, once for every signature, never copied; the header fields are
 * parsed once.
 *
 * Our own rather than mailauth's signer: the queue builds and commits bounces and delay warnings
 * synchronously, and mailauth's signer is asynchronous only (and would load mailauth on the
 * submission path). Independent verifiers check the output: dkimpy and mailauth, in the tests.
 *
 * @module
 */
import { createHash, type KeyObject, sign } from "node:crypto";
import { fromLatin1, latin1 } from "../bytes.ts";
import { type HeaderField, parseHeader, RelaxedBody, relaxedHeader, splitChunks } from "./canon.ts";

/**
 * The header fields signed when present: those RFC 6376 §5.4.1 lists, the MIME fields and
 * Message-ID (a change to any of them changes what the reader sees), and List-Unsubscribe-Post
 * (RFC 8058 §4 requires it signed).
 */
export const SIGNED_FIELDS: readonly string[] = [
  "from",
  "reply-to",
  "subject",
  "date",
  "to",
  "cc",
  "resent-date",
  "resent-from",
  "resent-to",
  "resent-cc",
  "in-reply-to",
  "references",
  "list-id",
  "list-help",
  "list-unsubscribe",
  "list-unsubscribe-post",
  "list-subscribe",
  "list-post",
  "list-owner",
  "list-archive",
  "message-id",
  "mime-version",
  "content-type",
  "content-transfer-encoding",
];

/**
 * Fields named once more than they occur (RFC 6376 §8.15, "oversigning"): a verifier then
 * fails the signature if another one is added above them.
 */
export const OVERSIGNED_FIELDS: ReadonlySet<string> = new Set(["from", "to", "subject", "date"]);

/**
 * Instances of one field name signed at most (the last ones, as §5.4.2 counts them): keeps the
 * h= tag, and the signature field, bounded whatever the header holds.
 */
export const MAX_INSTANCES = 20;

/** What one signature needs. */
export interface SigningKey {
  readonly domain: string;
  readonly selector: string;
  readonly privateKey: KeyObject;
}

const b64 = (bytes: Uint8Array) => btoa(latin1(bytes));

/** The h= list for FIELDS (RFC 6376 §5.4.2: an instance per occurrence, then oversigning). */
export function signedNames(fields: readonly HeaderField[]): string[] {
  const counts = new Map<string, number>();
  for (const f of fields) counts.set(f.key, (counts.get(f.key) ?? 0) + 1);
  const names: string[] = [];
  for (const name of SIGNED_FIELDS) {
    const n = Math.min(counts.get(name) ?? 0, MAX_INSTANCES);
    for (let i = 0; i < n; i++) names.push(name);
    if (OVERSIGNED_FIELDS.has(name)) names.push(name);
  }
  return names;
}

/** The canonical header fields named by NAMES, each instance taken from the bottom up (§5.4.2). */
function canonicalFields(fields: readonly HeaderField[], names: readonly string[]): string {
  const used = new Map<string, number>();
  let out = "";
  for (const name of names) {
    const k = used.get(name) ?? 0;
    used.set(name, k + 1);
    let seen = 0;
    for (let i = fields.length - 1; i >= 0; i--) {
      if (fields[i]!.key !== name) continue;
      if (seen++ === k) {
        out += relaxedHeader(fields[i]!.raw);
        break;
      }
    }
  }
  return out;
}

/** TEXT in lines of at most WIDTH characters, broken after SEP, joined with CRLF TAB. */
function fold(parts: readonly string[], sep: string, width: number, first: number): string {
  let out = "";
  let col = first;
  parts.forEach((p, i) => {
    const piece = i < parts.length - 1 ? p + sep : p;
    if (col + piece.length > width && col > 1) {
      out += "\r\n\t";
      col = 1;
    }
    out += piece;
    col += piece.length;
  });
  return out;
}

function chunked(s: string, size: number): string[] {
  const parts: string[] = [];
  for (let i = 0; i < s.length; i += size) parts.push(s.slice(i, i + size));
  return parts;
}

/** One signature made ready: its field without the b= value, and the data to sign. */
interface Prepared {
  readonly key: SigningKey;
  readonly ed25519: boolean;
  readonly head: string;
  /** What the key signs: the canonical data (RSA), or its SHA-256 digest (RFC 8463 §3). */
  readonly data: Uint8Array;
}

function prepare(
  message: readonly Uint8Array[],
  keys: readonly SigningKey[],
  t: Date,
): Prepared[] {
  if (keys.length === 0) return [];
  const { header, body } = splitChunks(message);
  const fields = parseHeader(header);
  if (!fields.some((f) => f.key === "from")) {
    // RFC 6376 §5.4: From is always signed; a message without one cannot be.
    throw new Error("Cannot sign a message without a From field");
  }
  const names = signedNames(fields);
  const signedText = canonicalFields(fields, names);
  const hash = createHash("sha256");
  const canon = new RelaxedBody((bytes) => hash.update(bytes));
  for (const chunk of body) canon.update(chunk);
  canon.end();
  const bh = hash.digest("base64");
  const time = Math.floor(t.getTime() / 1000);
  return keys.map((key) => {
    const ed25519 = key.privateKey.asymmetricKeyType === "ed25519";
    const a = ed25519 ? "ed25519-sha256" : "rsa-sha256";
    const head = `DKIM-Signature: v=1; a=${a}; c=relaxed/relaxed; d=${key.domain};\r\n` +
      `\ts=${key.selector}; t=${time};\r\n` +
      `\th=${fold(names, ":", 76, 3)};\r\n` +
      `\tbh=${bh};\r\n` +
      `\tb=`;
    const canonical = fromLatin1(signedText + relaxedHeader(head, true));
    const data = ed25519 ? createHash("sha256").update(canonical).digest() : canonical;
    return { key, ed25519, head, data };
  });
}

/** The field of P with its signature, folded, ending with CRLF. */
function finish(p: Prepared, signature: Uint8Array): string {
  return p.head + fold(chunked(b64(signature), 70), "", 76, 3) + "\r\n";
}

/**
 * The DKIM-Signature fields for MESSAGE, one per key in KEYS, each ending with CRLF, to be put
 * above the fields they sign. T is the signing time (the t= tag). Throws when a key cannot
 * sign (the caller decides what becomes of the message).
 */
export function dkimSignatures(
  message: Uint8Array | readonly Uint8Array[],
  keys: readonly SigningKey[],
  t: Date,
): string {
  return prepare(message instanceof Uint8Array ? [message] : message, keys, t)
    .map((p) => finish(p, sign(p.ed25519 ? null : "sha256", p.data, p.key.privateKey)))
    .join("");
}

/**
 * As {@link dkimSignatures}, with the RSA signatures made by Web Crypto, which works off the
 * main thread: an RSA 2048 signature costs milliseconds of CPU that would otherwise stall
 * every other session of the server. Ed25519 signatures (microseconds) are made in place.
 * RSA_KEY gives the Web Crypto form of a key (callers cache it).
 */
export async function dkimSignaturesAsync(
  message: readonly Uint8Array[],
  keys: readonly SigningKey[],
  t: Date,
  rsaKey: (key: SigningKey) => Promise<CryptoKey>,
): Promise<string> {
  const prepared = prepare(message, keys, t);
  const signatures = await Promise.all(
    prepared.map(async (p) =>
      p.ed25519 ? sign(null, p.data, p.key.privateKey) : new Uint8Array(
        await crypto.subtle.sign(
          "RSASSA-PKCS1-v1_5",
          await rsaKey(p.key),
          p.data as Uint8Array<ArrayBuffer>,
        ),
      )
    ),
  );
  return prepared.map((p, i) => finish(p, signatures[i]!)).join("");
}

/** The Web Crypto form of an RSA signing key, for {@link dkimSignaturesAsync}. */
export function webCryptoKey(key: SigningKey): Promise<CryptoKey> {
  const der = key.privateKey.export({ type: "pkcs8", format: "der" });
  return crypto.subtle.importKey(
    "pkcs8",
    new Uint8Array(der),
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    false,
    ["sign"],
  );
}
