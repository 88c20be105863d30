/**
 * A self-signed certificate, generated so STARTTLS works out of the box: an ECDSA P-256 key from
 * WebCrypto and an X.509 v3 certificate (RFC 5280) written with our own DER encoder (./_der.ts).
 *
 * @module
 */
import * as der from "./_der.ts";
import { type Host, parseHost } from "./tls_names.ts";
import { toPem } from "./tls_pem.ts";

/** The object identifiers the certificate uses, with where each is defined. */
const OID = {
  commonName: "2.5.4.3", // RFC 5280 Appendix A.1 (id-at-commonName)
  ecdsaWithSha256: "1.2.840.10045.4.3.2", // RFC 5758 §3.2
  subjectKeyIdentifier: "2.5.29.14", // RFC 5280 §4.2.1.2
  keyUsage: "2.5.29.15", // RFC 5280 §4.2.1.3
  subjectAltName: "2.5.29.17", // RFC 5280 §4.2.1.6
  basicConstraints: "2.5.29.19", // RFC 5280 §4.2.1.9
  extKeyUsage: "2.5.29.37", // RFC 5280 §4.2.1.12
  serverAuth: "1.3.6.1.5.5.7.3.1", // RFC 5280 §4.2.1.12 (id-kp-serverAuth)
} as const;

/**
 * Default lifetime. 825 days is the longest validity Apple platforms accept for a TLS server
 * certificate, so clients that do look at the dates do not reject it for that alone.
 */
const DEFAULT_DAYS = 825;
const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;

/** 16 random octets with the top bit clear: positive, and well within the 20 octets of §4.1.2.2. */
function randomSerial(): Uint8Array {
  const serial = crypto.getRandomValues(new Uint8Array(16));
  // 0x40-0x7f: positive, and a first octet that neither DER nor hex printing shortens.
  serial[0] = (serial[0]! & 0x3f) | 0x40;
  return serial;
}

/** RFC 5280 §4.1.2.4: a Name is a SEQUENCE of RDN SETs; here the single RDN CN=name. */
function commonNameDn(name: string): Uint8Array {
  // PrintableString where it fits (every hostname and IP literal does): the most widely
  // understood string type; UTF8String otherwise, as §4.1.2.4 asks of new certificates.
  const value = der.isPrintable(name) ? der.printableString(name) : der.utf8String(name);
  return der.sequence(der.set(der.sequence(der.oid(OID.commonName), value)));
}

/** RFC 5280 §4.1: Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue }. */
function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  // DER omits a field equal to its DEFAULT (X.690 §11.5), so non-critical means no BOOLEAN.
  return critical
    ? der.sequence(der.oid(id), der.boolean(true), der.octetString(value))
    : der.sequence(der.oid(id), der.octetString(value));
}

/**
 * WebCrypto's ECDSA signature is IEEE P1363 r||s (two 32-octet halves for P-256); X.509 wants
 * Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 3279 §2.2.3, RFC 5480 §2.2.3 via
 * RFC 5758 §3.2).
 */
export function p1363ToDer(signature: Uint8Array): Uint8Array {
  if (signature.length === 0 || signature.length % 2 !== 0) {
    throw new RangeError(`bad P1363 signature length ${signature.length}`);
  }
  const half = signature.length / 2;
  return der.sequence(
    der.integer(signature.subarray(0, half)),
    der.integer(signature.subarray(half)),
  );
}

/**
 * A new ECDSA P-256 key and a self-signed X.509 v3 certificate for HOSTNAME (a DNS name or an
 * IP literal), valid from an hour before NOW (for peers whose clocks run a little behind) for
 * DAYS days.
 */
export async function createSelfSigned(
  hostname: string,
  opts: { days?: number; now?: Date; extraNames?: readonly string[] } = {},
): Promise<{ certPem: string; keyPem: string }> {
  const host = parseHost(hostname);
  const extra = (opts.extraNames ?? []).map(parseHost).filter((h) => h.name !== host.name);
  const days = opts.days ?? DEFAULT_DAYS;
  if (!Number.isFinite(days) || days <= 0) {
    throw new RangeError(`days must be positive, got ${days}`);
  }
  const now = opts.now ?? new Date();

  const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  // exportKey("spki") is already the DER SubjectPublicKeyInfo of RFC 5280 §4.1.2.7 (with the
  // id-ecPublicKey/prime256v1 AlgorithmIdentifier of RFC 5480 §2.1.1).
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const rawPublic = new Uint8Array(await crypto.subtle.exportKey("raw", keys.publicKey));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  // RFC 5280 §4.2.1.2 method (1): the SHA-1 of the subjectPublicKey bits.
  const keyId = new Uint8Array(await crypto.subtle.digest("SHA-1", rawPublic));

  // RFC 5758 §3.2: ecdsa-with-SHA256's AlgorithmIdentifier has NO parameters (not even NULL).
  const signatureAlgorithm = der.sequence(der.oid(OID.ecdsaWithSha256));
  const name = commonNameDn(host.name);
  const generalName = (h: Host) =>
    h.ip === undefined
      ? der.implicit(2, new TextEncoder().encode(h.name)) // dNSName [2] IA5String
      : der.implicit(7, h.ip); // iPAddress [7] OCTET STRING
  const altNames = [host, ...extra].map(generalName);
  const extensions = [
    extension(OID.subjectKeyIdentifier, false, der.octetString(keyId)),
    // §4.2.1.3: conforming CAs SHOULD mark keyUsage critical. digitalSignature (bit 0) is what
    // ECDHE key exchange with an ECDSA key needs.
    extension(OID.keyUsage, true, der.namedBits([0])),
    // §4.2.1.6: the subject is not empty, so subjectAltName is non-critical.
    extension(OID.subjectAltName, false, der.sequence(...altNames)),
    // §4.2.1.9: cA FALSE is the DEFAULT, so DER leaves the SEQUENCE empty. Critical so that no
    // verifier ever accepts this end-entity certificate as an issuer.
    extension(OID.basicConstraints, true, der.sequence()),
    // §4.2.1.12: restrict the key to TLS server authentication.
    extension(OID.extKeyUsage, false, der.sequence(der.oid(OID.serverAuth))),
  ];
  // RFC 5280 §4.1.2.1-§4.1.2.9, in order.
  const tbs = der.sequence(
    der.explicit(0, der.integer(2)), // version v3 (value 2), needed for extensions
    der.integer(randomSerial()),
    signatureAlgorithm, // §4.1.2.3: MUST equal signatureAlgorithm in the Certificate
    name, // issuer = subject: self-signed
    der.sequence(
      der.time(new Date(now.getTime() - HOUR_MS)),
      der.time(new Date(now.getTime() + days * DAY_MS)),
    ),
    name,
    spki,
    der.explicit(3, der.sequence(...extensions)),
  );
  const signature = new Uint8Array(
    await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, keys.privateKey, tbs),
  );
  // §4.1.1: Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }.
  const certificate = der.sequence(tbs, signatureAlgorithm, der.bitString(p1363ToDer(signature)));
  return { certPem: toPem("CERTIFICATE", certificate), keyPem: toPem("PRIVATE KEY", pkcs8) };
}
