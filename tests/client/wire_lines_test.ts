/**
 * The wire's queue of unread reply lines: a hostile server that floods empty lines is paused
 * like one that floods long ones (each line ending counts), and reading a long backlog costs
 * linear time (an index into the list, where `shift()` moved every line left on each read:
 * 128 Ki empty lines took 9 s to read, four times as many well over a minute).
 */
import assert from "node:assert/strict";
import net from "node:net";
import fc from "fast-check";
import { MAX_BUFFERED, Wire, WireError } from "../../src/client/wire.ts";
import { bounded } from "./_clock.ts";

/** A server that sends TEXT at once and closes; the wire connected to it. */
async function serving(text: string) {
  const srv = net.createServer((s) => {
    s.on("error", () => {});
    s.end(text);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  const { wire } = await Wire.connect("127.0.0.1", port, 10_000);
  const close = async () => {
    wire.close();
    await new Promise<void>((r) => srv.close(() => r()));
  };
  return { wire, close };
}

/** Every line the wire gives until the server's close. */
async function readAll(wire: Wire): Promise<string[]> {
  const lines: string[] = [];
  for (;;) {
    try {
      const line = await bounded(wire.readLine(Number.MAX_SAFE_INTEGER), `line ${lines.length}`);
      assert.notEqual(line, undefined);
      lines.push(line!);
    } catch (err) {
      if (err instanceof WireError && err.failure === "closed") return lines;
      throw err;
    }
  }
}

Deno.test("a flood of empty lines is held up to MAX_BUFFERED, then read in linear time", async () => {
  const total = 512 * 1024; // 1 MiB of CRLF
  const { wire, close } = await serving("\r\n".repeat(total));
  try {
    let most = 0;
    for (let i = 0; i < 200; i++) {
      most = Math.max(most, wire.buffered);
      await new Promise((r) => setTimeout(r, 0));
    }
    // Before, empty lines counted nothing: the socket was never paused and all were held.
    assert.ok(most > MAX_BUFFERED, `${most} octets buffered: the empty lines are counted`);
    assert.ok(most <= MAX_BUFFERED + 64 * 1024, `${most} octets buffered`);
    const lines = await readAll(wire);
    assert.equal(lines.length, total);
    assert.ok(lines.every((l) => l === ""));
    assert.equal(wire.buffered, 0);
  } finally {
    await close();
  }
});

Deno.test("lines come out as sent, in order, whatever their mix (property)", async () => {
  const lineArb = fc.oneof(
    fc.constant(""),
    fc.stringMatching(/^[ -~]{0,40}$/),
    fc.stringMatching(/^250-[a-z]{0,2000}$/),
  );
  // Runs of many copies make backlogs long enough to drop read lines in batches.
  const runArb = fc.tuple(lineArb, fc.integer({ min: 1, max: 3000 }));
  await fc.assert(
    fc.asyncProperty(fc.array(runArb, { maxLength: 8 }), fc.boolean(), async (runs, bareLf) => {
      const sent = runs.flatMap(([l, n]) => Array<string>(n).fill(l));
      const eol = bareLf ? "\n" : "\r\n";
      const { wire, close } = await serving(sent.map((l) => l + eol).join(""));
      try {
        assert.deepEqual(await readAll(wire), sent);
        assert.equal(wire.buffered, 0);
      } finally {
        await close();
      }
    }),
    { numRuns: 40 },
  );
});
