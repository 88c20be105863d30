import assert from "node:assert/strict";
import fc from "fast-check";
import { DIRECT_SIZE, onePiece, pieces } from "../../src/store/pieces.ts";

const bytes = (...values: number[]) => new Uint8Array(values);
const cut = (chunks: Uint8Array[], max: number) => [...pieces(chunks, max)].map((p) => [...p]);

Deno.test("small chunks are coalesced up to the limit", () => {
  assert.deepEqual(cut([bytes(1), bytes(2, 3), bytes(4), bytes(5, 6), bytes(7)], 3), [
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

Deno.test("onePiece: chunks up to the limit become one buffer; past it, none", () => {
  const one = (chunks: Uint8Array[], max: number) => {
    const piece = onePiece(chunks, max);
    return piece === undefined ? undefined : [...piece];
  };
  assert.deepEqual(one([bytes(1), new Uint8Array(0), bytes(2, 3)], 3), [1, 2, 3]);
  assert.equal(one([bytes(1), bytes(2, 3), bytes(4)], 3), undefined);
  assert.equal(one([bytes(1, 2, 3, 4)], 3), undefined);
  assert.deepEqual(one([], 3), []);
  assert.deepEqual(one([new Uint8Array(0), new Uint8Array(0)], 3), []);
  // A lone chunk (empty ones aside) is handed back as it is, not copied.
  const lone = bytes(7, 8);
  assert.equal(onePiece([new Uint8Array(0), lone], 3), lone);
  // Several are copied: the result does not alias the caller's buffers.
  const first = bytes(1);
  const joined = onePiece([first, bytes(2)], 3)!;
  first[0] = 9;
  assert.deepEqual([...joined], [1, 2]);
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

Deno.test("a small chunk before large reads does not push the reads into copies", () => {
  // The Received header, then a large message in 64 KiB reads: the header must not start a
  // piece that every later read is copied into.
  const head = new Uint8Array(3000).fill(1);
  const reads = Array.from({ length: 12 }, (_, i) => new Uint8Array(65536).fill(i));
  const tail = bytes(7, 7);
  const out = [...pieces([head, ...reads, tail])];
  assert.equal(out.length, 14);
  assert.equal(out[0]!.length, 3000);
  for (let i = 0; i < reads.length; i++) assert.equal(out[i + 1]!.buffer, reads[i]!.buffer);
  assert.deepEqual([...out[13]!], [7, 7]);
});

Deno.test("every byte comes out once, in order, whatever the chunk sizes", () => {
  const sizes = [
    0,
    1,
    5,
    DIRECT_SIZE - 1,
    DIRECT_SIZE,
    3,
    300_000,
    2,
    70_000,
    0,
    40,
    DIRECT_SIZE + 1,
  ];
  let v = 0;
  const chunks = sizes.map((n) => Uint8Array.from({ length: n }, () => v++ & 0xff));
  const out = [...pieces(chunks)];
  let w = 0;
  for (const p of out) {
    assert.ok(p.length > 0 && p.length <= 256 * 1024);
    for (const b of p) assert.equal(b, w++ & 0xff);
  }
  assert.equal(w, v);
});

Deno.test("any chunking: the bytes in order, pieces within bounds, large chunks never copied", () => {
  const max = 64;
  const direct = Math.min(max, DIRECT_SIZE);
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 30 }), (sizes) => {
      let v = 0;
      const chunks = sizes.map((n) => Uint8Array.from({ length: n }, () => v++ & 0xff));
      const out = [...pieces(chunks, max)];
      let w = 0;
      for (const p of out) {
        assert.ok(p.length > 0 && p.length <= max);
        for (const b of p) assert.equal(b, w++ & 0xff);
      }
      assert.equal(w, v);
      // A large chunk is stored as views of its own memory: at most a tail shorter than
      // DIRECT_SIZE may be copied together with the small chunks after it.
      for (const c of chunks.filter((c) => c.length >= direct)) {
        const viewed = out.filter((p) => p.buffer === c.buffer).reduce((n, p) => n + p.length, 0);
        assert.ok(viewed >= c.length - (direct - 1), `${viewed} of ${c.length} uncopied`);
      }
    }),
  );
});
