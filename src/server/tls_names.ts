/**
 * The names a certificate is for: a hostname or IP literal normalised as a certificate carries
 * it (RFC 5280 §4.2.1.6), and whether a certificate covers one.
 *
 * @module
 */
import type { X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { domainToASCII } from "node:url";
import { TlsConfigError } from "./tls_error.ts";

/** A name a certificate is for: a DNS name or an IP literal. */
export interface Host {
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
export function parseHost(hostname: string): Host {
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

/** Whether CERT is valid for HOST (its subjectAltName; the subject CN never counts). */
export function covers(cert: X509Certificate, host: Host): boolean {
  try {
    return host.ip === undefined
      ? cert.checkHost(host.name, { subject: "never" }) !== undefined
      : cert.checkIP(host.name) !== undefined;
  } catch {
    return false;
  }
}
