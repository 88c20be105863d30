/**
 * Re-cuts a message's chunks into pieces for the `message_chunks` table.
 *
 * The SMTP reader hands over many small chunks (one per network read); storing each as a row
 * would cost a B-tree cell per few KiB. Small adjacent chunks are copied together into pieces of
 * at most {@link PIECE_SIZE}; large chunks are cut with `subarray` (no copy). Pieces are produced
 * lazily, so at most one piece exists besides the caller's chunks: a 25 MiB message is never
 * held twice.
 *
 * @module
 */

/** Upper bound of a stored piece: large enough that a 25 MiB message is ~100 rows. */
export const PIECE_SIZE = 256 * 1024;

/** Yields the bytes of `chunks`, in order, as pieces of 1..`max` octets (no empty pieces). */
export function* pieces(
  chunks: Iterable<Uint8Array>,
  max: number = PIECE_SIZE,
): Generator<Uint8Array> {
  let buf: Uint8Array | undefined;
  let used = 0;
  for (const chunk of chunks) {
    let off = 0;
    while (off < chunk.length) {
      if (used === 0 && chunk.length - off >= max) {
        // A whole piece straight from the caller's buffer.
        yield chunk.subarray(off, off + max);
        off += max;
        continue;
      }
      buf ??= new Uint8Array(max);
      const n = Math.min(max - used, chunk.length - off);
      buf.set(chunk.subarray(off, off + n), used);
      used += n;
      off += n;
      if (used === max) {
        // Hand the full buffer over and start a fresh one: the consumer may keep the piece.
        yield buf;
        buf = undefined;
        used = 0;
      }
    }
  }
  if (buf !== undefined && used > 0) yield buf.subarray(0, used);
}
