/**
 * Where a message's header section ends (RFC 5322 §2.1: at the first empty line), found line by
 * line with the runtime's search for LF rather than octet by octet: the server asks it of every
 * message it receives, and of every message it checks once more. A line may end in CRLF or in a
 * bare LF (files written on Unix); an empty line has nothing, or only a CR, before its LF.
 *
 * @module
 */

import { firstBytes } from "./bytes.ts";

const LF = 0x0a;
const CR = 0x0d;

/** The end of a header section, as offsets in the whole message. */
export interface HeaderEnd {
  /** Where the empty line starts: the header section is everything before it. */
  readonly emptyLine: number;
  /** Just past the empty line's LF: where the body starts. */
  readonly bodyStart: number;
}

/**
 * The end of the header section of the message in CHUNKS, when its empty line ends within the
 * first LIMIT octets; undefined when it does not (or the message has none).
 */
export function findHeaderEnd(
  chunks: readonly Uint8Array[],
  limit = Infinity,
): HeaderEnd | undefined {
  let offset = 0; // where the chunk starts in the message
  let lineStart = 0;
  let last = -1; // the octet before the chunk
  for (const whole of chunks) {
    if (offset >= limit) return undefined;
    const chunk = limit - offset < whole.length ? whole.subarray(0, limit - offset) : whole;
    for (let lf = chunk.indexOf(LF); lf >= 0; lf = chunk.indexOf(LF, lf + 1)) {
      const length = offset + lf - lineStart;
      if (length === 0 || (length === 1 && (lf > 0 ? chunk[lf - 1] : last) === CR)) {
        return { emptyLine: lineStart, bodyStart: offset + lf + 1 };
      }
      lineStart = offset + lf + 1;
    }
    if (chunk.length > 0) last = chunk[chunk.length - 1]!;
    offset += chunk.length;
  }
  return undefined;
}

/**
 * The header section of the message in CHUNKS (the octets before its empty line, the last
 * field's line break included), at most LIMIT octets of it; all of the message, up to LIMIT,
 * when it has no empty line.
 */
export function headerSection(chunks: readonly Uint8Array[], limit = Infinity): Uint8Array {
  return firstBytes(chunks, findHeaderEnd(chunks, limit)?.emptyLine ?? limit);
}
