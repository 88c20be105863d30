/** Command framing: lines, literals of both kinds, continuation requests, and every bound. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { CommandFramer, type FrameEvent } from "../../src/imap/framer.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function describe(events: FrameEvent[]): string[] {
  return events.map((e) =>
    e.kind === "command"
      ? `command ${dec(e.bytes)}`
      : e.kind === "continue"
      ? `continue ${e.size}`
      : `refused ${e.tag} ${e.command} ${e.reason}${e.close ? " close" : ""}`
  );
}

Deno.test("framer: lines are commands; CRLF and bare LF both end one", () => {
  const f = new CommandFramer();
  assert.deepEqual(describe(f.push(enc("a1 NOOP\r\na2 CAPABILITY\nA3 LOG"))), [
    "command a1 NOOP",
    "command a2 CAPABILITY",
  ]);
  assert.ok(f.midCommand);
  assert.deepEqual(describe(f.push(enc("OUT\r\n"))), ["command A3 LOGOUT"]);
  assert.ok(!f.midCommand);
});

Deno.test("framer: a synchronizing literal asks for a continuation, then its octets are taken whole", () => {
  const f = new CommandFramer();
  assert.deepEqual(describe(f.push(enc("a LOGIN {5}\r\n"))), ["continue 5"]);
  // The literal holds a CRLF and a brace: it is data, not framing.
  assert.deepEqual(describe(f.push(enc("a\r\n{1"))), []);
  assert.deepEqual(describe(f.push(enc(" {3+}\r\npw}\r\n"))), [
    "command a LOGIN {5}\r\na\r\n{1 {3+}\r\npw}",
  ]);
});

Deno.test("framer: a non-synchronizing literal (LITERAL+) needs no continuation", () => {
  const f = new CommandFramer();
  assert.deepEqual(describe(f.push(enc("a APPEND INBOX {4+}\r\nab\r\n\r\n"))), [
    "command a APPEND INBOX {4+}\r\nab\r\n",
  ]);
});

Deno.test("framer: any chunking gives the same commands (property)", () => {
  const stream = enc(
    "a1 LOGIN {3}\r\nbob {4+}\r\np\r\nw\r\na2 APPEND INBOX (\\Seen) {10}\r\n0123456789\r\na3 NOOP\r\n",
  );
  const whole = describe(new CommandFramer().push(stream));
  assert.equal(whole.filter((l) => l.startsWith("command")).length, 3);
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: stream.length }), { maxLength: 10 }), (cuts) => {
      const f = new CommandFramer();
      const points = [...new Set(cuts)].sort((a, b) => a - b);
      const events: FrameEvent[] = [];
      let from = 0;
      for (const p of [...points, stream.length]) {
        events.push(...f.push(stream.slice(from, p)));
        from = p;
      }
      assert.deepEqual(describe(events), whole);
    }),
  );
});

Deno.test("framer: a command too long is refused with its tag, and the next one is read", () => {
  const f = new CommandFramer({
    maxText: 64,
    maxLiteral: 10,
    maxAppendLiteral: 100,
    maxLiterals: 2,
  });
  const events = f.push(enc(`x7 FETCH ${"1,".repeat(100)}1 FLAGS\r\nx8 NOOP\r\n`));
  assert.deepEqual(describe(events), ["refused x7 FETCH too-long", "command x8 NOOP"]);
  assert.equal(f.buffered, 0);
  // Over many pushes, memory stays bounded while the line goes on.
  for (let i = 0; i < 100; i++) assert.deepEqual(f.push(enc("x".repeat(1000))), []);
  assert.ok(f.buffered <= 64);
  assert.deepEqual(describe(f.push(enc("\r\nx9 NOOP\r\n"))), [
    "refused undefined undefined too-long",
    "command x9 NOOP",
  ]);
});

Deno.test("framer: literals over their bound, or too many, are refused before they are read", () => {
  const limits = { maxText: 1000, maxLiteral: 10, maxAppendLiteral: 100, maxLiterals: 2 };
  let f = new CommandFramer(limits);
  // Synchronizing: the client sends nothing more of the command; the session goes on.
  assert.deepEqual(describe(f.push(enc("a LOGIN {11}\r\nb NOOP\r\n"))), [
    "refused a LOGIN literal-too-large",
    "command b NOOP",
  ]);
  // APPEND's message may be as large as a message we accept.
  assert.deepEqual(describe(f.push(enc("c APPEND INBOX {50}\r\n"))), ["continue 50"]);
  f = new CommandFramer(limits);
  assert.deepEqual(describe(f.push(enc("c APPEND INBOX {101}\r\n"))), [
    "refused c APPEND literal-too-large",
  ]);
  // Non-synchronizing: its data is already coming, so the connection must close.
  f = new CommandFramer(limits);
  assert.deepEqual(describe(f.push(enc("d LOGIN {11+}\r\n"))), [
    "refused d LOGIN literal-too-large close",
  ]);
  f = new CommandFramer(limits);
  assert.deepEqual(describe(f.push(enc("e LOGIN {1+}\r\na {1+}\r\nb {1}\r\n"))), [
    "refused e LOGIN too-many-literals",
  ]);
  // A length no number can hold.
  f = new CommandFramer(limits);
  assert.deepEqual(describe(f.push(enc("f LOGIN {99999999999999999999}\r\n"))), [
    "refused f LOGIN literal-too-large",
  ]);
});

Deno.test("framer: any bytes give events or nothing, never a throw, and memory stays bounded (fuzz)", () => {
  const limits = { maxText: 256, maxLiteral: 64, maxAppendLiteral: 128, maxLiterals: 4 };
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          fc.constantFrom(
            enc("{5}\r\n"),
            enc("{3+}\r\n"),
            enc("a APPEND x {100}\r\n"),
            enc("\r\n"),
            enc("\n"),
          ),
        ),
        { maxLength: 40 },
      ),
      (chunks) => {
        const f = new CommandFramer(limits);
        for (const c of chunks) {
          f.push(c);
          assert.ok(f.buffered <= limits.maxText + limits.maxAppendLiteral * limits.maxLiterals);
        }
      },
    ),
    { numRuns: 500 },
  );
});
