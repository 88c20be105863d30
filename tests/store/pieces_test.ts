import assert from "node:assert/strict";
import { pieces } from "../../src/store/pieces.ts";

const bytes = (...values: number[]) => new Uint8Array(values);
const cut = (chunks: Uint8Array[], max: number) => [...pieces(chunks, max)].map((p) => [...p]);

Deno.test("small chunks are coalesced up to the limit", () => {
  assert.deepEqual(cut([bytes(1), bytes(2, 3), bytes(4), bytes(5, 6, 7)], 3), [
    [1, 2, 3],
    [4, 5, 6],
    [7],
  ]);
});

Deno.test("large chunks are cut; empty chunks vanish; nothing in, nothing out", () => {
  assert.deepEqual(cut([bytes(1, 2, 3, 4, 5, 6, 7), new Uint8Array(0), bytes(8)], 3), [
    [1, 2, 3],
    [4, 5, 6],
    [7, 8],
  ]);
  assert.deepEqual(cut([], 3), []);
  assert.deepEqual(cut([new Uint8Array(0)], 3), []);
});

Deno.test("whole pieces of a large chunk are views, not copies", () => {
  const big = new Uint8Array(10);
  const [first] = pieces([big], 4);
  assert.equal(first?.buffer, big.buffer);
});
