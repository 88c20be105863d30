/**
 * Re-cuts a message's chunks into pieces for the `message_chunks` table.
 *
 * The SMTP reader hands over many small chunks (one per network read); storing each as a row
 * would cost a B-tree cell per few KiB. Small adjacent chunks are copied together into pieces of
 * at most {@link PIECE_SIZE}; chunks of {@link DIRECT_SIZE} or more are stored as they are, cut
 * with `subarray` when over {@link PIECE_SIZE} (no copy). Pieces are produced
 * lazily, so at most one piece exists besides the caller's chunks: a 25 MiB message is never
 * held twice.
 *
 * @module
 */

/** Upper bound of a stored piece: large enough that a 25 MiB message is ~100 rows. */
export const PIECE_SIZE = 256 * 1024;

/**
 * A chunk at least this large is stored as it is, without being copied into a piece: the
 * socket's reads of a large message are about 64 KiB each, and copying them all would hold the
 * message twice while it is written. Rows of this size cost one B-tree cell per 32 KiB or more.
 */
export const DIRECT_SIZE = 32 * 1024;

/** Yields the bytes of `chunks`, in order, as pieces of 1..`max` octets (no empty pieces). */
export function* pieces(
  chunks: readonly Uint8Array[],
  max: number = PIECE_SIZE,
): Generator<Uint8Array> {
  // Buffers are sized to what is left, not to `max`: zeroing 256 KiB for a 4 KiB message was
  // the most expensive step of storing it.
  let remaining = 0;
  for (const c of chunks) remaining += c.length;
  let buf: Uint8Array | undefined;
  let used = 0;
  for (const chunk of chunks) {
    let off = 0;
    while (off < chunk.length) {
      const avail = chunk.length - off;
      if (used === 0 && (avail >= Math.min(max, DIRECT_SIZE) || avail === remaining)) {
        // A whole piece straight from the caller's buffer, without a copy.
        const n = Math.min(max, avail);
        yield chunk.subarray(off, off + n);
        off += n;
        remaining -= n;
        continue;
      }
      buf ??= new Uint8Array(Math.min(max, remaining));
      const n = Math.min(buf.length - used, avail);
      buf.set(chunk.subarray(off, off + n), used);
      used += n;
      off += n;
      remaining -= n;
      if (used === buf.length) {
        // Hand the full buffer over and start a fresh one: the consumer may keep the piece.
        yield buf;
        buf = undefined;
        used = 0;
      }
    }
  }
}
