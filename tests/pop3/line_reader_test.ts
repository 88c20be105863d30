/** POP3 command lines (src/pop3/line_reader.ts): CRLF or bare LF, a cap, bounded memory. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { LineReader, MAX_COMMAND_LINE } from "../../src/pop3/line_reader.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Pushes each chunk and takes every line it completes: text, or "<too-long>". */
function feed(reader: LineReader, chunks: readonly Uint8Array[], max?: number): string[] {
  const out: string[] = [];
  for (const chunk of chunks) {
    reader.push(chunk);
    for (let ev = reader.next(max); ev; ev = reader.next(max)) {
      out.push(ev.kind === "line" ? dec.decode(ev.line) : "<too-long>");
    }
  }
  return out;
}

const PIPELINED = "USER alice\r\nPASS a b \r\n\r\nSTAT\nLIST 1\r\r\nQUIT\r\n";
const LINES = ["USER alice", "PASS a b ", "", "STAT", "LIST 1\r", "QUIT"];

Deno.test("LineReader: CRLF and bare LF end lines; only the final CR is removed", () => {
  assert.deepEqual(feed(new LineReader(), [enc.encode(PIPELINED)]), LINES);
});

Deno.test("LineReader: a split anywhere gives the same lines", () => {
  const bytes = enc.encode(PIPELINED);
  for (let i = 0; i <= bytes.length; i++) {
    for (let j = i; j <= bytes.length; j += 5) {
      const parts = [bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)];
      assert.deepEqual(feed(new LineReader(), parts), LINES, `${i},${j}`);
    }
  }
});

Deno.test("LineReader: the cap counts the line ending; longer lines are skipped to their end", () => {
  const r = new LineReader();
  const exact = "x".repeat(MAX_COMMAND_LINE - 2) + "\r\n";
  const over = "y".repeat(MAX_COMMAND_LINE - 1) + "\r\n";
  assert.deepEqual(feed(r, [enc.encode(exact + over + "NOOP\r\n")]), [
    "x".repeat(MAX_COMMAND_LINE - 2),
    "<too-long>",
    "NOOP",
  ]);
  // A bare LF line of MAX octets is within the cap.
  assert.deepEqual(feed(r, [enc.encode("z".repeat(MAX_COMMAND_LINE - 1) + "\n")]), [
    "z".repeat(MAX_COMMAND_LINE - 1),
  ]);
  // A larger cap for one line (a SASL response).
  assert.deepEqual(feed(r, [enc.encode(over)], 2048), ["y".repeat(MAX_COMMAND_LINE - 1)]);
});

Deno.test("LineReader: an endless line holds no more than the cap", () => {
  const r = new LineReader();
  const piece = enc.encode("A".repeat(1000));
  for (let i = 0; i < 1000; i++) {
    assert.deepEqual(feed(r, [piece]), []);
    assert.ok(r.buffered < MAX_COMMAND_LINE, `${r.buffered} octets held`);
    assert.ok(r.midLine);
  }
  assert.deepEqual(feed(r, [enc.encode("A\r\nNOOP\r\n")]), ["<too-long>", "NOOP"]);
  assert.ok(!r.midLine);
  assert.equal(r.buffered, 0);
});

Deno.test("LineReader: lines are taken one at a time; the rest waits; reset drops it", () => {
  const r = new LineReader();
  r.push(enc.encode("RETR 1\r\nRETR 2\r\nRE"));
  const first = r.next();
  assert.ok(first?.kind === "line" && dec.decode(first.line) === "RETR 1");
  assert.ok(r.hasInput);
  assert.equal(r.buffered, "RETR 2\r\nRE".length);
  r.reset();
  assert.equal(r.buffered, 0);
  assert.ok(!r.hasInput && !r.midLine);
  assert.deepEqual(feed(r, [enc.encode("TR 3\r\n")]), ["TR 3"]);
});

Deno.test("LineReader: the input buffer is not kept once read (a partial line is copied)", () => {
  const r = new LineReader();
  const buf = enc.encode("NOO");
  r.push(buf);
  assert.equal(r.next(), undefined);
  buf.fill(0x58);
  assert.deepEqual(feed(r, [enc.encode("P\r\n")]), ["NOOP"]);
});

Deno.test("property: any split of any bytes gives the lines of the whole", () => {
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(0x0a, 0x0d, 0x41, 0x20), { maxLength: 2000 }),
      fc.array(fc.nat(2000), { maxLength: 6 }),
      (bytes, cuts) => {
        const all = new Uint8Array(bytes);
        const whole = feed(new LineReader(), [all], 64);
        const at = [...cuts.map((c) => c % (all.length + 1))].sort((a, b) => a - b);
        const parts: Uint8Array[] = [];
        let from = 0;
        for (const c of at) {
          parts.push(all.subarray(from, c));
          from = c;
        }
        parts.push(all.subarray(from));
        const r = new LineReader();
        assert.deepEqual(feed(r, parts, 64), whole);
        assert.ok(r.buffered < 64);
      },
    ),
    { numRuns: 2000 },
  );
});
