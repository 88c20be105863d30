/** Sequence sets: parsing, formatting, resolving `*`, and compact sets for UID responses. */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  compactSet,
  formatSequenceSet,
  parseSequenceSet,
  resolveRanges,
  SequenceSetError,
  setContains,
} from "../../src/imap/sequence_set.ts";

Deno.test("sequence set: the forms of RFC 9051 §9", () => {
  assert.deepEqual(parseSequenceSet("1"), { kind: "ranges", ranges: [{ from: 1, to: 1 }] });
  assert.deepEqual(parseSequenceSet("2:4,7:*,*"), {
    kind: "ranges",
    ranges: [{ from: 2, to: 4 }, { from: 7, to: "*" }, { from: "*", to: "*" }],
  });
  assert.deepEqual(parseSequenceSet("$"), { kind: "saved" });
  for (const bad of ["", "0", "1:0", "a", "1,,2", "1:", ":1", "-1", "4294967296", "1:2:3", "01"]) {
    assert.throws(() => parseSequenceSet(bad), SequenceSetError, bad);
  }
});

Deno.test("sequence set: `*` is the largest number in use, and ranges may come reversed", () => {
  const set = parseSequenceSet("5:*,2,9:7");
  assert.deepEqual(resolveRanges(set, 3), [[3, 5], [2, 2], [7, 9]]);
  assert.ok(setContains(set, 4, 3));
  assert.ok(!setContains(set, 6, 3));
  // In an empty mailbox `*` is 0: "1:*" names nothing that exists.
  assert.deepEqual(resolveRanges(parseSequenceSet("1:*"), 0), [[0, 1]]);
});

Deno.test("sequence set: format then parse round-trips (property)", () => {
  const num = fc.oneof(fc.integer({ min: 1, max: 0xffff_ffff }), fc.constant("*" as const));
  const range = fc.record({ from: num, to: num });
  fc.assert(fc.property(fc.array(range, { minLength: 1, maxLength: 20 }), (ranges) => {
    const normal = ranges.map((r) => ({ from: r.from, to: r.to }));
    const text = formatSequenceSet({ kind: "ranges", ranges: normal });
    assert.deepEqual(parseSequenceSet(text), { kind: "ranges", ranges: normal });
  }));
});

Deno.test("sequence set: compactSet names exactly the numbers given", () => {
  assert.equal(formatSequenceSet(compactSet([5, 1, 2, 3, 9, 10, 3])), "1:3,5,9:10");
  assert.equal(formatSequenceSet(compactSet([])), "");
  fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 200 }), { maxLength: 50 }), (ns) => {
    const set = compactSet(ns);
    for (let n = 1; n <= 200; n++) assert.equal(setContains(set, n, 200), ns.includes(n));
  }));
});
