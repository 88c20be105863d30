/**
 * The server's TLS certificate: load the one the operator configured, or generate and keep a
 * self-signed one under DATA/tls so STARTTLS works out of the box. Opportunistic SMTP TLS
 * between MTAs rarely verifies the peer's certificate (RFC 7435 §1.3), so a self-signed
 * certificate still buys encryption against passive eavesdroppers; an operator who wants
 * verifiable TLS (MTA-STS, DANE, or submission clients) configures a real one.
 *
 * Certificates are written with our own DER encoder (./_der.ts) and WebCrypto, and checked with
 * node:crypto's X509Certificate and node:tls, which is what will actually serve them.
 *
 * @module
 */

import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { join } from "node:path";
import * as tls from "node:tls";
import { domainToASCII } from "node:url";
import * as der from "./_der.ts";

/** Where a certificate came from. */
export type CertificateSource =
  /** The operator's certFile/keyFile. */
  | "configured"
  /** A self-signed certificate generated earlier and reused from DATA/tls. */
  | "generated"
  /** A self-signed certificate generated (and saved) by this call. */
  | "generated-new";

/** A certificate and key ready for {@link secureContext}, with what a log line needs. */
export interface CertificateInfo {
  /** The certificate, followed by any chain certificates, as PEM. */
  certPem: string;
  /** The private key as PEM. */
  keyPem: string;
  source: CertificateSource;
  /** The leaf's subject as node prints it, e.g. `CN=mx.example.com`. */
  subject: string;
  /** The leaf's subjectAltName as node prints it, e.g. `DNS:mx.example.com` ("" if none). */
  altNames: string;
  notAfter: Date;
  /** SHA-256 fingerprint of the leaf, colon-separated upper-case hex. */
  fingerprint256: string;
  certFile: string;
  keyFile: string;
  /**
   * Problems that do not stop the server but the caller should log: an expired or not yet valid
   * configured certificate, one that does not cover the hostname, or why a stored self-signed
   * certificate was replaced.
   */
  warnings: string[];
}

/** A certificate or key that cannot be used; the message is one line naming the file. */
export class TlsConfigError extends Error {
  override name = "TlsConfigError";
  /** The file at fault, when there is one. */
  readonly file: string | undefined;
  constructor(message: string, file?: string) {
    super(oneLine(file === undefined ? message : `${file}: ${message}`));
    this.file = file;
  }
}

function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, " ").trim();
}

function errorText(e: unknown): string {
  return oneLine(e instanceof Error ? e.message : String(e));
}

// --- OIDs ------------------------------------------------------------------------------------

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
/** A stored self-signed certificate this close to expiry is replaced at startup. */
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;
const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;

// --- hostnames and IP literals ---------------------------------------------------------------

/** Names a generated certificate carries besides the hostname. */
const LOCAL_NAMES = ["localhost", "127.0.0.1", "::1"];

interface Host {
  /** What goes in the CN and what checkHost/checkIP is asked about. */
  name: string;
  /** The 4 or 16 octets of an IP literal (RFC 5280 §4.2.1.6 iPAddress), else undefined. */
  ip: Uint8Array | undefined;
}

/**
 * Normalizes HOSTNAME for a certificate: trims a trailing dot and IPv6 brackets, lower-cases,
 * and turns an internationalized name into its A-label form, because dNSName is an IA5String
 * (RFC 5280 §4.2.1.6, §7.2).
 */
function parseHost(hostname: string): Host {
  let h = hostname.trim();
  if (h.startsWith("[") && h.endsWith("]")) h = h.slice(1, -1);
  const zone = h.indexOf("%");
  if (zone >= 0 && isIP(h) === 6) h = h.slice(0, zone); // a zone id means nothing to a peer
  if (isIP(h) === 4) return { name: h, ip: Uint8Array.from(h.split(".").map(Number)) };
  if (isIP(h) === 6) return { name: h.toLowerCase(), ip: ipv6Bytes(h) };
  h = h.replace(/\.$/, "");
  const ascii = domainToASCII(h.toLowerCase());
  if (ascii === "" || !/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(ascii)) {
    throw new TlsConfigError(`hostname ${JSON.stringify(hostname)} cannot name a certificate`);
  }
  return { name: ascii, ip: undefined };
}

/** The 16 octets of an IPv6 literal that isIP() accepted (RFC 4291 §2.2 text forms). */
function ipv6Bytes(text: string): Uint8Array {
  let s = text;
  const tail: number[] = [];
  const lastColon = s.lastIndexOf(":");
  if (s.slice(lastColon + 1).includes(".")) {
    // An embedded IPv4 address (::ffff:192.0.2.1) supplies the last 32 bits.
    tail.push(...s.slice(lastColon + 1).split(".").map(Number));
    s = s.slice(0, lastColon + 1) + "0:0";
  }
  const [head = "", rest] = s.split("::") as [string, string | undefined];
  const groups = (part: string) => part === "" ? [] : part.split(":").map((g) => parseInt(g, 16));
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const words = rest === undefined
    ? left
    : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  if (tail.length === 4) out.set(tail, 12);
  return out;
}

// --- PEM -------------------------------------------------------------------------------------

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** PEM with base64 lines of 64 characters (RFC 7468 §2). */
export function toPem(label: string, bytes: Uint8Array): string {
  const lines = base64(bytes).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

interface PemBlock {
  label: string;
  text: string;
}

/** The PEM blocks in TEXT, in order, each normalized to end with a newline. */
function pemBlocks(text: string): PemBlock[] {
  const re = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n[\s\S]*?-----END \1-----/g;
  return [...text.matchAll(re)].map((m) => ({
    label: m[1]!,
    text: m[0].replace(/\r\n/g, "\n") + "\n",
  }));
}

// --- generating ------------------------------------------------------------------------------

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

// --- checking --------------------------------------------------------------------------------

interface Parsed {
  certPem: string;
  keyPem: string;
  leaf: X509Certificate;
  chain: X509Certificate[];
  key: KeyObject;
}

/** Parses and cross-checks a certificate (chain) and key; throws TlsConfigError. */
function parsePair(certText: string, certFile: string, keyText: string, keyFile: string): Parsed {
  const certBlocks = pemBlocks(certText).filter((b) => b.label === "CERTIFICATE");
  if (certBlocks.length === 0) {
    throw new TlsConfigError("not a PEM certificate (no BEGIN CERTIFICATE block)", certFile);
  }
  const chain: X509Certificate[] = [];
  for (const [i, block] of certBlocks.entries()) {
    try {
      chain.push(new X509Certificate(block.text));
    } catch (e) {
      throw new TlsConfigError(`certificate ${i + 1} does not parse: ${errorText(e)}`, certFile);
    }
  }
  const keyBlocks = pemBlocks(keyText).filter((b) => /PRIVATE KEY$/.test(b.label));
  const keyBlock = keyBlocks[0];
  if (keyBlock === undefined) {
    throw new TlsConfigError("not a PEM private key (no BEGIN PRIVATE KEY block)", keyFile);
  }
  if (keyBlock.label === "ENCRYPTED PRIVATE KEY" || /Proc-Type:.*ENCRYPTED/.test(keyBlock.text)) {
    throw new TlsConfigError("the private key is encrypted; an unencrypted key is needed", keyFile);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyBlock.text);
  } catch (e) {
    throw new TlsConfigError(`private key does not parse: ${errorText(e)}`, keyFile);
  }
  const leaf = chain[0]!;
  let matches: boolean;
  try {
    matches = leaf.checkPrivateKey(key);
  } catch {
    matches = false;
  }
  if (!matches) {
    throw new TlsConfigError(`key does not match the certificate in ${certFile}`, keyFile);
  }
  const certPem = certBlocks.map((b) => b.text).join("");
  try {
    tls.createSecureContext({ cert: certPem, key: keyBlock.text, minVersion: "TLSv1.2" });
  } catch (e) {
    throw new TlsConfigError(`TLS rejects this certificate and key: ${errorText(e)}`, certFile);
  }
  return { certPem, keyPem: keyBlock.text, leaf, chain, key };
}

function covers(cert: X509Certificate, host: Host): boolean {
  try {
    return host.ip === undefined
      ? cert.checkHost(host.name, { subject: "never" }) !== undefined
      : cert.checkIP(host.name) !== undefined;
  } catch {
    return false;
  }
}

function info(
  p: Parsed,
  source: CertificateSource,
  certFile: string,
  keyFile: string,
  warnings: string[],
): CertificateInfo {
  return {
    certPem: p.certPem,
    keyPem: p.keyPem,
    source,
    subject: oneLine(p.leaf.subject),
    altNames: p.leaf.subjectAltName ?? "",
    notAfter: p.leaf.validToDate,
    fingerprint256: p.leaf.fingerprint256,
    certFile,
    keyFile,
    warnings,
  };
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new TlsConfigError(`${what} file not found`, file);
    if (e instanceof Deno.errors.PermissionDenied) {
      throw new TlsConfigError(`${what} file not readable (permission denied)`, file);
    }
    if (e instanceof Deno.errors.IsADirectory) throw new TlsConfigError("is a directory", file);
    throw new TlsConfigError(`cannot read ${what} file: ${errorText(e)}`, file);
  }
}

// --- storing ---------------------------------------------------------------------------------

const POSIX = Deno.build.os !== "windows";

/**
 * Writes DATA to PATH so a crash leaves either the old file or the new one, never a torn one:
 * write and fsync a temporary file in the same directory, then rename over PATH. MODE is set at
 * creation, so the key is never readable by others, not even briefly.
 */
async function writeAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true, mode });
    try {
      const bytes = new TextEncoder().encode(data);
      for (let off = 0; off < bytes.length;) off += await file.write(bytes.subarray(off));
      await file.syncData();
    } finally {
      file.close();
    }
    if (POSIX) await Deno.chmod(tmp, mode); // in case the umask narrowed it to something odd
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw new TlsConfigError(`cannot write: ${errorText(e)}`, path);
  }
}

async function loadStored(
  certFile: string,
  keyFile: string,
  host: Host,
  now: Date,
): Promise<{ parsed: Parsed } | { reason: string | undefined }> {
  let certText: string, keyText: string;
  try {
    [certText, keyText] = await Promise.all([
      Deno.readTextFile(certFile),
      Deno.readTextFile(keyFile),
    ]);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { reason: undefined }; // first start
    return { reason: `cannot read it (${errorText(e)})` };
  }
  let parsed: Parsed;
  try {
    parsed = parsePair(certText, certFile, keyText, keyFile);
  } catch (e) {
    return { reason: `it is unusable (${errorText(e)})` };
  }
  if (!covers(parsed.leaf, host)) return { reason: `it does not cover ${host.name}` };
  if (parsed.leaf.validFromDate.getTime() > now.getTime()) return { reason: "it is not yet valid" };
  if (parsed.leaf.validToDate.getTime() - now.getTime() < RENEW_BEFORE_MS) {
    return { reason: `it expires ${parsed.leaf.validToDate.toISOString()}` };
  }
  return { parsed };
}

/**
 * The certificate the server should use. With CERTFILE and KEYFILE: those, validated (chain in
 * CERTFILE allowed); an expired, not yet valid, or wrong-host certificate is returned with a
 * warning, anything unusable throws {@link TlsConfigError}. Without them: the self-signed pair in
 * DATADIR/tls, reused if it covers HOSTNAME and is valid for at least 30 more days, else a new
 * one generated and saved there (directory 0700, key 0600).
 */
export async function loadOrCreateCertificate(opts: {
  dataDir: string;
  hostname: string;
  certFile?: string | undefined;
  keyFile?: string | undefined;
  now?: Date;
}): Promise<CertificateInfo> {
  const now = opts.now ?? new Date();
  const host = parseHost(opts.hostname);

  if (opts.certFile !== undefined || opts.keyFile !== undefined) {
    const { certFile, keyFile } = opts;
    if (certFile === undefined) {
      throw new TlsConfigError(`keyFile ${keyFile} is set without certFile`);
    }
    if (keyFile === undefined) {
      throw new TlsConfigError(`certFile ${certFile} is set without keyFile`);
    }
    const [certText, keyText] = [
      await readText(certFile, "certificate"),
      await readText(keyFile, "key"),
    ];
    const parsed = parsePair(certText, certFile, keyText, keyFile);
    const warnings: string[] = [];
    const { leaf } = parsed;
    if (leaf.validToDate.getTime() <= now.getTime()) {
      warnings.push(`${certFile}: certificate expired ${leaf.validToDate.toISOString()}`);
    } else if (leaf.validFromDate.getTime() > now.getTime()) {
      warnings.push(
        `${certFile}: certificate not valid before ${leaf.validFromDate.toISOString()}`,
      );
    }
    if (!covers(leaf, host)) {
      warnings.push(`${certFile}: certificate does not name ${host.name} in subjectAltName`);
    }
    for (let i = 1; i < parsed.chain.length; i++) {
      if (!parsed.chain[i - 1]!.checkIssued(parsed.chain[i]!)) {
        warnings.push(`${certFile}: certificate ${i + 1} did not issue certificate ${i}`);
        break;
      }
    }
    if (POSIX) {
      const mode = (await Deno.stat(keyFile)).mode;
      if (mode !== null && (mode & 0o077) !== 0) {
        warnings.push(
          `${keyFile}: private key is readable by other users (mode ${(mode & 0o777).toString(8)})`,
        );
      }
    }
    return info(parsed, "configured", certFile, keyFile, warnings);
  }

  const dir = join(opts.dataDir, "tls");
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  const stored = await loadStored(certFile, keyFile, host, now);
  if ("parsed" in stored) return info(stored.parsed, "generated", certFile, keyFile, []);

  const warnings = stored.reason === undefined
    ? []
    : [`${certFile}: replacing the self-signed certificate: ${stored.reason}`];
  // Local names too, so that programs on this machine (`mail send` to 127.0.0.1) can verify it.
  const { certPem, keyPem } = await createSelfSigned(host.name, { now, extraNames: LOCAL_NAMES });
  try {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    if (POSIX) await Deno.chmod(dir, 0o700);
  } catch (e) {
    throw new TlsConfigError(`cannot create directory: ${errorText(e)}`, dir);
  }
  // Key first: a crash between the renames leaves a new key with the old certificate, which
  // fails the key check next start and is simply regenerated.
  await writeAtomic(keyFile, keyPem, 0o600);
  await writeAtomic(certFile, certPem, 0o644);
  const parsed = parsePair(certPem, certFile, keyPem, keyFile);
  return info(parsed, "generated-new", certFile, keyFile, warnings);
}

/**
 * A node:tls secure context for INFO. TLS 1.2 is the floor (RFC 8996 deprecates 1.0 and 1.1;
 * RFC 8314 §4.1 and RFC 9325 §3.1.1 ask for 1.2 or later); ciphers, curves and the 1.3 maximum
 * are node's defaults, which contain no export, RC4, DES or NULL suites.
 */
export function secureContext(
  info: Pick<CertificateInfo, "certPem" | "keyPem">,
): tls.SecureContext {
  return tls.createSecureContext({
    cert: info.certPem,
    key: info.keyPem,
    minVersion: "TLSv1.2",
  });
}
