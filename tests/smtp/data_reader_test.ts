/** DATA framing (RFC 5321 §4.1.1.4, §4.5.2), the smuggling policy, and dotStuff. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { DataReader, dotStuff } from "../../src/smtp/data_reader.ts";
import { splitAt } from "../_helpers/bytes.ts";
import { concatBytes } from "../../src/bytes.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

interface Decoded {
  done: boolean;
  /** Position in the whole stream just past the terminator (when done). */
  end: number;
  message: Uint8Array;
  bare: boolean;
  size: number;
  overflow: boolean;
}

/** Feeds the chunks until the reader is done; `end` is where, counted in the whole stream. */
function decode(chunks: readonly Uint8Array[], limit = 1 << 20): Decoded {
  const r = new DataReader(limit);
  let pos = 0;
  for (const chunk of chunks) {
    const { done, offset } = r.push(chunk);
    if (done) {
      assert.ok(offset > 0 && offset <= chunk.length);
      return result(r, true, pos + offset);
    }
    assert.equal(offset, chunk.length, "a push that is not done consumes everything");
    pos += chunk.length;
  }
  return result(r, false, -1);
}

function result(r: DataReader, done: boolean, end: number): Decoded {
  return {
    done,
    end,
    message: concatBytes(r.chunks),
    bare: r.bareLineEnding,
    size: r.size,
    overflow: r.overflow,
  };
}

const text = (s: string) => enc.encode(s);

Deno.test("DataReader: CRLF.CRLF at the very start is an empty message", () => {
  const r = new DataReader(100);
  const buf = text(".\r\nQUIT\r\n");
  assert.deepEqual(r.push(buf), { done: true, offset: 3 });
  assert.equal(r.chunks.length, 0);
  assert.equal(r.size, 0);
  assert.equal(r.bareLineEnding, false);
  assert.equal(dec.decode(buf.subarray(3)), "QUIT\r\n");
});

Deno.test("DataReader: dot-unstuffing is byte-exact", () => {
  const cases: [string, string][] = [
    ["a\r\n.\r\n", "a\r\n"],
    ["..\r\n.\r\n", ".\r\n"],
    ["...\r\n.\r\n", "..\r\n"],
    ["..leading\r\n.\r\n", ".leading\r\n"],
    [". \r\n.\r\n", " \r\n"],
    ["a.b\r\n .\r\n.\r\n", "a.b\r\n .\r\n"],
    ["\r\n\r\n.\r\n", "\r\n\r\n"],
    ["x\r\n.x\r\n.\r\n", "x\r\nx\r\n"],
    ["l\xe4ng\r\n.\r\n", "l\xe4ng\r\n"],
  ];
  for (const [wire, want] of cases) {
    const d = decode([text(wire)]);
    assert.ok(d.done, JSON.stringify(wire));
    assert.equal(d.end, text(wire).length);
    assert.equal(dec.decode(d.message), want, JSON.stringify(wire));
    assert.equal(d.size, text(want).length);
    assert.equal(d.bare, false);
  }
});

Deno.test("DataReader: the terminator split across every boundary; pipelined bytes via offset", () => {
  const wire = text("Subject: x\r\n\r\n..dot\r\nbody\r\n.\r\nMAIL FROM:<a@b.c>\r\n");
  const end = wire.length - "MAIL FROM:<a@b.c>\r\n".length;
  for (let i = 0; i <= wire.length; i++) {
    for (let j = i; j <= wire.length; j++) {
      const chunks = splitAt(wire, [i, j]);
      const d = decode(chunks);
      assert.ok(d.done, `${i},${j}`);
      assert.equal(d.end, end, `${i},${j}`);
      assert.equal(dec.decode(d.message), "Subject: x\r\n\r\n.dot\r\nbody\r\n", `${i},${j}`);
      assert.equal(d.bare, false);
    }
  }
  // Byte by byte.
  const d = decode([...wire].map((b) => new Uint8Array([b])));
  assert.equal(d.end, end);
  // And the rest of the buffer, from `offset`, is the next command.
  const r = new DataReader(1000);
  const { done, offset } = r.push(wire, 0);
  assert.ok(done);
  assert.equal(dec.decode(wire.subarray(offset)), "MAIL FROM:<a@b.c>\r\n");
});

Deno.test("DataReader: push honours a starting offset", () => {
  const buf = text("DATA\r\nhello\r\n.\r\nQUIT\r\n");
  const r = new DataReader(1000);
  const { done, offset } = r.push(buf, 6);
  assert.ok(done);
  assert.equal(dec.decode(concatBytes(r.chunks)), "hello\r\n");
  assert.equal(dec.decode(buf.subarray(offset)), "QUIT\r\n");
});

Deno.test("DataReader: chunks are copies, safe after the caller reuses its buffer", () => {
  const r = new DataReader(1000);
  const buf = text("hello\r\n");
  r.push(buf);
  buf.fill(0x58);
  assert.ok(r.push(text(".\r\n")).done);
  assert.equal(dec.decode(concatBytes(r.chunks)), "hello\r\n");
});

Deno.test("DataReader: with owned buffers, chunks are views of them, not copies", () => {
  const r = new DataReader(1000, true);
  const buf = text("hello\r\n.\r\n");
  assert.ok(r.push(buf).done);
  assert.equal(dec.decode(concatBytes(r.chunks)), "hello\r\n");
  assert.equal(r.chunks[0]!.buffer, buf.buffer);
});

Deno.test("DataReader: over the size limit keeps counting, drops bytes, finds the end", () => {
  const body = `${"0123456789".repeat(100)}\r\n`.repeat(20); // 20 * 1002 octets
  const wire = text(`${body}..x\r\n.\r\nNOOP\r\n`);
  for (const cut of [1, 5000, wire.length - 8, wire.length - 9, wire.length - 10]) {
    const d = decode(splitAt(wire, [cut, cut + 3]), 1000);
    assert.ok(d.done);
    assert.equal(d.end, wire.length - 6);
    assert.equal(d.overflow, true);
    assert.equal(d.size, body.length + ".x\r\n".length);
    assert.equal(d.message.length, 0, "nothing kept once over the limit");
  }
  // Exactly at the limit is not over it.
  const at = decode([text("12345678\r\n.\r\n")], 10);
  assert.equal(at.overflow, false);
  assert.equal(at.size, 10);
  assert.equal(dec.decode(at.message), "12345678\r\n");
  const over = decode([text("123456789\r\n.\r\n")], 10);
  assert.equal(over.overflow, true);
  assert.equal(over.size, 11);
});

Deno.test("DataReader: long lines pass through (no line-length limit in the reader)", () => {
  const line = "x".repeat(5000);
  const d = decode([text(`${line}\r\n.\r\n`)]);
  assert.equal(dec.decode(d.message), `${line}\r\n`);
});

Deno.test("DataReader: smuggling sequences never end the data and set bareLineEnding", () => {
  const sequences = ["\n.\n", "\n.\r\n", "\r.\r\n", "\r\n.\r", "\n.\r", "\r.\n", "\r\n.\n"];
  const after = "MAIL FROM:<evil@remote.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nx";
  for (const seq of sequences) {
    for (const prefix of ["", "first", "first\r\n"]) {
      const wire = text(prefix + seq + after);
      for (let i = 0; i <= wire.length; i++) {
        const d = decode(splitAt(wire, [i]));
        assert.equal(d.done, false, `${JSON.stringify(prefix + seq)} split at ${i}`);
        assert.equal(d.bare, true, `${JSON.stringify(prefix + seq)} split at ${i}`);
      }
      // The real terminator still ends the message, which stays marked.
      const d = decode([wire, text("\r\n.\r\n")]);
      assert.ok(d.done);
      assert.equal(d.bare, true);
      assert.equal(d.end, wire.length + 5);
    }
  }
});

Deno.test("DataReader: a bare CR or LF anywhere is reported", () => {
  const cases = [
    "a\nb\r\n",
    "a\rb\r\n",
    "\n",
    "\r\r\n",
    "a\r\n.\rb\r\n",
    "a\r\n.\nb\r\n",
    "a\n\r\n",
  ];
  for (const body of cases) {
    const d = decode([text(`${body}\r\n.\r\n`)]);
    assert.ok(d.done, JSON.stringify(body));
    assert.equal(d.bare, true, JSON.stringify(body));
  }
  // ". CR x" keeps the CR after removing the stuffed dot.
  assert.equal(dec.decode(decode([text("\r\n.\rb\r\n.\r\n")]).message), "\r\n\rb\r\n");
  assert.equal(dec.decode(decode([text(".\r\r\n.\r\n")]).message), "\r\r\n");
});

Deno.test("dotStuff: doubles leading dots and appends the terminator", () => {
  const cases: [string, string][] = [
    ["", ".\r\n"],
    ["a\r\n", "a\r\n.\r\n"],
    ["a", "a\r\n.\r\n"],
    [".", "..\r\n.\r\n"],
    [".\r\n", "..\r\n.\r\n"],
    ["a\r\n.\r\n", "a\r\n..\r\n.\r\n"],
    ["a\r\n..b\r\n", "a\r\n...b\r\n.\r\n"],
    ["a.b\r\n", "a.b\r\n.\r\n"],
    // After a bare LF or CR there is no line start to stuff.
    ["a\n.b\r\n", "a\n.b\r\n.\r\n"],
    ["a\r.b\r\n", "a\r.b\r\n.\r\n"],
  ];
  for (const [message, want] of cases) {
    assert.equal(dec.decode(dotStuff(text(message))), want, JSON.stringify(message));
  }
});

/** A message of whole CRLF-terminated lines, no bare CR or LF, dots likely at line starts. */
const crlfMessage = fc.array(
  fc.array(
    fc.oneof(
      { weight: 3, arbitrary: fc.integer({ min: 0, max: 255 }) },
      { weight: 2, arbitrary: fc.constant(DOT) },
    ),
    { maxLength: 12 },
  ).map((bytes) => bytes.filter((b) => b !== CR && b !== LF)),
  { maxLength: 12 },
).map((lines) =>
  concatBytes(lines.map((l) => concatBytes([new Uint8Array(l), new Uint8Array([CR, LF])])))
);

Deno.test("property: DataReader(dotStuff(m)) gives back exactly m", () => {
  fc.assert(
    fc.property(crlfMessage, fc.array(fc.nat(), { maxLength: 6 }), (m, cuts) => {
      const wire = dotStuff(m);
      const d = decode(splitAt(wire, cuts));
      assert.ok(d.done);
      assert.equal(d.end, wire.length);
      assert.deepEqual(d.message, m);
      assert.equal(d.size, m.length);
      assert.equal(d.bare, false);
      assert.equal(d.overflow, false);
    }),
    { seed: 4522, numRuns: 1000 },
  );
});

/**
 * A plain reference decoder: where the first CRLF.CRLF ends (or ".CRLF" at the very start),
 * the unstuffed message before it, and whether it holds a bare CR or LF.
 */
function reference(s: Uint8Array): { end: number; message: Uint8Array; bare: boolean } | undefined {
  let end = -1;
  if (s[0] === DOT && s[1] === CR && s[2] === LF) end = 3;
  else {
    for (let i = 0; i + 5 <= s.length; i++) {
      if (
        s[i] === CR && s[i + 1] === LF && s[i + 2] === DOT && s[i + 3] === CR && s[i + 4] === LF
      ) {
        end = i + 5;
        break;
      }
    }
  }
  if (end < 0) return undefined;
  const body = s.subarray(0, end - 3);
  const out: number[] = [];
  let bare = false;
  for (let i = 0; i < body.length; i++) {
    const b = body[i]!;
    const lineStart = i === 0 || (body[i - 1] === LF && body[i - 2] === CR && i >= 2);
    if (b === CR && body[i + 1] !== LF) bare = true;
    if (b === LF && (i === 0 || body[i - 1] !== CR)) bare = true;
    if (lineStart && b === DOT) continue;
    out.push(b);
  }
  return { end, message: new Uint8Array(out), bare };
}

Deno.test("property: random bytes in random splits match the reference decoder", () => {
  // Bytes drawn mostly from CR, LF, "." and "x", so that terminators and near-misses are common.
  const byte = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(CR, LF, DOT) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
  );
  fc.assert(
    fc.property(
      fc.array(byte, { maxLength: 40 }).map((a) => new Uint8Array(a)),
      fc.array(fc.nat(), { maxLength: 6 }),
      fc.integer({ min: 0, max: 20 }),
      (bytes, cuts, limit) => {
        const d = decode(splitAt(bytes, cuts), limit);
        const ref = reference(bytes);
        if (!ref) {
          assert.equal(d.done, false, "never done before a real CRLF.CRLF");
          return;
        }
        assert.ok(d.done);
        assert.equal(d.end, ref.end);
        assert.equal(d.size, ref.message.length);
        assert.equal(d.bare, ref.bare);
        assert.equal(d.overflow, ref.message.length > limit);
        assert.deepEqual(d.message, d.overflow ? new Uint8Array(0) : ref.message);
      },
    ),
    { seed: 2023, numRuns: 3000 },
  );
});

Deno.test("property: any bytes in any splits never throw", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 300 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      (bytes, cuts) => {
        const d = decode(splitAt(bytes, cuts), 100);
        assert.equal(d.done, reference(bytes) !== undefined);
      },
    ),
    { seed: 1870, numRuns: 1000 },
  );
});
