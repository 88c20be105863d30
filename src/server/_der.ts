/**
 * A minimal DER (X.690 Distinguished Encoding Rules) writer: just the types an X.509 v3
 * certificate needs (RFC 5280 §4.1). DER, not BER, because the signature covers the exact bytes
 * of the TBSCertificate (RFC 5280 §4.1.1.3): every value has exactly one encoding, so lengths are
 * always definite and minimal, INTEGERs minimal, BOOLEAN true is 0xFF, and DEFAULT values are
 * omitted by the caller.
 *
 * Every function returns the complete TLV (tag, length, value) as bytes; constructed types take
 * already-encoded children. Private to the server's TLS code.
 *
 * @module
 */

/** What every encoder returns: bytes on a plain ArrayBuffer, so WebCrypto accepts them. */
export type Bytes = Uint8Array<ArrayBuffer>;

/** Universal tag numbers (X.680 §8.4), with the constructed bit where the type is constructed. */
export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/**
 * The length octets (X.690 §8.1.3): short form below 128, otherwise 0x80 | count followed by
 * the big-endian length in the fewest octets (DER §10.1 requires the minimal form).
 */
export function encodeLength(length: number): Bytes {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`DER length must be a non-negative integer, got ${length}`);
  }
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** Concatenates byte arrays. */
export function concat(...parts: readonly Uint8Array[]): Bytes {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** A complete TLV with a single-octet identifier (all tags used here are below 31). */
export function tlv(tag: number, content: Uint8Array): Bytes {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xff || (tag & 0x1f) === 0x1f) {
    throw new RangeError(`unsupported DER tag 0x${tag.toString(16)}`);
  }
  return concat(Uint8Array.of(tag), encodeLength(content.length), content);
}

/** BOOLEAN; DER encodes TRUE as 0xFF (X.690 §11.1). */
export function boolean(value: boolean): Bytes {
  return tlv(Tag.BOOLEAN, Uint8Array.of(value ? 0xff : 0x00));
}

/**
 * A non-negative INTEGER from a number, bigint or unsigned big-endian bytes. Two's complement
 * means a value whose top bit is set needs a leading 0x00 to stay positive, and DER forbids any
 * other leading zero octets (X.690 §8.3.2). Serial numbers (RFC 5280 §4.1.2.2) and ECDSA r and s
 * (RFC 5480 §2.2.3, via RFC 3279 §2.2.3) are all positive, so negatives are not supported.
 */
export function integer(value: number | bigint | Uint8Array): Bytes {
  let bytes: Uint8Array;
  if (value instanceof Uint8Array) {
    bytes = value;
  } else {
    let n = BigInt(value);
    if (n < 0n) throw new RangeError("negative DER INTEGERs are not supported");
    const out: number[] = [];
    do {
      out.unshift(Number(n & 0xffn));
      n >>= 8n;
    } while (n > 0n);
    bytes = Uint8Array.from(out);
  }
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  let content = bytes.subarray(start);
  if (content.length === 0) content = Uint8Array.of(0);
  if ((content[0]! & 0x80) !== 0) content = concat(Uint8Array.of(0), content);
  return tlv(Tag.INTEGER, content);
}

/**
 * OBJECT IDENTIFIER from dotted form (X.690 §8.19): the first two arcs share one subidentifier
 * (40 * first + second), and each subidentifier is base-128 with the high bit marking
 * continuation.
 */
export function oid(dotted: string): Bytes {
  if (!/^[0-2](\.(0|[1-9][0-9]*))+$/.test(dotted)) throw new RangeError(`bad OID ${dotted}`);
  const arcs = dotted.split(".").map((a) => BigInt(a));
  const [first, second, ...rest] = arcs as [bigint, bigint, ...bigint[]];
  if (first < 2n && second >= 40n) throw new RangeError(`bad OID ${dotted}`);
  const out: number[] = [];
  for (const arc of [first * 40n + second, ...rest]) {
    const group: number[] = [Number(arc & 0x7fn)];
    for (let n = arc >> 7n; n > 0n; n >>= 7n) group.unshift(Number(n & 0x7fn) | 0x80);
    out.push(...group);
  }
  return tlv(Tag.OID, Uint8Array.from(out));
}

/** NULL (X.690 §8.8): empty contents. */
export function nullValue(): Bytes {
  return tlv(Tag.NULL, new Uint8Array(0));
}

/** SEQUENCE of already-encoded elements, in the order given. */
export function sequence(...items: readonly Uint8Array[]): Bytes {
  return tlv(Tag.SEQUENCE, concat(...items));
}

/**
 * SET OF already-encoded elements. DER sorts SET OF elements by their encodings (X.690 §11.6);
 * the sort is done here so callers cannot get it wrong.
 */
export function set(...items: readonly Uint8Array[]): Bytes {
  const sorted = [...items].sort(compareBytes);
  return tlv(Tag.SET, concat(...sorted));
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** UTF8String. */
export function utf8String(s: string): Bytes {
  return tlv(Tag.UTF8_STRING, new TextEncoder().encode(s));
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/** Whether S fits PrintableString's alphabet (X.680 §41.4). */
export function isPrintable(s: string): boolean {
  return PRINTABLE.test(s);
}

/** PrintableString; throws if S has a character outside its alphabet. */
export function printableString(s: string): Bytes {
  if (!isPrintable(s)) throw new RangeError(`not a PrintableString: ${JSON.stringify(s)}`);
  return tlv(Tag.PRINTABLE_STRING, new TextEncoder().encode(s));
}

/** IA5String (ASCII), as dNSName in GeneralName needs (RFC 5280 §4.2.1.6). */
export function ia5String(s: string): Bytes {
  if ([...s].some((c) => c.charCodeAt(0) > 0x7f)) {
    throw new RangeError(`not an IA5String: ${JSON.stringify(s)}`);
  }
  return tlv(Tag.IA5_STRING, new TextEncoder().encode(s));
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/**
 * A certificate validity time: UTCTime YYMMDDHHMMSSZ for years through 2049 and GeneralizedTime
 * YYYYMMDDHHMMSSZ from 2050, always in UTC with seconds and without fractions
 * (RFC 5280 §4.1.2.5.1 and §4.1.2.5.2).
 */
export function time(date: Date): Bytes {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw new RangeError("invalid date");
  const y = date.getUTCFullYear();
  if (y < 1950 || y > 9999) throw new RangeError(`year ${y} outside 1950..9999`);
  const rest = pad(date.getUTCMonth() + 1, 2) + pad(date.getUTCDate(), 2) +
    pad(date.getUTCHours(), 2) + pad(date.getUTCMinutes(), 2) + pad(date.getUTCSeconds(), 2) + "Z";
  return y < 2050
    ? tlv(Tag.UTC_TIME, new TextEncoder().encode(pad(y % 100, 2) + rest))
    : tlv(Tag.GENERALIZED_TIME, new TextEncoder().encode(pad(y, 4) + rest));
}

/** BIT STRING: an initial octet counting the unused bits of the last octet (X.690 §8.6). */
export function bitString(bytes: Uint8Array, unusedBits = 0): Bytes {
  if (!Number.isInteger(unusedBits) || unusedBits < 0 || unusedBits > 7) {
    throw new RangeError(`unused bits must be 0..7, got ${unusedBits}`);
  }
  if (bytes.length === 0 && unusedBits !== 0) throw new RangeError("empty BIT STRING");
  return tlv(Tag.BIT_STRING, concat(Uint8Array.of(unusedBits), bytes));
}

/**
 * BIT STRING for a NamedBitList such as KeyUsage (RFC 5280 §4.2.1.3): bit 0 is the most
 * significant bit of the first octet, and DER drops trailing zero bits (X.690 §11.2.2).
 */
export function namedBits(bits: readonly number[]): Bytes {
  if (bits.length === 0) return bitString(new Uint8Array(0));
  const highest = Math.max(...bits);
  const bytes = new Uint8Array(Math.floor(highest / 8) + 1);
  for (const b of bits) bytes[Math.floor(b / 8)]! |= 0x80 >> (b % 8);
  return bitString(bytes, 7 - (highest % 8));
}

/** OCTET STRING. */
export function octetString(bytes: Uint8Array): Bytes {
  return tlv(Tag.OCTET_STRING, bytes);
}

/**
 * Context-specific EXPLICIT [n]: a constructed wrapper around a complete inner TLV, as in
 * `version [0] EXPLICIT` and `extensions [3] EXPLICIT` (RFC 5280 §4.1).
 */
export function explicit(n: number, inner: Uint8Array): Bytes {
  if (n < 0 || n > 30) throw new RangeError(`context tag [${n}] out of range`);
  return tlv(0xa0 | n, inner);
}

/**
 * Context-specific IMPLICIT [n]: the tag replaces the inner type's tag, so only its contents
 * are given. Primitive unless CONSTRUCTED (e.g. GeneralName's dNSName [2] and iPAddress [7] are
 * primitive, RFC 5280 §4.2.1.6).
 */
export function implicit(n: number, content: Uint8Array, constructed = false): Bytes {
  if (n < 0 || n > 30) throw new RangeError(`context tag [${n}] out of range`);
  return tlv((constructed ? 0xa0 : 0x80) | n, content);
}
