/**
 * Byte-array helpers shared across the tree.
 *
 * @module
 */

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
