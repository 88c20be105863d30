/**
 * Our trace headers at the top of a stored message: Return-Path, our Authentication-Results
 * when the MX listener checked the message, then a folded Received.
 */
const TRACE =
  /^Return-Path: [^\r]*\r\n(?:Authentication-Results: (?:[^\r]*\r\n\t)*[^\r]*\r\n)?Received: (?:[^\r]*\r\n\t)*[^\r]*\r\n/;

/** STORED without the trace headers our server prepends; throws when they are missing. */
export function withoutTrace(stored: Uint8Array): Uint8Array {
  // latin1: one character per byte, so the match length is a byte offset.
  const text = new TextDecoder("latin1").decode(stored.subarray(0, 4096));
  const m = TRACE.exec(text);
  if (!m) throw new Error(`no trace headers in ${JSON.stringify(text.slice(0, 200))}`);
  return stored.subarray(m[0].length);
}

/** The stored message as text, after the trace headers. */
export function textWithoutTrace(stored: Uint8Array): string {
  return new TextDecoder().decode(withoutTrace(stored));
}
