/**
 * A hostile server cannot make the client read without end: a reply is cut off at
 * MAX_REPLY_LINES lines, MAX_REPLY_OCTETS octets or its command's timeout for the whole reply
 * (on a clock the test moves), each a temporary failure; unread lines are held only up to
 * MAX_BUFFERED before the socket is paused.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { deliver } from "../../src/client/deliver.ts";
import { MAX_REPLY_LINES, MAX_REPLY_OCTETS, type TraceLine } from "../../src/client/smtp_client.ts";
import { MAX_BUFFERED, Wire } from "../../src/client/wire.ts";
import { floodLines, startHostileMx } from "../_helpers/hostile_mx.ts";
import { bounded, ManualClientClock, Watch } from "./_clock.ts";

const MESSAGE = new TextEncoder().encode("Subject: x\r\n\r\nx\r\n");
const ENVELOPE = { sender: "a@client.test", recipients: ["b@hostile.test"] };

async function against(ehloLines: string[]) {
  const mx = await startHostileMx({ ehloLines });
  const trace: TraceLine[] = [];
  try {
    const results = await bounded(
      deliver(ENVELOPE, MESSAGE, [{ host: "127.0.0.1", port: mx.port }], {
        helo: "client.test",
        tls: "none",
        trace: (l) => trace.push(l),
      }),
      "the delivery",
    );
    return { results, trace, accepted: mx.accepted.length };
  } finally {
    await mx.close();
  }
}

Deno.test("a reply of more than MAX_REPLY_LINES lines is cut off, and retried later", async () => {
  // 1,000 lines of 60 characters: bounded, and on a client without the cap it is a valid
  // reply, so the mail would go through and this test fail rather than hang or eat memory.
  const { results, trace, accepted } = await against(floodLines(1000));
  assert.equal(results.length, 1);
  const [r] = results;
  assert.equal(r?.status, "deferred", r?.text);
  assert.equal(r?.failure, "protocol");
  assert.equal(r?.text, `EHLO client.test: reply longer than ${MAX_REPLY_LINES} lines`);
  assert.equal(accepted, 0);
  // Only the lines within the cap reach the transcript (the greeting's one, then EHLO's).
  assert.equal(trace.filter((l) => l.direction === "<").length, 1 + MAX_REPLY_LINES);
});

Deno.test("a reply of more than MAX_REPLY_OCTETS octets is cut off, and retried later", async () => {
  const { results, accepted } = await against(floodLines(9, 8000));
  const [r] = results;
  assert.equal(r?.status, "deferred", r?.text);
  assert.equal(r?.text, `EHLO client.test: reply longer than ${MAX_REPLY_OCTETS} octets`);
  assert.equal(accepted, 0);
});

/** A server that greets (unless told not to) and answers EHLO one line per `drip()`. */
async function drippingServer(greet = true) {
  let socket: net.Socket | undefined;
  let ehlo = false;
  const watch = new Watch();
  let n = 0;
  const srv = net.createServer((s) => {
    socket = s;
    s.on("error", () => {});
    if (greet) s.write("220 slow.test ESMTP\r\n");
    s.on("data", (d: Uint8Array) => {
      if (new TextDecoder().decode(d).startsWith("EHLO")) ehlo = true;
      watch.changed();
    });
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  return {
    port: (srv.address() as net.AddressInfo).port,
    ehlo: () => watch.until(() => ehlo, "EHLO"),
    drip: () => socket?.write(`250-line ${n++}\r\n`),
    async close() {
      socket?.destroy();
      await new Promise<void>((r) => srv.close(() => r()));
    },
  };
}

/** Trace lines, with a wait for the Nth line of a multi-line reply. */
function tracer() {
  const lines: TraceLine[] = [];
  const watch = new Watch();
  const continued = () =>
    lines.filter((l) => l.direction === "<" && l.text.startsWith("250-")).length;
  return {
    trace: (l: TraceLine) => {
      lines.push(l);
      watch.changed();
    },
    continued,
    nth: (n: number) => watch.until(() => continued() === n, `reply line ${n}`),
  };
}

Deno.test("a reply must be whole within its command's timeout, however it trickles", async () => {
  const server = await drippingServer();
  const clock = new ManualClientClock();
  const { trace, nth } = tracer();
  const hop = { host: "127.0.0.1", port: server.port };
  try {
    const delivery = deliver(ENVELOPE, MESSAGE, [hop], {
      helo: "client.test",
      tls: "none",
      clock,
      trace,
    });
    await server.ehlo();
    // A line every 100 s would keep a per-line timeout of 300 s happy for ever.
    for (let i = 1; i <= 3; i++) {
      server.drip();
      await nth(i);
      clock.advance(i < 3 ? 100_000 : 99_999);
    }
    server.drip();
    await nth(4);
    assert.deepEqual(clock.pending, [300_000], "the reply's deadline, still armed at 299.999 s");
    clock.advance(1);
    const [r] = await bounded(delivery, "the delivery");
    assert.equal(r?.status, "deferred", r?.text);
    assert.equal(r?.failure, "timeout");
    assert.equal(r?.text, "EHLO client.test: reply not complete within 300 s");
  } finally {
    await server.close();
  }
});

Deno.test("a server that never greets times out on the client's clock", async () => {
  const server = await drippingServer(false);
  const clock = new ManualClientClock();
  try {
    const delivery = deliver(ENVELOPE, MESSAGE, [{ host: "127.0.0.1", port: server.port }], {
      helo: "client.test",
      tls: "none",
      clock,
    });
    // Connected: the connect timer (30 s) is gone and the greeting's (300 s) is armed.
    const greeting = () => clock.pending.length === 1 && clock.pending[0] === 300_000;
    await clock.watch.until(greeting, "the greeting's deadline");
    clock.advance(300_000);
    const [r] = await bounded(delivery, "the delivery");
    assert.equal(r?.status, "deferred", r?.text);
    assert.equal(r?.failure, "timeout");
    assert.equal(r?.text, "Greeting: no answer within 300 s");
  } finally {
    await server.close();
  }
});

Deno.test("unread lines are held up to MAX_BUFFERED; the rest waits in the socket", async () => {
  const line = `250-${"y".repeat(1020)}\r\n`;
  const total = 8 * 1024; // 8 MiB of lines, sent at once
  const srv = net.createServer((s) => {
    s.on("error", () => {});
    s.end(line.repeat(total));
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  const { wire } = await Wire.connect("127.0.0.1", port, 10_000);
  try {
    // Each turn of the event loop lets the socket deliver what it has: a wire that did not
    // pause would take in the whole 8 MiB within these turns.
    let most = 0;
    for (let i = 0; i < 200; i++) {
      most = Math.max(most, wire.buffered);
      await new Promise((r) => setTimeout(r, 0));
    }
    assert.ok(most > MAX_BUFFERED, "the server filled the buffer");
    // One socket read past the bound at most (reads are at most 64 KiB).
    assert.ok(most <= MAX_BUFFERED + 64 * 1024, `${most} characters buffered`);
    // Reading resumes the socket: every line arrives.
    let n = 0;
    while (n < total) {
      const got = await bounded(wire.readLine(Number.MAX_SAFE_INTEGER), `line ${n}`);
      assert.equal(got, line.slice(0, -2));
      n++;
    }
  } finally {
    wire.close();
    await new Promise<void>((r) => srv.close(() => r()));
  }
});
