/**
 * What the queue needs to know about a stored message's bytes: its header block (for a DSN),
 * and the form it is relayed in (without our Return-Path). How many hops it has made (loop
 * detection, RFC 5321 §6.3) is the trace headers' business: see smtp/trace.ts.
 *
 * @module
 */
import { findHeaderEnd } from "../header_end.ts";

const LF = 0x0a;
const RETURN_PATH = new TextEncoder().encode("return-path:");

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
  const end = findHeaderEnd([message]);
  return end === undefined ? message : message.subarray(0, end.bodyStart);
}
