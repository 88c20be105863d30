/** The shared byte helpers: Latin-1 strings of octets, both ways. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { fromLatin1, latin1 } from "../src/bytes.ts";

/** The definition: one char per octet, code point = octet. */
function reference(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

Deno.test("latin1: every octet is the char of the same code (not windows-1252)", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.equal(latin1(all), reference(all));
  // Where windows-1252 differs: 0x80 is U+0080 here, not the euro sign.
  assert.equal(latin1(new Uint8Array([0x80, 0x9f])), "\u0080\u009f");
  assert.deepEqual(fromLatin1(latin1(all)), all);
});

Deno.test("latin1: views into a larger buffer read only their own octets", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 5000 }), fc.nat(), fc.nat(), (bytes, a, b) => {
      const start = bytes.length === 0 ? 0 : a % bytes.length;
      const end = start + (bytes.length === 0 ? 0 : b % (bytes.length - start + 1));
      const view = bytes.subarray(start, end);
      assert.equal(latin1(view), reference(view));
      assert.deepEqual(fromLatin1(latin1(view)), new Uint8Array(view));
    }),
    { numRuns: 300 },
  );
});
