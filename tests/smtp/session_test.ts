/** The pure server session: limits, failures of the store, trace headers, closing, fuzzing. */
import assert from "node:assert/strict";
import { LocalBackend } from "../../src/server/local_backend.ts";
import { SmtpError } from "../../src/smtp/reply.ts";
import {
  type Output,
  type SessionBackend,
  type SessionConfig,
  type SessionEvent,
  SmtpSession,
} from "../../src/smtp/session.ts";
import { bodyAfterTrace, MemorySink, messageBytes } from "../_helpers/memory_sink.ts";
import {
  newTestSession,
  TEST_DOMAIN,
  TEST_MAX_SIZE,
  TEST_USERS,
  testSessionConfig,
} from "../_helpers/session_peer.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A session with its event log, the way the server builds one. */
function sessionWithEvents(sink = new MemorySink(TEST_USERS), config: Partial<SessionConfig> = {}) {
  const events: SessionEvent[] = [];
  const backend = new LocalBackend(sink, { domains: [TEST_DOMAIN], catchAll: false });
  const session = new SmtpSession(
    { ...testSessionConfig, ...config },
    backend,
    { address: "192.0.2.7", port: 40000 },
    (e) => events.push(e),
  );
  return { session, sink, events };
}

/** Sends text; returns the reply lines (without CRLF) and whether the session closes. */
async function send(session: SmtpSession, text: string | Uint8Array) {
  const bytes = typeof text === "string" ? enc.encode(text) : text;
  const out = await session.receive(bytes);
  return { lines: out.write === "" ? [] : out.write.slice(0, -2).split("\r\n"), close: out.close };
}

/** Sends one line per command and returns the last reply line of each. */
async function dialogue(session: SmtpSession, commands: readonly string[]): Promise<string[]> {
  const last: string[] = [];
  for (const c of commands) {
    const { lines } = await send(session, `${c}\r\n`);
    last.push(lines[lines.length - 1] ?? "");
  }
  return last;
}

const queuedId = (line: string) => /^250 (?:2\.0\.0 )?OK: queued as (\S+)$/.exec(line)?.[1];

Deno.test("session: 100 recipients accepted, the 101st gets 452 4.5.3", async () => {
  const users = Array.from({ length: 101 }, (_, i) => `u${i}@${TEST_DOMAIN}`);
  const { session, sink } = newTestSession(new MemorySink(users));
  await dialogue(session, ["EHLO client.test", "MAIL FROM:<a@remote.test>"]);
  for (let i = 0; i < 100; i++) {
    assert.deepEqual(await dialogue(session, [`RCPT TO:<u${i}@${TEST_DOMAIN}>`]), [
      "250 2.1.5 Recipient OK",
    ]);
  }
  assert.deepEqual(await dialogue(session, [`RCPT TO:<u100@${TEST_DOMAIN}>`]), [
    "452 4.5.3 Too many recipients",
  ]);
  // The transaction goes on with the 100.
  const [data, done] = await dialogue(session, ["DATA", "hi\r\n."]);
  assert.match(data ?? "", /^354 /);
  assert.ok(queuedId(done ?? ""));
  assert.equal(sink.delivered.length, 1);
  assert.equal(sink.delivered[0]?.recipients.length, 100);
});

Deno.test("session: a message over the size limit is read to its end, refused, nothing stored", async () => {
  const { session, sink, events } = sessionWithEvents();
  await dialogue(session, ["EHLO client.test", "MAIL FROM:<a@remote.test>"]);
  await dialogue(session, ["RCPT TO:<alice@example.test>", "DATA"]);
  const line = `${"x".repeat(998)}\r\n`;
  // Three times the limit, in pieces; no reply until the end.
  for (let i = 0; i < 30; i++) {
    assert.deepEqual(await send(session, line), { lines: [], close: false });
  }
  assert.equal(session.state, "data");
  assert.deepEqual(await send(session, ".\r\nNOOP\r\n"), {
    lines: ["552 5.3.4 Message too big for system", "250 2.0.0 OK"],
    close: false,
  });
  assert.equal(sink.delivered.length, 0);
  const refused = events.find((e) => e.type === "refused");
  assert.ok(refused && refused.type === "refused" && refused.stage === "data");
  assert.equal(refused.size, 30 * line.length);
  assert.ok(30 * line.length > TEST_MAX_SIZE);
  // The session then takes a normal message.
  const replies = await dialogue(session, [
    "MAIL FROM:<a@remote.test>",
    "RCPT TO:<alice@example.test>",
    "DATA",
    "small\r\n.",
  ]);
  assert.ok(queuedId(replies[3] ?? ""), replies[3]);
  assert.equal(sink.delivered.length, 1);
  assert.equal(bodyAfterTrace(sink.delivered[0]!), "small\r\n");
});

async function oneMessage(session: SmtpSession): Promise<string> {
  const r = await dialogue(session, [
    "EHLO client.test",
    "MAIL FROM:<a@remote.test>",
    "RCPT TO:<alice@example.test>",
    "DATA",
    "body\r\n.",
  ]);
  return r[4] ?? "";
}

Deno.test("session: a store that throws a plain Error gives 451 4.3.0 and an error event", async () => {
  const sink = new MemorySink(TEST_USERS);
  sink.failWith = new Error("database is locked: /var/mail/secret.db");
  const { session, events } = sessionWithEvents(sink);
  assert.equal(await oneMessage(session), "451 4.3.0 Local error in processing, try again later");
  const err = events.find((e) => e.type === "error");
  assert.ok(err && err.type === "error");
  assert.equal(err.command, "DATA");
  assert.equal(err.error, sink.failWith);
  assert.equal(sink.delivered.length, 0);
  // The session is usable again, and the next attempt can succeed.
  sink.failWith = undefined;
  assert.ok(queuedId(await oneMessage(session)));
});

Deno.test("session: a store that throws an SmtpError has its reply passed through", async () => {
  const sink = new MemorySink(TEST_USERS);
  sink.failWith = new SmtpError(452, "4.3.1", "Insufficient system storage");
  const { session, events } = sessionWithEvents(sink);
  assert.equal(await oneMessage(session), "452 4.3.1 Insufficient system storage");
  assert.equal(events.filter((e) => e.type === "error").length, 0);
  const refused = events.find((e) => e.type === "refused");
  assert.ok(refused && refused.type === "refused");
  assert.equal(refused.reply, "452 4.3.1 Insufficient system storage");
});

/** Splits a stored message into its Return-Path, its unfolded Received header and the rest. */
function trace(bytes: Uint8Array) {
  const text = dec.decode(bytes);
  const m = /^Return-Path: ([^\r\n]*)\r\nReceived: ((?:[^\r\n]*\r\n\t)*[^\r\n]*)\r\n/.exec(text);
  assert.ok(m, JSON.stringify(text.slice(0, 300)));
  return {
    returnPath: m[1],
    received: (m[2] ?? "").replace(/\r\n\t/g, " "),
    rest: text.slice(m[0].length),
  };
}

Deno.test("session: trace headers after EHLO name HELO, client, us, ESMTP, id, one recipient", async () => {
  const { session, sink } = sessionWithEvents();
  const replies = await dialogue(session, [
    "EHLO client.test",
    "MAIL FROM:<sender@remote.test>",
    "RCPT TO:<alice@example.test>",
    "RCPT TO:<ALICE@Example.Test>", // the same mailbox: stored once
    "DATA",
    "Subject: t\r\n\r\nbody\r\n.",
  ]);
  const id = queuedId(replies[5] ?? "");
  assert.ok(id, replies[5]);
  assert.equal(sink.delivered.length, 1);
  const msg = sink.delivered[0]!;
  assert.equal(msg.id, id);
  assert.deepEqual(msg.recipients, ["alice@example.test"]);
  const t = trace(messageBytes(msg));
  assert.equal(t.returnPath, "<sender@remote.test>");
  assert.match(
    t.received,
    new RegExp(
      `^from client\\.test \\(\\[192\\.0\\.2\\.7\\]\\) by mx\\.test with ESMTP id ${id} ` +
        `for <alice@example\\.test>; \\w{3}, \\d{1,2} \\w{3} \\d{4} \\d\\d:\\d\\d:\\d\\d \\+0000$`,
    ),
  );
  assert.equal(t.rest, "Subject: t\r\n\r\nbody\r\n");
  assert.equal(msg.size, messageBytes(msg).length);
});

Deno.test("session: trace headers after HELO say SMTP; no for-clause with two recipients", async () => {
  const { session, sink } = sessionWithEvents();
  await dialogue(session, [
    "HELO old.client",
    "MAIL FROM:<>",
    "RCPT TO:<alice@example.test>",
    "RCPT TO:<bob@example.test>",
    "DATA",
    "x\r\n.",
  ]);
  const msg = sink.delivered[0]!;
  assert.deepEqual(msg.recipients, ["alice@example.test", "bob@example.test"]);
  const t = trace(messageBytes(msg));
  assert.equal(t.returnPath, "<>");
  assert.match(t.received, /^from old\.client \(\[192\.0\.2\.7\]\) by mx\.test with SMTP id \S+; /);
  assert.ok(!t.received.includes(" for "), t.received);
});

Deno.test("session: trace headers with SMTPUTF8 say UTF8SMTP", async () => {
  const { session, sink } = sessionWithEvents();
  await dialogue(session, [
    "EHLO client.test",
    "MAIL FROM:<jörg@remote.test> SMTPUTF8",
    "RCPT TO:<bob@example.test>",
    "DATA",
    "Subject: Grüße\r\n\r\nx\r\n.",
  ]);
  const t = trace(messageBytes(sink.delivered[0]!));
  assert.equal(t.returnPath, "<jörg@remote.test>");
  assert.match(t.received, / with UTF8SMTP id \S+ for <bob@example\.test>; /);
});

Deno.test("session: timeout() is 421 4.4.2 and closes", async () => {
  const { session } = newTestSession();
  await dialogue(session, ["EHLO client.test"]);
  assert.deepEqual(session.timeout(), {
    write: "421 4.4.2 mx.test Timeout, closing connection\r\n",
    close: true,
  });
  assert.deepEqual(await session.receive(enc.encode("NOOP\r\n")), { write: "", close: true });
  // Before EHLO there are no enhanced codes (RFC 2034 §3).
  const fresh = newTestSession().session;
  assert.equal(fresh.timeout().write, "421 mx.test Timeout, closing connection\r\n");
});

Deno.test("session: shutdown() is 421 4.3.2 and closes, even mid-transaction", async () => {
  const { session, sink } = newTestSession();
  await dialogue(session, ["EHLO client.test", "MAIL FROM:<a@remote.test>"]);
  await dialogue(session, ["RCPT TO:<alice@example.test>", "DATA"]);
  assert.ok(session.inTransaction);
  assert.deepEqual(session.shutdown(), {
    write: "421 4.3.2 mx.test Service shutting down\r\n",
    close: true,
  });
  assert.deepEqual(await session.receive(enc.encode("x\r\n.\r\n")), { write: "", close: true });
  assert.equal(sink.delivered.length, 0);
});

Deno.test("session: QUIT closes and later bytes are ignored", async () => {
  const { session, sink } = newTestSession();
  const greeting = session.greeting();
  assert.equal(greeting.close, false);
  assert.match(greeting.write, /^(?:220-[^\r\n]*\r\n)*220 [^\r\n]*\r\n$/);
  const r = await send(
    session,
    "EHLO client.test\r\nQUIT\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\n",
  );
  assert.equal(r.close, true);
  assert.equal(r.lines[r.lines.length - 1], "221 2.0.0 mx.test closing connection");
  assert.equal(r.lines.filter((l) => l.startsWith("250 ")).length, 1, "EHLO, then 221, no more");
  assert.equal(r.lines.length - 1, r.lines.findIndex((l) => l.startsWith("221 ")));
  assert.deepEqual(await send(session, "NOOP\r\nDATA\r\nx\r\n.\r\n"), { lines: [], close: true });
  assert.equal(sink.delivered.length, 0);
});

Deno.test("session: a backend that answers at once gets replies at once; one that waits, the same replies later", async () => {
  const input = enc.encode(
    "EHLO client.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\n" +
      "RCPT TO:<nobody@example.test>\r\nDATA\r\nSubject: s\r\n\r\nbody\r\n.\r\nQUIT\r\n",
  );
  // The driver writes a synchronous answer before the socket reads again (connection.ts).
  const direct = newTestSession();
  const now = direct.session.receive(input);
  assert.ok(!(now instanceof Promise), "no backend call waited, so the session did not either");

  // The same backend behind promises: every step that calls it has to wait.
  const sink = new MemorySink(TEST_USERS);
  const local = new LocalBackend(
    sink,
    { domains: [TEST_DOMAIN], catchAll: false },
    undefined,
    undefined,
    () => false,
  );
  const waiting: SessionBackend = {
    newId: () => local.newId(),
    sender: (m, ctx) => Promise.resolve().then(() => local.sender(m, ctx)),
    recipient: (m, ctx) => Promise.resolve().then(() => local.recipient(m, ctx)),
    deliver: (d) => Promise.resolve().then(() => local.deliver(d)),
  };
  const later = new SmtpSession(testSessionConfig, waiting, { address: "127.0.0.1", port: 40000 })
    .receive(input);
  assert.ok(later instanceof Promise);
  const a = now as Output;
  const b = await later;
  assert.equal(b.close, true);
  assert.equal(
    b.write.replace(/queued as \S+/, "queued as ID"),
    a.write.replace(/queued as \S+/, "queued as ID"),
  );
  assert.match(
    a.write,
    /^250 2\.1\.5 .*\r\n550 5\.1\.1 .*\r\n354 .*\r\n250 2\.0\.0 OK: queued as/m,
  );
  assert.equal(direct.sink.delivered.length, 1);
  assert.equal(sink.delivered.length, 1);
});

// ---------------------------------------------------------------------------------------------
// Fuzzing: random and mutated command lines and DATA streams. Deterministic: a fixed seed.

/** mulberry32: a small seeded PRNG. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { next, int, pick };
}

const CORPUS = [
  "EHLO client.test",
  "HELO client.test",
  "EHLO [127.0.0.1]",
  "MAIL FROM:<a@remote.test>",
  "MAIL FROM:<> SIZE=100 BODY=8BITMIME",
  "MAIL FROM:<jörg@remote.test> SMTPUTF8",
  'MAIL FROM:<"q\\"x y"@remote.test>',
  "MAIL FROM:<a@remote.test> SIZE=99999999",
  "RCPT TO:<alice@example.test>",
  "RCPT TO:<bob@example.test>",
  "RCPT TO:<Postmaster>",
  "RCPT TO:<nobody@example.test>",
  "RCPT TO:<x@elsewhere.test>",
  "RCPT TO:<@a.test,@b.test:alice@example.test>",
  "RCPT TO:<alice@[IPv6:::1]>",
  "DATA",
  "RSET",
  "NOOP",
  "VRFY alice",
  "HELP",
  "EXPN staff",
  "STARTTLS",
  "AUTH PLAIN AGFAYg==",
  "BDAT 10 LAST",
  "",
  ".",
  "..",
  `MAIL FROM:<${"a".repeat(300)}@remote.test>`,
  "x".repeat(2100),
];
const DATA_PIECES = [
  "Subject: fuzz\r\n",
  "\r\n",
  "line\r\n",
  ".\r\n",
  "..\r\n",
  ".x\r\n",
  "\r\n.\r\n",
  "\n.\n",
  "\n.\r\n",
  "\r.\r\n",
  "\r\n.\r",
  "\r",
  "\n",
  ".",
  "MAIL FROM:<evil@remote.test>\r\n",
  "x".repeat(1200),
];
const NOISE = [0x00, 0x0d, 0x0a, 0x2e, 0x20, 0x3c, 0x3e, 0x40, 0x3a, 0xff, 0xc3, 0x09, 0x7f];

function mutate(r: ReturnType<typeof prng>, bytes: Uint8Array): Uint8Array {
  const a = [...bytes];
  const n = 1 + r.int(4);
  for (let k = 0; k < n; k++) {
    const at = r.int(a.length + 1);
    switch (r.int(6)) {
      case 0:
        if (a.length > 0) a[Math.min(at, a.length - 1)] = r.int(256);
        break;
      case 1:
        a.splice(at, 0, r.pick(NOISE));
        break;
      case 2:
        a.splice(at, 1);
        break;
      case 3:
        a.splice(at, 0, ...a.slice(r.int(a.length + 1), r.int(a.length + 1)));
        break;
      case 4:
        a.length = at;
        break;
      default: {
        const c = a[at];
        if (c !== undefined && ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a))) {
          a[at] = c ^ 0x20;
        }
      }
    }
  }
  return new Uint8Array(a);
}

function randomChunk(r: ReturnType<typeof prng>): Uint8Array {
  switch (r.int(5)) {
    case 0:
      return enc.encode(`${r.pick(CORPUS)}\r\n`);
    case 1:
      return mutate(r, enc.encode(`${r.pick(CORPUS)}${r.pick(["\r\n", "\n", "\r", ""])}`));
    case 2: {
      // A whole transaction whose DATA stream is assembled from awkward pieces.
      let s = "MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n";
      const n = r.int(12);
      for (let k = 0; k < n; k++) s += r.pick(DATA_PIECES);
      if (r.next() < 0.7) s += "\r\n.\r\n";
      const bytes = enc.encode(s);
      return r.next() < 0.5 ? mutate(r, bytes) : bytes;
    }
    case 3:
      return Uint8Array.from({ length: r.int(64) }, () => r.int(256));
    default:
      return Uint8Array.from({ length: r.int(32) }, () => r.pick(NOISE));
  }
}

/** QUIT would end the session; the fuzz is about staying alive, so QUIT is made "XUIT". */
function defuseQuit(bytes: Uint8Array): Uint8Array {
  for (let i = 0; i + 3 < bytes.length; i++) {
    const w = String.fromCharCode(bytes[i]!, bytes[i + 1]!, bytes[i + 2]!, bytes[i + 3]!);
    if (w.toUpperCase() === "QUIT") bytes[i] = 0x58;
  }
  return bytes;
}

const REPLY_LINE = /^\d{3}[ -]/;

/** Reply codes the fuzz has seen, to show it reaches deep into the dialogue. */
const seenCodes = new Set<string>();

function checkOutput(write: string, what: string): string[] {
  if (write === "") return [];
  assert.ok(write.endsWith("\r\n"), `${what}: output ends with CRLF`);
  const lines = write.slice(0, -2).split("\r\n");
  for (const l of lines) {
    assert.match(l, REPLY_LINE, `${what}: ${JSON.stringify(l)}`);
    seenCodes.add(l.slice(0, 3));
    assert.ok(!/[\r\n]/.test(l), what);
  }
  return lines;
}

const RECOVER = "\r\n.\r\nRSET\r\n";
const WELL_FORMED =
  "EHLO fuzz.test\r\nMAIL FROM:<f@remote.test>\r\nRCPT TO:<bob@example.test>\r\n" +
  "DATA\r\nSubject: after fuzz\r\n\r\nstill fine\r\n.\r\n";

Deno.test("session fuzz: random and mutated input never throws, replies stay well-formed, and a clean transaction works afterwards", async () => {
  const r = prng(0x5321);
  const ROUNDS = 40;
  const CHUNKS_PER_ROUND = 100;
  let fed = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // The fuzz is about surviving anything, so the error-count disconnect is turned off.
    const { session, sink, events } = sessionWithEvents(undefined, {
      maxErrors: Number.MAX_SAFE_INTEGER,
    });
    checkOutput(session.greeting().write, "greeting");
    for (let k = 0; k < CHUNKS_PER_ROUND; k++) {
      const chunk = defuseQuit(randomChunk(r));
      // Feed whole, byte by byte, or in random pieces.
      const mode = r.int(3);
      const pieces: Uint8Array[] = [];
      if (mode === 0) pieces.push(chunk);
      else if (mode === 1) { for (const b of chunk) pieces.push(new Uint8Array([b])); }
      else {
        let from = 0;
        while (from < chunk.length) {
          const to = Math.min(chunk.length, from + 1 + r.int(16));
          pieces.push(chunk.subarray(from, to));
          from = to;
        }
      }
      for (const p of pieces) {
        const out = await session.receive(p);
        checkOutput(out.write, `round ${round} chunk ${k}`);
        assert.equal(out.close, false, `round ${round} chunk ${k}: closed`);
        fed++;
      }
    }
    // Back to a known state, then a well-formed transaction.
    const stored = sink.delivered.length;
    const back = await session.receive(enc.encode(RECOVER));
    const backLines = checkOutput(back.write, `round ${round} recover`);
    assert.match(backLines[backLines.length - 1] ?? "", /^250 (2\.0\.0 )?OK$/, `round ${round}`);
    const out = await session.receive(enc.encode(WELL_FORMED));
    const lines = checkOutput(out.write, `round ${round} transaction`);
    // EHLO's reply (whatever it advertises), then MAIL, RCPT, DATA and the end of the data.
    assert.equal(lines[0], "250-mx.test Hello fuzz.test [192.0.2.7]", JSON.stringify(lines));
    const ehloEnd = lines.findIndex((l) => l.startsWith("250 "));
    assert.ok(lines.slice(0, ehloEnd).every((l) => l.startsWith("250-")));
    assert.equal(lines.length, ehloEnd + 5, JSON.stringify(lines));
    assert.deepEqual(lines.slice(ehloEnd + 1, ehloEnd + 3), [
      "250 2.1.0 Sender OK",
      "250 2.1.5 Recipient OK",
    ]);
    assert.match(lines[ehloEnd + 3] ?? "", /^354 /);
    const id = queuedId(lines[lines.length - 1] ?? "");
    assert.ok(id, `round ${round}: ${lines[lines.length - 1]}`);
    const last = sink.delivered[sink.delivered.length - 1]!;
    assert.ok(sink.delivered.length > stored);
    assert.equal(last.id, id);
    assert.deepEqual(last.recipients, ["bob@example.test"]);
    assert.equal(bodyAfterTrace(last), "Subject: after fuzz\r\n\r\nstill fine\r\n");
    // Nothing the client sent caused an unexpected exception inside the session.
    assert.deepEqual(events.filter((e) => e.type === "error"), []);
  }
  assert.ok(fed > 10000, `fed ${fed} pieces`);
  for (const code of ["250", "252", "354", "500", "501", "503", "550", "552", "554", "555"]) {
    assert.ok(seenCodes.has(code), `the fuzz never produced ${code}`);
  }
});
