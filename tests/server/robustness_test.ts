/**
 * Bad input against a live server: while hostile clients send over-long lines, NUL bytes and
 * garbage, or vanish in the middle of DATA, a normal client is served throughout, and nothing
 * partial is stored. Plus connection caps and timeouts.
 */
import assert from "node:assert/strict";
import { LineSocket } from "../_helpers/smtp_socket.ts";
import { ManualClock } from "../_helpers/clock.ts";
import { startLiveServer } from "../_helpers/live_server.ts";

async function transaction(sock: LineSocket, token: string): Promise<string> {
  assert.match(await sock.command("MAIL FROM:<n@remote.test>"), /^250 /);
  assert.match(await sock.command("RCPT TO:<alice@example.test>"), /^250 /);
  assert.match(await sock.command("DATA"), /^354 /);
  return await sock.command(`Subject: ${token}\r\n\r\nbody ${token}\r\n.`);
}

Deno.test("robustness: hostile clients do not disturb a normal one; nothing partial is stored", async () => {
  const live = await startLiveServer();
  try {
    const normal = await LineSocket.connect(live.port);
    await normal.readReply();
    await normal.command("EHLO normal.test");

    const longLine = async () => {
      const s = await LineSocket.connect(live.port);
      await s.readReply();
      await s.send("EHLO a.test\r\n");
      await s.readReply();
      // 1 MiB without a line end, then the end: one 500, and the session goes on.
      await s.send(new Uint8Array(1024 * 1024).fill(0x41));
      await s.send("\r\nNOOP\r\n");
      assert.equal(await s.readLine(), "500 5.5.2 Line too long");
      assert.equal(await s.readLine(), "250 2.0.0 OK");
      s.close();
    };
    const garbage = async () => {
      const s = await LineSocket.connect(live.port);
      await s.readReply();
      const junk = new Uint8Array(64 * 1024);
      let x = 12345;
      for (let i = 0; i < junk.length; i++) {
        junk[i] = (x = (x * 1103515245 + 12345) & 0x7fffffff) & 0xff;
      }
      await s.send(junk);
      await s.send("\r\n\u0000\r\nQUIT\r\n");
      // Replies to the garbage, then 221: the server stayed in charge of the session.
      let last: string | undefined;
      for (let l = await s.readLine(); l !== undefined; l = await s.readLine()) {
        assert.match(l, /^\d{3}[ -]/);
        last = l;
      }
      assert.match(last ?? "", /^221 /);
      s.close();
    };
    const vanishMidData = async () => {
      const s = await LineSocket.connect(live.port);
      await s.readReply();
      await s.command("EHLO gone.test");
      await s.command("MAIL FROM:<gone@remote.test>");
      await s.command("RCPT TO:<alice@example.test>");
      assert.match(await s.command("DATA"), /^354 /);
      await s.send("Subject: partial\r\n\r\nthis message never ends\r\n");
      s.close();
    };

    const results: string[] = [];
    await Promise.all([
      longLine(),
      garbage(),
      vanishMidData(),
      (async () => {
        for (let i = 0; i < 5; i++) results.push(await transaction(normal, `normal-${i}`));
      })(),
    ]);
    assert.equal(results.length, 5);
    for (const r of results) assert.match(r, /^250 2\.0\.0 /);
    assert.match(await normal.command("QUIT"), /^221 /);
    normal.close();

    // A fresh client is still served.
    const after = await LineSocket.connect(live.port);
    await after.readReply();
    await after.command("EHLO after.test");
    assert.match(await transaction(after, "after"), /^250 /);
    after.close();

    const subjects = live.messages().map((m) =>
      /Subject: (\S+)/.exec(new TextDecoder().decode(m))?.[1]
    );
    assert.deepEqual(subjects.sort(), [
      "after",
      "normal-0",
      "normal-1",
      "normal-2",
      "normal-3",
      "normal-4",
    ]);
  } finally {
    await live.close();
  }
});

Deno.test("connection caps: past the total or per-address limit, 421 4.7.0", async () => {
  for (const limits of [{ maxConnections: 2 }, { maxConnectionsPerIp: 2 }]) {
    const live = await startLiveServer(limits);
    try {
      const a = await LineSocket.connect(live.port);
      const b = await LineSocket.connect(live.port);
      assert.match((await a.readReply()).at(-1)!, /^220 /);
      assert.match((await b.readReply()).at(-1)!, /^220 /);
      const c = await LineSocket.connect(live.port);
      assert.match((await c.readReply()).at(-1)!, /^421 4\.7\.0 /);
      await c.closedByPeer();
      c.close();
      // Once one leaves, a new client gets in.
      await a.command("QUIT");
      await a.closedByPeer();
      a.close();
      let d: LineSocket | undefined;
      // The server notices the close asynchronously: retry until the slot is free.
      for (;;) {
        d = await LineSocket.connect(live.port);
        const greeting = (await d.readReply()).at(-1)!;
        if (greeting.startsWith("220 ")) break;
        d.close();
      }
      d.close();
      b.close();
    } finally {
      await live.close();
    }
  }
});

Deno.test("timeout: a silent client gets 421 4.4.2 and is disconnected", async () => {
  const clock = new ManualClock();
  const live = await startLiveServer({ commandTimeout: 1 }, undefined, clock.deadlines);
  try {
    const s = await LineSocket.connect(live.port);
    await s.readReply();
    assert.match(await s.command("EHLO slow.test"), /^250 /);
    // Silent for just under the timeout: still served (and the NOOP starts the count again).
    clock.advance(999);
    assert.match(await s.command("NOOP"), /^250 /);
    clock.advance(1000);
    assert.equal(await s.readLine(), "421 4.4.2 mx.test Timeout, closing connection");
    assert.equal(await s.readLine(), undefined);
    s.close();
  } finally {
    await live.close();
  }
});
