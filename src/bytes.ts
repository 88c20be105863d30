/**
 * Byte-array helpers shared across the tree.
 *
 * @module
 */
import { Buffer } from "node:buffer";

/**
 * BYTES as a string of one char per octet (ISO-8859-1), the form header text is read in. Not
 * TextDecoder("latin1"), which is windows-1252 by the WHATWG standard and maps 0x80–0x9f
 * elsewhere; Buffer's decoder is native and many times faster than building the string in JS.
 */
export function latin1(bytes: Uint8Array): string {
  // A short string is built faster in JavaScript than by a call into the runtime.
  if (bytes.length <= 24) {
    let s = "";
    for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
    return s;
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

// deno-lint-ignore no-control-regex
const NON_ASCII = /[^\x00-\x7f]/;
const ASCII = new TextEncoder();

/** The octets of S, a string of one char per octet (the inverse of {@link latin1}). */
export function fromLatin1(s: string): Uint8Array {
  // ASCII (most header text) is the same in UTF-8, whose encoder is native.
  if (!NON_ASCII.test(s)) return ASCII.encode(s);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

/**
 * The bytes of PARTS one after another, in a new array. A single part is returned as it is
 * (callers that must own a copy slice it themselves).
 */
export function concatBytes<B extends ArrayBufferLike>(
  parts: readonly Uint8Array<B>[],
): Uint8Array<B | ArrayBuffer> {
  if (parts.length === 1) return parts[0]!;
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** CHUNKS with BYTES inserted at OFFSET of their concatenation (at the end when past it). */
export function insertBytes(
  chunks: readonly Uint8Array[],
  offset: number,
  bytes: Uint8Array,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  let done = false;
  for (const chunk of chunks) {
    if (!done && offset <= at + chunk.length) {
      const cut = offset - at;
      if (cut > 0) out.push(chunk.subarray(0, cut));
      out.push(bytes);
      if (cut < chunk.length) out.push(chunk.subarray(cut));
      done = true;
    } else {
      out.push(chunk);
    }
    at += chunk.length;
  }
  if (!done) out.push(bytes);
  return out;
}

/**
 * The first N octets of CHUNKS (all of them when they are fewer): a view when they lie in the
 * first chunk, else a copy.
 */
export function firstBytes(chunks: readonly Uint8Array[], n: number): Uint8Array {
  const first = chunks[0];
  if (first !== undefined && n <= first.length) return first.subarray(0, n);
  const parts: Uint8Array[] = [];
  let size = 0;
  for (const chunk of chunks) {
    if (size >= n) break;
    const part = chunk.length > n - size ? chunk.subarray(0, n - size) : chunk;
    parts.push(part);
    size += part.length;
  }
  return concatBytes(parts);
}

/** CHUNKS from offset N on, as views of them. */
export function bytesFrom(chunks: readonly Uint8Array[], n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (const chunk of chunks) {
    if (at + chunk.length > n) out.push(at >= n ? chunk : chunk.subarray(n - at));
    at += chunk.length;
  }
  return out;
}
