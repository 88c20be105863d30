/**
 * TOP from a prefix (src/pop3/message_data.ts TopCut, src/server/pop3_backend.ts readTop): fed
 * a message in pieces of any size, or read in growing ranges from a tiny first one, TOP sends
 * byte for byte what it sent when it cut the whole message, and reads no further than it must.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { concatBytes } from "../../src/bytes.ts";
import { stuffedChunks, TopCut, topLength } from "../../src/pop3/message_data.ts";
import { ok, topResponse } from "../../src/pop3/response.ts";
import { readTop } from "../../src/server/pop3_backend.ts";

const LF = 0x0a;
const CR = 0x0d;
const enc = new TextEncoder();

/** TOP's cut as it was computed before TopCut, from the whole message: the oracle. */
function wholeTopLength(message: Uint8Array, lines: number): number {
  let start = 0;
  let body = -1;
  while (start < message.length) {
    const lf = message.indexOf(LF, start);
    const end = lf < 0 ? message.length : lf;
    if (end === start || (end === start + 1 && message[start] === CR)) {
      body = lf < 0 ? message.length : lf + 1;
      break;
    }
    if (lf < 0) break;
    start = lf + 1;
  }
  if (body < 0) return message.length;
  let at = body;
  for (let n = 0; n < lines && at < message.length; n++) {
    const lf = message.indexOf(LF, at);
    at = lf < 0 ? message.length : lf + 1;
  }
  return at;
}

/** TOP's response as it was: the whole message, cut. */
function oldTop(message: Uint8Array, lines: number): Uint8Array {
  return concatBytes([ok(), ...stuffedChunks(message, wholeTopLength(message, lines))]);
}

/** Messages rich in what decides the cut: header-like lines, empty lines, lone CRs, dots. */
const message = fc.oneof(
  fc.array(
    fc.oneof(
      {
        weight: 5,
        arbitrary: fc.constantFrom(
          "H: v\r\n",
          "Subject: x\n",
          " folded\r\n",
          "\r\n",
          "\n",
          "\r",
          "\r\r\n",
          ".",
          ".x\r\n",
          "..\n",
          "body\r\n",
          "b",
        ),
      },
      { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
    ),
    { maxLength: 40 },
  ).map((parts) => enc.encode(parts.join(""))),
  fc.array(
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(0x2e, CR, LF) },
      { weight: 2, arbitrary: fc.constantFrom(0x61, 0x3a, 0x20) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
    ),
    { maxLength: 200 },
  ).map((a) => new Uint8Array(a)),
);

/** LINES: mostly small, sometimes past any message's end. */
const lines = fc.oneof(
  { weight: 4, arbitrary: fc.nat(12) },
  { weight: 1, arbitrary: fc.constantFrom(100, 2 ** 31 - 1) },
);

Deno.test("TopCut: fed in pieces of any size, it cuts where the whole message is cut", () => {
  fc.assert(
    fc.property(message, lines, fc.array(fc.nat(20), { maxLength: 30 }), (m, n, sizes) => {
      const want = wholeTopLength(m, n);
      assert.equal(topLength(m, n), want);
      const cut = new TopCut(n);
      let fed = 0;
      let got: number | undefined;
      for (const size of [...sizes, m.length]) {
        const piece = m.subarray(fed, fed + size);
        fed += piece.length;
        got = cut.feed(piece);
        if (got !== undefined) {
          // Decided as soon as the octets say so: by the piece holding the cut's last octet.
          assert.ok(
            got <= fed && got > fed - piece.length,
            `${got} in ${fed - piece.length}..${fed}`,
          );
          break;
        }
      }
      assert.equal(got ?? cut.end(), want);
    }),
    { numRuns: 5000 },
  );
});

Deno.test("property: TOP read in growing ranges sends byte for byte what the whole message's cut sent", () => {
  fc.assert(
    fc.property(
      message,
      lines,
      fc.integer({ min: 1, max: 9 }),
      fc.integer({ min: 1, max: 40 }),
      (m, n, first, most) => {
        const reads: [number, number][] = [];
        const read = (start: number, end: number) => {
          reads.push([start, end]);
          return m.slice(start, end);
        };
        const prefix = readTop(read, m.length, n, { first, most });
        assert.ok(prefix);
        assert.deepEqual(concatBytes(topResponse(prefix, n)), oldTop(m, n));
        const cut = wholeTopLength(m, n);
        assert.equal(prefix.length, cut);
        // Each range starts where the last ended and is bounded; none starts past the cut.
        let at = 0;
        for (const [start, end] of reads) {
          assert.equal(start, at);
          assert.ok(end - start <= Math.max(first, most));
          assert.ok(start <= cut, `read from ${start} for a cut at ${cut}`);
          at = Math.min(end, m.length);
        }
      },
    ),
    { numRuns: 5000 },
  );
});

Deno.test("readTop: a 7-octet first read; CRLF split across ranges; a header that never ends", () => {
  const cases: [string, number][] = [
    ["Subject: a\r\nFrom: b\r\n\r\nline 1\r\n.line 2\r\nline 3\r\n", 0],
    ["Subject: a\r\nFrom: b\r\n\r\nline 1\r\n.line 2\r\nline 3\r\n", 2],
    ["Subject: a\r\nFrom: b\r\n\r\nline 1\r\n.line 2\r\nline 3\r\n", 9],
    ["Subjec\r\n\r\nbody\n", 0],
    ["Subject: a\nFrom: b\n\n.x\ny\n", 1],
    // A lone CR that is not a line: the header goes on.
    ["A: 1\r\n\rX: 2\r\n\r\nb\r\n", 0],
    ["A: 1\r\nB: 2\r\nno end to this header", 3],
  ];
  for (const [text, n] of cases) {
    const m = enc.encode(text);
    for (const first of [1, 2, 7]) {
      const prefix = readTop((s, e) => m.slice(s, e), m.length, n, { first, most: 7 })!;
      assert.deepEqual(concatBytes(topResponse(prefix, n)), oldTop(m, n), JSON.stringify(text));
    }
  }
});

Deno.test("readTop: a message gone before or while it is read is undefined", () => {
  const m = enc.encode("A: 1\r\nB: 2\r\n\r\nbody\r\n");
  assert.equal(readTop(() => undefined, m.length, 0), undefined);
  let calls = 0;
  const vanishing = (s: number, e: number) => ++calls === 1 ? m.slice(s, e) : undefined;
  assert.equal(readTop(vanishing, m.length, 0, { first: 4, most: 4 }), undefined);
});
