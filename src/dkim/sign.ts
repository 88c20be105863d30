/**
 * DKIM-Signature fields (RFC 6376 §3.5, §5) for a message, relaxed/relaxed, rsa-sha256 or
 * ed25519-sha256 (RFC 8463). Synchronous and linear in the message: the body is canonicalized
 * and hashed once for every signature, the header fields are parsed once.
 *
 * @module
 */
import { createHash, type KeyObject, sign } from "node:crypto";
import {
  binary,
  fromBinary,
  type HeaderField,
  parseHeader,
  relaxedBody,
  relaxedHeader,
  splitMessage,
} from "./canon.ts";

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

const b64 = (bytes: Uint8Array) => btoa(binary(bytes));

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

/**
 * The DKIM-Signature fields for MESSAGE, one per key in KEYS, each ending with CRLF, to be put
 * above the fields they sign. T is the signing time (the t= tag). Throws when a key cannot
 * sign (the caller decides what becomes of the message).
 */
export function dkimSignatures(
  message: Uint8Array,
  keys: readonly SigningKey[],
  t: Date,
): string {
  if (keys.length === 0) return "";
  const { header, body } = splitMessage(message);
  const fields = parseHeader(header);
  if (!fields.some((f) => f.key === "from")) {
    // RFC 6376 §5.4: From is always signed; a message without one cannot be.
    throw new Error("Cannot sign a message without a From field");
  }
  const names = signedNames(fields);
  const signedText = canonicalFields(fields, names);
  const bh = createHash("sha256").update(relaxedBody(body)).digest("base64");
  const time = Math.floor(t.getTime() / 1000);
  let out = "";
  for (const key of keys) {
    const ed = key.privateKey.asymmetricKeyType === "ed25519";
    const a = ed ? "ed25519-sha256" : "rsa-sha256";
    const head = `DKIM-Signature: v=1; a=${a}; c=relaxed/relaxed; d=${key.domain};\r\n` +
      `\ts=${key.selector}; t=${time};\r\n` +
      `\th=${fold(names, ":", 76, 3)};\r\n` +
      `\tbh=${bh};\r\n` +
      `\tb=`;
    const data = fromBinary(signedText + relaxedHeader(head, true));
    const signature = ed
      ? sign(null, createHash("sha256").update(data).digest(), key.privateKey)
      : sign("sha256", data, key.privateKey);
    out += head + fold(chunked(b64(signature), 70), "", 76, 3) + "\r\n";
  }
  return out;
}
