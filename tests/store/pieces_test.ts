import assert from "node:assert/strict";
import { DIRECT_SIZE, pieces } from "../../src/store/pieces.ts";

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

Deno.test("chunks of DIRECT_SIZE or more are stored as they are, not copied into pieces", () => {
  const reads = [new Uint8Array(DIRECT_SIZE * 2), new Uint8Array(DIRECT_SIZE), bytes(1, 2)];
  const out = [...pieces(reads)];
  assert.equal(out.length, 3);
  assert.equal(out[0]!.buffer, reads[0]!.buffer);
  assert.equal(out[1]!.buffer, reads[1]!.buffer);
  assert.deepEqual([...out[2]!], [1, 2]);
});
