/**
 * Re-cuts a message's chunks into pieces for the `message_chunks` table, or joins a short
 * message into the one piece its `messages` row keeps.
 *
 * The SMTP reader hands over many small chunks (one per network read); storing each as a row
 * would cost a B-tree cell per few KiB. Runs of small adjacent chunks are copied together into
 * pieces of at most {@link PIECE_SIZE}; chunks of {@link DIRECT_SIZE} or more are stored as they
 * are, cut with `subarray` when over {@link PIECE_SIZE} (no copy). Pieces are produced lazily, so
 * at most one copied piece exists besides the caller's chunks: a 25 MiB message is never held
 * twice.
 *
 * @module
 */
import { concatBytes } from "../bytes.ts";

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
  const direct = Math.min(max, DIRECT_SIZE);
  let buf: Uint8Array | undefined;
  let used = 0;
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i]!;
    let off = 0;
    while (off < chunk.length) {
      const avail = chunk.length - off;
      if (buf === undefined) {
        if (avail >= direct) {
          // A whole piece straight from the caller's buffer, without a copy.
          const n = Math.min(max, avail);
          yield chunk.subarray(off, off + n);
          off += n;
          continue;
        }
        // The buffer is sized to the run of small bytes, which ends where the next large chunk
        // begins: it is then full and handed over, and the large chunk goes uncopied. (A buffer
        // left part-filled there would push every later read of a large message into a copy.)
        const run = smallRun(chunks, i, off, direct);
        if (run === avail) {
          yield chunk.subarray(off);
          break;
        }
        buf = new Uint8Array(Math.min(max, run));
        used = 0;
      }
      const n = Math.min(buf.length - used, avail);
      buf.set(chunk.subarray(off, off + n), used);
      used += n;
      off += n;
      if (used === buf.length) {
        // Hand the full buffer over and start a fresh one: the consumer may keep the piece.
        yield buf;
        buf = undefined;
      }
    }
  }
}

/** Octets from `chunks[i]` at `off` up to the next chunk of at least `direct` octets. */
function smallRun(chunks: readonly Uint8Array[], i: number, off: number, direct: number): number {
  let n = chunks[i]!.length - off;
  for (let j = i + 1; j < chunks.length && chunks[j]!.length < direct; j++) n += chunks[j]!.length;
  return n;
}

/**
 * The bytes of `chunks` as one buffer when they total at most `max` octets, else undefined. A
 * single non-empty chunk is returned as it is; several are copied together (at most `max`
 * octets, so the copy stays bounded however the message arrived).
 */
export function onePiece(
  chunks: readonly Uint8Array[],
  max: number = PIECE_SIZE,
): Uint8Array | undefined {
  let total = 0;
  for (const chunk of chunks) {
    total += chunk.length;
    if (total > max) return undefined;
  }
  const parts = chunks.filter((chunk) => chunk.length > 0);
  return parts.length === 0 ? new Uint8Array(0) : concatBytes(parts);
}
