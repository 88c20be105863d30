/**
 * The server's defences, each against a live server: open relay tricks, brute force, early
 * talkers, slowloris, error-prone sessions, and a fuzzing run after which a normal client is
 * still served.
 */
import assert from "node:assert/strict";
import { LineSocket } from "../_helpers/smtp_socket.ts";
import { ioTurn, ManualClock } from "../_helpers/clock.ts";
import { startLiveServer } from "../_helpers/live_server.ts";
import { TEST_PASSWORD } from "../_helpers/session_peer.ts";

async function ready(port: number): Promise<LineSocket> {
  const s = await LineSocket.connect(port);
  await s.readReply();
  return s;
}

/**
 * The recipient forms nmap's smtp-open-relay script tries (with our domain and our address
 * literal standing in for the target's), plus the other classic routing tricks.
 */
const RELAY_TRICKS = [
  "<relaytest@remote.test>",
  "<relaytest%remote.test@example.test>",
  "<relaytest%remote.test@[127.0.0.1]>",
  '<"relaytest@remote.test">',
  '<"relaytest%remote.test">',
  '<"relaytest@remote.test"@example.test>',
  '<"relaytest@remote.test"@[127.0.0.1]>',
  "<relaytest@remote.test@[127.0.0.1]>",
  "<relaytest@remote.test@example.test>",
  "<@[127.0.0.1]:relaytest@remote.test>",
  "<@example.test:relaytest@remote.test>",
  "<remote.test!relaytest>",
  "<remote.test!relaytest@example.test>",
  "<remote.test!relaytest@[127.0.0.1]>",
  "<relaytest@[127.0.0.2]>",
  "<relaytest@[IPv6:::1]>",
  "<relaytest@remote.test.>",
  "<relaytest@example.test.remote.test>",
];

const SENDERS = [
  "<>",
  "<relaytest@remote.test>",
  "<antispam@example.test>",
  "<antispam@[127.0.0.1]>",
];

Deno.test("open relay: no trick relays for an unauthenticated client on either listener", async () => {
  for (const catchAll of [false, true]) {
    const live = await startLiveServer({ catchAll, maxErrors: 1000 });
    try {
      for (const port of [live.port, live.submissionPort]) {
        const s = await ready(port);
        await s.command("EHLO relay.test");
        for (const from of SENDERS) {
          const mail = await s.command(`MAIL FROM:${from}`);
          for (const rcpt of RELAY_TRICKS) {
            const r = await s.command(`RCPT TO:${rcpt}`);
            if (mail.startsWith("250")) {
              // Accepted only as a local mailbox of ours (catch-all keeps odd local parts
              // literally: nothing is ever routed by % or !), never for another domain.
              if (r.startsWith("250")) {
                assert.ok(catchAll && port === live.port, `${from} ${rcpt} accepted: ${r}`);
                assert.match(rcpt, /@example\.test>$/, `${rcpt} accepted for a remote domain`);
              } else {
                assert.match(r, /^(550|501|553) /, `${rcpt}: ${r}`);
              }
            } else {
              assert.match(r, /^503 /);
            }
          }
          await s.command("RSET");
        }
        s.close();
      }
      // Whatever catch-all accepted went into local mailboxes named for the literal address.
      for (const m of live.store.mailboxes()) assert.match(m, /@example\.test$/);
    } finally {
      await live.close();
    }
  }
});

Deno.test("brute force: failed logins get slower and then lock the address out (421 4.7.0)", async () => {
  const live = await startLiveServer({ allowInsecureAuth: true, authMaxFailures: 3 });
  try {
    const s = await ready(live.submissionPort);
    await s.command("EHLO brute.test");
    const bad = btoa("\0alice@example.test\0guess");
    assert.equal(
      await s.command(`AUTH PLAIN ${bad}`),
      "535 5.7.8 Authentication credentials invalid",
    );
    assert.equal(
      await s.command(`AUTH PLAIN ${bad}`),
      "535 5.7.8 Authentication credentials invalid",
    );
    assert.equal(
      await s.command(`AUTH PLAIN ${bad}`),
      "421 4.7.0 Too many failed authentication attempts, try again later",
    );
    await s.closedByPeer();
    s.close();
    // New connections from the address are refused while the lockout lasts, even with the
    // right password.
    const again = await LineSocket.connect(live.submissionPort);
    assert.match((await again.readReply()).at(-1)!, /^421 4\.7\.0 /);
    again.close();
  } finally {
    await live.close();
  }
});

Deno.test("auth: the right password after failures works while not locked out", async () => {
  const live = await startLiveServer({ allowInsecureAuth: true });
  try {
    const s = await ready(live.submissionPort);
    await s.command("EHLO ok.test");
    assert.match(await s.command(`AUTH PLAIN ${btoa("\0alice@example.test\0nope")}`), /^535 /);
    assert.match(await s.command(`AUTH PLAIN ${btoa("\0nobody@example.test\0x")}`), /^535 /);
    assert.equal(
      await s.command(`AUTH PLAIN ${btoa(`\0alice@example.test\0${TEST_PASSWORD}`)}`),
      "235 2.7.0 Authentication successful",
    );
    s.close();
  } finally {
    await live.close();
  }
});

Deno.test("early talker: speaking before the greeting ends gets 554 and the door", async () => {
  const live = await startLiveServer({ greetWait: 0.3 });
  try {
    const bot = await LineSocket.connect(live.port);
    await bot.send("EHLO bot.test\r\nMAIL FROM:<spam@remote.test>\r\n");
    assert.match((await bot.readLine())!, /^220-/);
    assert.equal(await bot.readLine(), "554 mx.test Early talker: wait for the greeting");
    assert.equal(await bot.readLine(), undefined);
    bot.close();
    // A client that waits for the whole greeting is served as usual.
    const polite = await ready(live.port);
    assert.match(await polite.command("EHLO polite.test"), /^250 /);
    polite.close();
  } finally {
    await live.close();
  }
});

Deno.test("slowloris: a line trickled in byte by byte is cut off by the line deadline", async () => {
  // The idle timeout (5 s) never fires: a byte arrives every 400 ms (on the test's clock). The
  // 1 s line deadline does, a few bytes into the line.
  const clock = new ManualClock();
  const live = await startLiveServer(
    { commandTimeout: 5, lineDeadline: 1 },
    undefined,
    clock.deadlines,
  );
  try {
    const s = await ready(live.port);
    const line = "EHLO " + "x".repeat(200);
    let reply: string | undefined;
    const reader = s.readLine().then((l) => (reply = l));
    let sent = 0;
    for (; sent < line.length && reply === undefined; sent++) {
      await s.send(line[sent]!).catch(() => {});
      await ioTurn();
      clock.advance(400);
      await ioTurn();
    }
    await reader;
    assert.ok(sent < line.length, "the whole line was sent unhindered");
    assert.equal(reply, "421 mx.test Timeout, closing connection");
    s.close();
  } finally {
    await live.close();
  }
});

Deno.test("fuzz: thousands of random command lines and DATA streams, then a normal client", async () => {
  const live = await startLiveServer({ maxErrors: 100000 });
  try {
    let seed = 7;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
    const words = [
      "EHLO",
      "HELO",
      "MAIL FROM:",
      "RCPT TO:",
      "DATA",
      "RSET",
      "NOOP",
      "VRFY",
      "AUTH",
      "STARTTLS",
    ];
    const pieces = [
      "<",
      ">",
      "@",
      ".",
      "\r\n",
      "\n",
      "\r",
      "\u0000",
      " ",
      "=",
      "alice@example.test",
      "SIZE=",
      "\r\n.\r\n",
    ];
    for (let conn = 0; conn < 10; conn++) {
      const s = await ready(live.port);
      let lines = 0;
      const reading = (async () => {
        for (let l = await s.readLine(); l !== undefined; l = await s.readLine()) {
          assert.match(l, /^\d{3}[ -]/, `reply line ${JSON.stringify(l)}`);
          lines++;
        }
      })();
      for (let i = 0; i < 300; i++) {
        let cmd = rand(3) === 0 ? "" : words[rand(words.length)]!;
        for (let k = rand(8); k > 0; k--) {
          cmd += rand(4) === 0 ? String.fromCharCode(rand(256)) : pieces[rand(pieces.length)];
        }
        await s.send(cmd + "\r\n").catch(() => {});
      }
      await s.send("\r\n.\r\nQUIT\r\n").catch(() => {});
      await reading;
      assert.ok(lines > 0);
      s.close();
    }
    const normal = await ready(live.port);
    await normal.command("EHLO normal.test");
    assert.match(await normal.command("MAIL FROM:<n@remote.test>"), /^250 /);
    assert.match(await normal.command("RCPT TO:<alice@example.test>"), /^250 /);
    assert.match(await normal.command("DATA"), /^354 /);
    assert.match(await normal.command("Subject: after fuzz\r\n\r\nok\r\n."), /^250 /);
    normal.close();
  } finally {
    await live.close();
  }
});
