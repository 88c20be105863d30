/**
 * The verifier's fast readings against the signer's canonicalization (src/dkim/canon.ts): the
 * same header fields and the same relaxed body for any bytes, in any chunks.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseHeader, relaxedBody } from "../../src/dkim/canon.ts";
import { readHeaderFields, RelaxedRuns } from "../../src/checks/dkim_canon.ts";

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

Deno.test("property: RelaxedRuns gives RelaxedBody's output, in any chunks, any buffer size", () => {
  fc.assert(
    fc.property(
      bytes(200),
      fc.array(fc.nat(200), { maxLength: 5 }),
      fc.nat(40),
      (body, cuts, size) => {
        const parts: Uint8Array[] = [];
        const c = new RelaxedRuns((b) => parts.push(b.slice()), size);
        let at = 0;
        for (const cut of [...cuts].sort((a, b) => a - b)) {
          c.update(body.subarray(at, Math.max(at, cut)));
          at = Math.max(at, cut);
        }
        c.update(body.subarray(at));
        c.end();
        const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let o = 0;
        for (const p of parts) {
          out.set(p, o);
          o += p.length;
        }
        assert.deepEqual(out, relaxedBody(body));
      },
    ),
    { numRuns: 5000 },
  );
});
