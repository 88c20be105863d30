/**
 * The end of a message's header section (src/header_end.ts) against a plain reading of RFC 5322
 * §2.1 on text, whatever the chunks and the limit; and the byte helpers that cut at it.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { splitAt } from "./_helpers/bytes.ts";
import { bytesFrom, firstBytes, fromLatin1, latin1 } from "../src/bytes.ts";
import { findHeaderEnd, headerSection } from "../src/header_end.ts";

/** The first empty line of TEXT (nothing, or only a CR, before its LF), read line by line. */
function reference(text: string): { emptyLine: number; bodyStart: number } | undefined {
  let start = 0;
  for (;;) {
    const lf = text.indexOf("\n", start);
    if (lf < 0) return undefined;
    const line = text.slice(start, lf);
    if (line === "" || line === "\r") return { emptyLine: start, bodyStart: lf + 1 };
    start = lf + 1;
  }
}

const piece = fc.constantFrom("A: b", " c", "\r", "\n", "\r\n", "\r\r\n", "x", ":");

Deno.test("header end: the first empty line, whatever the chunks and the limit", () => {
  fc.assert(
    fc.property(
      fc.array(piece, { maxLength: 40 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      fc.option(fc.nat({ max: 120 }), { nil: undefined }),
      (pieces, cuts, limit) => {
        const text = pieces.join("");
        const chunks = splitAt(fromLatin1(text), cuts);
        let want = reference(text);
        // Found only when the empty line's LF lies within the limit.
        if (want && limit !== undefined && want.bodyStart > limit) want = undefined;
        assert.deepEqual(findHeaderEnd(chunks, limit), want);
        const section = latin1(headerSection(chunks, limit));
        assert.equal(section, text.slice(0, want?.emptyLine ?? limit ?? text.length));
      },
    ),
    { numRuns: 3000 },
  );
});

Deno.test("header end: examples", () => {
  const end = (s: string) => findHeaderEnd([fromLatin1(s)]);
  assert.deepEqual(end("A: b\r\n\r\nbody"), { emptyLine: 6, bodyStart: 8 });
  assert.deepEqual(end("A: b\n\nbody"), { emptyLine: 5, bodyStart: 6 });
  assert.deepEqual(end("\r\nbody"), { emptyLine: 0, bodyStart: 2 });
  assert.equal(end("A: b\r\n"), undefined);
  // A line of two CRs is not empty.
  assert.equal(end("A: b\r\n\r\r\n"), undefined);
  // The CR of the empty line in one chunk, its LF in the next.
  assert.deepEqual(findHeaderEnd([fromLatin1("A: b\r\n\r"), fromLatin1("\nx")]), {
    emptyLine: 6,
    bodyStart: 8,
  });
});

Deno.test("first bytes and bytes from an offset: the same octets as a slice of the whole", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 40 }),
      fc.array(fc.nat(), { maxLength: 5 }),
      fc.nat({ max: 50 }),
      (bytes, cuts, n) => {
        const chunks = splitAt(bytes, cuts);
        assert.deepEqual([...firstBytes(chunks, n)], [...bytes.subarray(0, n)]);
        assert.deepEqual(bytesFrom(chunks, n).flatMap((c) => [...c]), [...bytes.subarray(n)]);
      },
    ),
    { numRuns: 2000 },
  );
});
