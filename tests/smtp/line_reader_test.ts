/** Command-line framing: CRLF or bare LF ends a line; a 2048-octet cap bounds memory. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { DEFAULT_MAX_COMMAND_LINE, LineReader } from "../../src/smtp/line_reader.ts";
import { splitAt } from "../_helpers/bytes.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Feeds every chunk; returns the lines (as text) and "<too-long>" markers in order. */
function feed(reader: LineReader, chunks: readonly Uint8Array[]): string[] {
  const out: string[] = [];
  for (const chunk of chunks) {
    let offset = 0;
    for (;;) {
      const r = reader.next(chunk, offset);
      if (!r) break;
      const [ev, next] = r;
      assert.ok(next > offset && next <= chunk.length, "progress within the buffer");
      offset = next;
      out.push(ev.kind === "line" ? dec.decode(ev.line) : "<too-long>");
    }
  }
  return out;
}

const PIPELINED =
  "EHLO client.test\r\nMAIL FROM:<a@b.c>\r\n\r\nNOOP\nRCPT TO:<x@y.z> \r\r\nQUIT\r\n";
const EXPECTED = [
  "EHLO client.test",
  "MAIL FROM:<a@b.c>",
  "",
  "NOOP",
  "RCPT TO:<x@y.z> \r",
  "QUIT",
];

Deno.test("LineReader: CRLF and bare LF end lines; only the final CR is removed", () => {
  assert.deepEqual(feed(new LineReader(), [enc.encode(PIPELINED)]), EXPECTED);
});

Deno.test("LineReader: a split at every position gives the same lines", () => {
  const bytes = enc.encode(PIPELINED);
  for (let i = 0; i <= bytes.length; i++) {
    assert.deepEqual(feed(new LineReader(), splitAt(bytes, [i])), EXPECTED, `split at ${i}`);
    for (let j = i; j <= bytes.length; j += 7) {
      assert.deepEqual(feed(new LineReader(), splitAt(bytes, [i, j])), EXPECTED, `${i},${j}`);
    }
  }
  const single = [...bytes].map((b) => new Uint8Array([b]));
  assert.deepEqual(feed(new LineReader(), single), EXPECTED);
});

Deno.test("LineReader: no complete line yet returns undefined and keeps the bytes", () => {
  const r = new LineReader();
  assert.equal(r.next(enc.encode("NOO"), 0), undefined);
  assert.equal(r.buffered, 3);
  assert.equal(r.next(new Uint8Array(0), 0), undefined);
  assert.equal(r.buffered, 3);
  const buf = enc.encode("xxP\r\nRSET");
  const got = r.next(buf, 2);
  assert.ok(got);
  assert.equal(got[1], 5);
  assert.deepEqual(got[0].kind === "line" && dec.decode(got[0].line), "NOOP");
  assert.equal(r.buffered, 0);
  assert.equal(r.next(buf, 5), undefined);
  assert.equal(r.buffered, 4);
  assert.equal(dec.decode(r.takePending()), "RSET");
  assert.equal(r.buffered, 0);
  assert.equal(r.takePending().length, 0);
});

Deno.test("LineReader: kept bytes are copied, not views of the caller's buffer", () => {
  const r = new LineReader();
  const buf = enc.encode("HELO a");
  assert.equal(r.next(buf, 0), undefined);
  buf.fill(0x58); // the socket layer reuses its buffer
  assert.deepEqual(feed(r, [enc.encode(".test\r\n")]), ["HELO a.test"]);
});

Deno.test("LineReader: the cap is 2048 octets including CRLF (or LF)", () => {
  const max = DEFAULT_MAX_COMMAND_LINE;
  assert.equal(max, 2048);
  const crlf = (n: number) => enc.encode(`${"a".repeat(n)}\r\n`);
  const lf = (n: number) => enc.encode(`${"a".repeat(n)}\n`);
  // Exactly at the limit: a line; one more octet: too long. Whole or split anywhere.
  const cases: [Uint8Array, string][] = [
    [crlf(max - 2), "a".repeat(max - 2)],
    [crlf(max - 1), "<too-long>"],
    [lf(max - 1), "a".repeat(max - 1)],
    [lf(max), "<too-long>"],
  ];
  for (const [bytes, want] of cases) {
    for (const cut of [0, 1, max - 3, max - 2, max - 1, max, bytes.length - 1, bytes.length]) {
      const chunks = splitAt(bytes, [cut]);
      assert.deepEqual(feed(new LineReader(), [...chunks, enc.encode("NOOP\r\n")]), [
        want,
        "NOOP",
      ], `${bytes.length} octets split at ${cut}`);
    }
  }
});

Deno.test("LineReader: a too-long line is reported once, at its end, and the next line works", () => {
  const r = new LineReader(16);
  const chunks = ["0123456789", "0123456789", "0123456789", "tail\r", "\nQUIT\r\n"].map((s) =>
    enc.encode(s)
  );
  assert.deepEqual(feed(r, chunks), ["<too-long>", "QUIT"]);
  assert.deepEqual(feed(new LineReader(16), [enc.encode(`${"x".repeat(40)}\r\nA\r\nB\n`)]), [
    "<too-long>",
    "A",
    "B",
  ]);
});

Deno.test("LineReader: memory stays bounded while 1 MiB arrives without a newline", () => {
  for (const chunkSize of [1, 1000, 4096, 65536]) {
    const r = new LineReader();
    const chunk = new Uint8Array(chunkSize).fill(0x41);
    const total = 1 << 20;
    let max = 0;
    for (let sent = 0; sent < total; sent += chunkSize) {
      assert.equal(r.next(chunk, 0), undefined);
      max = Math.max(max, r.buffered);
    }
    assert.ok(
      max < DEFAULT_MAX_COMMAND_LINE,
      `buffered up to ${max} with ${chunkSize}-byte chunks`,
    );
    assert.equal(r.buffered, 0, "past the limit nothing is kept");
    assert.deepEqual(feed(r, [enc.encode("\r\nNOOP\r\n")]), ["<too-long>", "NOOP"]);
  }
});

Deno.test("LineReader: a custom limit", () => {
  const r = new LineReader(8);
  assert.deepEqual(feed(r, [enc.encode("123456\r\n1234567\r\n123456\n1234567\n12345678\n")]), [
    "123456",
    "<too-long>",
    "123456",
    "1234567",
    "<too-long>",
  ]);
});

Deno.test("property: any line list, split anywhere, reads back the same", () => {
  const line = fc.string({ maxLength: 30 }).map((s) => s.replace(/[\r\n]/g, ""));
  fc.assert(
    fc.property(
      fc.array(fc.tuple(line, fc.boolean()), { maxLength: 10 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      (lines, cuts) => {
        const text = lines.map(([l, crlf]) => l + (crlf ? "\r\n" : "\n")).join("");
        const bytes = enc.encode(text);
        const want = lines.map(([l]) => enc.encode(l).length + 2 > 2048 ? "<too-long>" : l);
        assert.deepEqual(feed(new LineReader(), splitAt(bytes, cuts)), want);
      },
    ),
    { seed: 2920, numRuns: 500 },
  );
});

Deno.test("property: random bytes in random splits never throw and never buffer past the cap", () => {
  const max = 64;
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 600 }).map((b) => b.map((x) => x % 4 === 0 ? 0x0a : x)),
      fc.array(fc.nat(), { maxLength: 10 }),
      (bytes, cuts) => {
        const r = new LineReader(max);
        let events = 0;
        for (const chunk of splitAt(bytes, cuts)) {
          events += feed(r, [chunk]).length;
          assert.ok(r.buffered < max);
        }
        // One event per LF, whatever the line lengths.
        assert.equal(events, bytes.filter((b) => b === 0x0a).length);
      },
    ),
    { seed: 1000, numRuns: 500 },
  );
});
