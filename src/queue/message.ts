/**
 * What the queue needs to know about a stored message's bytes: how many hops it has made
 * (loop detection, RFC 5321 §6.3), its header block (for a DSN), and the form it is relayed in
 * (without our Return-Path).
 *
 * @module
 */

/**
 * RFC 5321 §6.3: a message with more than this many `Received:` fields is looping ("a large
 * rejection threshold, normally at least 100").
 */
export const MAX_RECEIVED = 100;

const CR = 0x0d;
const LF = 0x0a;
const RECEIVED = new TextEncoder().encode("received:");
const RETURN_PATH = new TextEncoder().encode("return-path:");

/**
 * Counts the `Received:` fields of the header block of CHUNKS (up to the first empty line),
 * case-insensitively, across chunk boundaries, without copying. Stops counting past LIMIT.
 */
export function countReceived(chunks: Iterable<Uint8Array>, limit = Infinity): number {
  let count = 0;
  // Position within the current line; -1 once the line cannot start with "received:".
  let col = 0;
  let matching = true;
  let emptySoFar = true;
  for (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === LF) {
        if (emptySoFar) return count; // an empty line ends the header block
        col = 0;
        matching = true;
        emptySoFar = true;
        continue;
      }
      if (b !== CR) emptySoFar = false;
      if (matching) {
        const lower = b >= 0x41 && b <= 0x5a ? b + 0x20 : b;
        if (lower === RECEIVED[col]) {
          col++;
          if (col === RECEIVED.length) {
            count++;
            if (count > limit) return count;
            matching = false;
          }
        } else {
          matching = false;
        }
      }
    }
  }
  return count;
}

/** Whether the message has looped: more than {@link MAX_RECEIVED} `Received:` fields. */
export function isLooping(chunks: Iterable<Uint8Array>): boolean {
  return countReceived(chunks, MAX_RECEIVED) > MAX_RECEIVED;
}

function startsWithIgnoreCase(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    const b = bytes[i]!;
    if ((b >= 0x41 && b <= 0x5a ? b + 0x20 : b) !== prefix[i]) return false;
  }
  return true;
}

/**
 * The message as it is relayed: without the leading `Return-Path:` line we added on receipt.
 * RFC 5321 §4.4: Return-Path is added by the final delivery, and a relay must not send one on
 * (the next server adds its own). Everything else goes byte for byte. A view, not a copy.
 */
export function forRelay(message: Uint8Array): Uint8Array {
  if (!startsWithIgnoreCase(message, RETURN_PATH)) return message;
  // The field as we write it is one line; a folded one continues with white space.
  let i = 0;
  for (;;) {
    const lf = message.indexOf(LF, i);
    if (lf < 0) return message;
    i = lf + 1;
    const next = message[i];
    if (next !== 0x20 && next !== 0x09) return message.subarray(i);
  }
}

/** The header block of MESSAGE (through the empty line that ends it, or all of it). */
export function headerBlock(message: Uint8Array): Uint8Array {
  let atLineStart = true;
  for (let i = 0; i < message.length; i++) {
    const b = message[i]!;
    if (b === LF) {
      if (atLineStart) return message.subarray(0, i + 1);
      atLineStart = true;
    } else if (b !== CR) {
      atLineStart = false;
    }
  }
  return message;
}
