/**
 * The verifier's fast reading of header fields against the signer's (src/dkim/canon.ts): the
 * same header fields for any bytes.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseHeader } from "../../src/dkim/canon.ts";
import { readHeaderFields } from "../../src/checks/dkim_canon.ts";

/** Bytes rich in what canonicalization cares about. */
const bytes = (max: number) =>
  fc.array(fc.constantFrom(0x61, 0x3a, 0x20, 0x09, 0x0d, 0x0a, 0xe9, 0x00), { maxLength: max })
    .map((a) => new Uint8Array(a));

Deno.test("property: readHeaderFields reads what parseHeader reads", () => {
  fc.assert(
    fc.property(bytes(80), (header) => {
      assert.deepEqual(readHeaderFields(header), parseHeader(header));
    }),
    { numRuns: 5000 },
  );
  const enc = new TextEncoder();
  for (
    const text of [
      "A: x\r\n y\n\tz\r\nB:1",
      "A: x\r",
      " a: b\r\nc: d",
      "A: x\n\n y",
      "no colon\r\nA:",
    ]
  ) {
    assert.deepEqual(readHeaderFields(enc.encode(text)), parseHeader(enc.encode(text)), text);
  }
});
