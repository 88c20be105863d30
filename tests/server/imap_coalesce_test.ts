/** The IMAP driver writes a step's responses in as few writes as can be, never copying large bytes. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { concatBytes } from "../../src/bytes.ts";
import { coalesce } from "../../src/server/imap_connection.ts";

Deno.test("coalesce: small chunks joined, large ones kept as they are, order and bytes unchanged", () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.nat(40), fc.integer({ min: 16 * 1024, max: 40 * 1024 })), {
        maxLength: 12,
      }),
      (sizes) => {
        const chunks = sizes.map((n, i) => new Uint8Array(n).fill(i));
        const out = coalesce(chunks);
        assert.deepEqual(concatBytes(out), concatBytes(chunks));
        for (const c of chunks) if (c.length >= 16 * 1024) assert.ok(out.includes(c));
        // No two small chunks in a row: each run became one write.
        for (let i = 1; i < out.length; i++) {
          assert.ok(out[i]!.length >= 16 * 1024 || out[i - 1]!.length >= 16 * 1024);
        }
        assert.ok(out.every((c) => c.length > 0));
      },
    ),
    // A lone empty chunk was once passed through as an empty write.
    { examples: [[[0]]] },
  );
});
