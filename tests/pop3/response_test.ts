/**
 * POP3 responses (src/pop3/response.ts) and messages as multi-line data
 * (src/pop3/message_data.ts): tables of exact bytes, and properties: unstuffing RETR's output
 * gives the message back exactly, and nothing in it can end the response early.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { stuffedChunks, topLength } from "../../src/pop3/message_data.ts";
import {
  continuation,
  err,
  messageResponse,
  multiline,
  ok,
  topResponse,
} from "../../src/pop3/response.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function join(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

const text = (chunks: readonly Uint8Array[]) => dec.decode(join(chunks));

Deno.test("status lines, codes and the SASL continuation", () => {
  assert.equal(dec.decode(ok()), "+OK\r\n");
  assert.equal(dec.decode(ok("2 320")), "+OK 2 320\r\n");
  assert.equal(dec.decode(err("No message 4")), "-ERR No message 4\r\n");
  assert.equal(dec.decode(err("Locked", "IN-USE")), "-ERR [IN-USE] Locked\r\n");
  assert.equal(dec.decode(err("Down", "SYS/TEMP")), "-ERR [SYS/TEMP] Down\r\n");
  assert.equal(dec.decode(continuation()), "+ \r\n");
  assert.equal(dec.decode(continuation("Zm9v")), "+ Zm9v\r\n");
  // Our own texts only: a line break or an overlong line is a bug, never sent.
  assert.throws(() => ok("a\r\n+OK b"));
  assert.throws(() => err("x".repeat(600)));
});

Deno.test("multi-line responses end with a lone dot; a line of ours that begins with one is stuffed", () => {
  assert.equal(
    text(multiline("2 messages", ["1 120", "2 200"])),
    "+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n",
  );
  assert.equal(text(multiline(undefined, [])), "+OK\r\n.\r\n");
  assert.equal(text(multiline(undefined, [".x"])), "+OK\r\n..x\r\n.\r\n");
});

/** Message, its RETR data (after the status line). */
const STUFFING: readonly (readonly [string, string])[] = [
  ["", ".\r\n"],
  ["a", "a\r\n.\r\n"],
  ["a\r\n", "a\r\n.\r\n"],
  [".", "..\r\n.\r\n"],
  [".\r\n", "..\r\n.\r\n"],
  ["\r\n.\r\n", "\r\n..\r\n.\r\n"],
  ["a\r\n.b\r\n..c\r\n", "a\r\n..b\r\n...c\r\n.\r\n"],
  // After a bare LF too: most clients end lines at LF.
  ["a\n.\nb", "a\n..\nb\r\n.\r\n"],
  // Not at a line's start: left alone.
  ["a.b\r\n x.\r\n", "a.b\r\n x.\r\n.\r\n"],
  // A message ending in a bare LF or CR gets CRLF before the terminator.
  ["a\n", "a\n\r\n.\r\n"],
  ["a\r", "a\r\r\n.\r\n"],
  ["\r\n", "\r\n.\r\n"],
];

Deno.test("RETR data: the table", () => {
  for (const [message, data] of STUFFING) {
    assert.equal(text(stuffedChunks(enc.encode(message))), data, JSON.stringify(message));
    assert.equal(
      text(messageResponse(enc.encode(message))),
      `+OK ${enc.encode(message).length} octets\r\n${data}`,
    );
  }
});

/** Message, TOP's line count, what TOP sends of it. */
const TOP: readonly (readonly [string, number, string])[] = [
  ["H: 1\r\n\r\nb1\r\nb2\r\nb3\r\n", 0, "H: 1\r\n\r\n"],
  ["H: 1\r\n\r\nb1\r\nb2\r\nb3\r\n", 2, "H: 1\r\n\r\nb1\r\nb2\r\n"],
  ["H: 1\r\n\r\nb1\r\nb2\r\nb3\r\n", 3, "H: 1\r\n\r\nb1\r\nb2\r\nb3\r\n"],
  ["H: 1\r\n\r\nb1\r\nb2\r\nb3\r\n", 99, "H: 1\r\n\r\nb1\r\nb2\r\nb3\r\n"],
  // The body's last line without a line ending.
  ["H: 1\r\n\r\nb1\r\nb2", 5, "H: 1\r\n\r\nb1\r\nb2"],
  // Bare LF messages.
  ["H: 1\nH: 2\n\nb1\nb2\n", 1, "H: 1\nH: 2\n\nb1\n"],
  // All header: sent whole.
  ["H: 1\r\nH: 2\r\n", 0, "H: 1\r\nH: 2\r\n"],
  ["H: 1", 0, "H: 1"],
  // An empty header.
  ["\r\nbody\r\n", 0, "\r\n"],
  ["\r\nbody\r\n", 1, "\r\nbody\r\n"],
  ["", 3, ""],
  // A folded header line is still the header.
  ["A: x\r\n y\r\n\r\nb\r\n", 0, "A: x\r\n y\r\n\r\n"],
];

Deno.test("TOP: the header, the empty line, and N body lines", () => {
  for (const [message, lines, sent] of TOP) {
    const bytes = enc.encode(message);
    assert.equal(
      dec.decode(bytes.subarray(0, topLength(bytes, lines))),
      sent,
      JSON.stringify([message, lines]),
    );
  }
  assert.equal(
    text(topResponse(enc.encode("H: 1\r\n\r\n.b1\r\nb2\r\n"), 1)),
    "+OK\r\nH: 1\r\n\r\n..b1\r\n.\r\n",
  );
});

/**
 * What a client does with multi-line data: lines end at LF, a line `.` CRLF ends the data, a
 * leading dot is removed. Returns the data, and how many octets came after the terminator.
 */
function unstuff(data: Uint8Array): { message: Uint8Array; after: number } {
  const out: number[] = [];
  let at = 0;
  while (at < data.length) {
    const lf = data.indexOf(0x0a, at);
    assert.ok(lf >= 0, "every line ends with LF");
    const line = data.subarray(at, lf + 1);
    at = lf + 1;
    if (line.length === 3 && line[0] === 0x2e && line[1] === 0x0d) {
      return { message: new Uint8Array(out), after: data.length - at };
    }
    out.push(...(line[0] === 0x2e ? line.subarray(1) : line));
  }
  throw new Error("No terminating line");
}

/** Where NEEDLE first occurs in HAY, or -1. */
function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** The message a client gets for MESSAGE: CRLF is added when it does not end with one. */
function expected(message: Uint8Array): Uint8Array {
  const n = message.length;
  if (n === 0 || (message[n - 2] === 0x0d && message[n - 1] === 0x0a)) return message;
  return join([message, enc.encode("\r\n")]);
}

/** Bytes rich in what matters here: dots, CR, LF. */
const messageBytes = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(0x2e, 0x0d, 0x0a) },
    { weight: 1, arbitrary: fc.constantFrom(0x61, 0x20) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
  ),
  { maxLength: 300 },
).map((a) => new Uint8Array(a));

Deno.test("property: unstuffing RETR's data gives the exact message; nothing ends it early", () => {
  fc.assert(
    fc.property(messageBytes, (message) => {
      const data = join(stuffedChunks(message));
      const { message: got, after } = unstuff(data);
      assert.deepEqual(got, expected(message));
      assert.equal(after, 0, "the terminator is the last line, and the only one");
      // A client that ends lines only at CRLF finds CRLF.CRLF at the end and nowhere before.
      const framed = join([enc.encode("+OK\r\n"), data]);
      assert.equal(indexOf(framed, enc.encode("\r\n.\r\n")), framed.length - 5);
    }),
    { numRuns: 5000 },
  );
});

Deno.test("property: TOP's data is a dot-stuffed prefix ending at a line's end", () => {
  fc.assert(
    fc.property(messageBytes, fc.nat(10), (message, lines) => {
      const length = topLength(message, lines);
      assert.ok(length <= message.length);
      assert.ok(length === message.length || message[length - 1] === 0x0a);
      const { message: got } = unstuff(join(stuffedChunks(message, length)));
      assert.deepEqual(got, expected(message.subarray(0, length)));
    }),
    { numRuns: 3000 },
  );
});

Deno.test("stuffing: long stretches are views of the message, short ones are gathered", () => {
  const big = enc.encode(("x".repeat(5000) + "\r\n.\r\n").repeat(4));
  const chunks = stuffedChunks(big);
  const views = chunks.filter((c) => c.buffer === big.buffer);
  assert.equal(views.length, 4);
  // A message of nothing but dot lines: few chunks, not one per line.
  const dots = enc.encode(".\r\n".repeat(100_000));
  const many = stuffedChunks(dots);
  assert.ok(many.length <= 10, `${many.length} chunks`);
  assert.equal(join(many).length, dots.length + 100_000 + 3);
});
