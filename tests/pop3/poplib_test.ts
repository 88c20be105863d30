/**
 * The POP3 driver (src/server/pop3_connection.ts) on a loopback socket with the in-memory
 * backend, driven by Python's poplib (an independent client): STAT, LIST, UIDL, RETR byte for
 * byte, TOP, DELE, QUIT; STLS; two sessions on one mailbox; a dropped connection. Then raw
 * sockets for what poplib cannot do: pipelining, deadlines on a clock the test moves.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { connect, createServer, type Server, type Socket } from "node:net";
import type { SecureContext } from "node:tls";
import { getLogger } from "../../src/log.ts";
import { Pop3Session } from "../../src/pop3/session.ts";
import type { SessionOptions } from "../../src/pop3/session_types.ts";
import { type DeadlineSweeper, DeadlineSweeper as Sweeper } from "../../src/server/deadlines.ts";
import { MIN_POP3_IDLE_MS, Pop3Connection } from "../../src/server/pop3_connection.ts";
import { createSelfSigned, secureContext } from "../../src/server/tls_cert.ts";
import { bounded, ManualClock, until } from "../_helpers/clock.ts";
import { MemoryPop3Backend } from "../_helpers/memory_pop3.ts";
import { python } from "../_helpers/python.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const LINE_MS = 30_000;

interface Pop3Server {
  readonly port: number;
  readonly connections: Set<Pop3Connection>;
  close(): Promise<void>;
}

/** A POP3 listener on 127.0.0.1:0: each socket gets a session over BACKEND and a driver. */
async function startPop3(
  backend: MemoryPop3Backend,
  options: Partial<SessionOptions> = {},
  deadlines: DeadlineSweeper = new Sweeper(),
  tls?: SecureContext,
): Promise<Pop3Server> {
  const connections = new Set<Pop3Connection>();
  const log = getLogger(["mail", "pop3", "test"]);
  const server: Server = createServer((socket) => {
    const conn = new Pop3Connection(
      socket,
      { idle: MIN_POP3_IDLE_MS, line: LINE_MS },
      deadlines,
      log,
      tls ? () => tls : undefined,
    );
    const session = new Pop3Session(
      {
        hostname: "pop.test",
        startTls: tls !== undefined,
        tls: false,
        allowInsecureAuth: true,
        ...options,
      },
      backend,
      socket.remoteAddress ?? "",
    );
    connections.add(conn);
    void conn.closed.then(() => connections.delete(conn));
    conn.start(session);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  assert.ok(address && typeof address === "object");
  return {
    port: address.port,
    connections,
    close: async () => {
      for (const c of connections) c.destroy();
      await Promise.all([...connections].map((c) => c.closed));
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Messages with lines that begin with dots, a lone-dot line, 8-bit text, and a large one. */
const MESSAGES = [
  "From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: dots\r\n\r\n" +
  ".starts with a dot\r\n..two dots\r\n.\r\nafter the lone dot\r\n",
  "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
  "Schöne Grüße\r\nline 2\r\nline 3\r\n",
  "Subject: big\r\n\r\n" + ("x".repeat(76) + "\r\n.y\r\n").repeat(30_000),
];

// Prints one JSON object: what every command returned, the messages as hex.
const CLIENT = `
import poplib, json, sys, ssl
port, mode = int(sys.argv[1]), sys.argv[2]
out = {}
p = poplib.POP3("127.0.0.1", port, timeout=60)
out["welcome"] = p.getwelcome().decode()
if mode.startswith("stls"):
    out["capa_before"] = sorted(p.capa().keys())
    ctx = ssl.create_default_context(cafile=sys.argv[3])
    ctx.check_hostname = False
    p.stls(context=ctx)
    out["tls"] = p.sock.version()
out["capa"] = sorted(p.capa().keys())
p.user("alice")
out["pass"] = p.pass_("pw").decode()
out["stat"] = list(p.stat())
resp, lines, _ = p.list()
out["list"] = [l.decode() for l in lines]
resp, lines, _ = p.uidl()
out["uidl"] = [l.decode() for l in lines]
out["retr"] = []
for n in range(1, len(lines) + 1):
    resp, body, octets = p.retr(n)
    out["retr"].append({"resp": resp.decode(), "hex": (b"\\r\\n".join(body) + b"\\r\\n").hex()})
resp, top, _ = p.top(1, 1)
out["top"] = [l.decode() for l in top]
out["dele"] = p.dele(1).decode()
if mode.endswith("drop"):
    p.sock.close()
else:
    out["quit"] = p.quit().decode()
print(json.dumps(out))
`;

interface ClientResult {
  welcome: string;
  capa: string[];
  capa_before?: string[];
  tls?: string;
  pass: string;
  stat: [number, number];
  list: string[];
  uidl: string[];
  retr: { resp: string; hex: string }[];
  top: string[];
  dele: string;
  quit?: string;
}

async function runClient(port: number, mode: string, ca?: string): Promise<ClientResult> {
  const r = await python(CLIENT, [String(port), mode, ...(ca ? [ca] : [])]);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out);
}

const hex = (s: string) =>
  Array.from(enc.encode(s), (b) => b.toString(16).padStart(2, "0")).join("");

function filled(): MemoryPop3Backend {
  const backend = new MemoryPop3Backend();
  for (const m of MESSAGES) backend.deliver("alice", m);
  return backend;
}

Deno.test("poplib: STAT, LIST, UIDL, RETR byte for byte, TOP, DELE, QUIT", async () => {
  const backend = filled();
  const server = await startPop3(backend);
  try {
    const v = backend.uidValidity("alice");
    const sizes = MESSAGES.map((m) => enc.encode(m).length);
    const r = await runClient(server.port, "plain");
    assert.equal(r.welcome, "+OK pop.test POP3 ready");
    assert.deepEqual(r.capa, [
      "AUTH-RESP-CODE",
      "EXPIRE",
      "IMPLEMENTATION",
      "PIPELINING",
      "RESP-CODES",
      "SASL",
      "TOP",
      "UIDL",
      "USER",
    ]);
    assert.match(r.pass, /^\+OK Logged in: 3 messages/);
    assert.deepEqual(r.stat, [3, sizes.reduce((a, b) => a + b)]);
    assert.deepEqual(r.list, sizes.map((s, i) => `${i + 1} ${s}`));
    assert.deepEqual(r.uidl, [1, 2, 3].map((n) => `${n} ${v}.${n}`));
    assert.deepEqual(r.retr.map((x) => x.resp), sizes.map((s) => `+OK ${s} octets`));
    assert.deepEqual(r.retr.map((x) => x.hex), MESSAGES.map(hex));
    assert.deepEqual(r.top, [
      "From: Bob <bob@example.test>",
      "To: alice@example.test",
      "Subject: dots",
      "",
      ".starts with a dot",
    ]);
    assert.equal(r.dele, "+OK Message 1 deleted");
    assert.match(r.quit!, /^\+OK pop\.test POP3 signing off: 1 messages deleted/);
    await until(() => !backend.isLocked("alice"), "the lock's release");
    assert.deepEqual(backend.inbox("alice").map((m) => [m.uid, m.seen]), [[2, true], [3, true]]);

    // The next session: what is left, numbered from 1, with the unique-ids it had.
    const again = await python(
      `import poplib, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=60)
p.user("alice"); p.pass_("pw")
print(" ".join(l.decode() for l in p.uidl()[1])); p.quit()`,
      [String(server.port)],
    );
    assert.equal(again.code, 0, again.err);
    assert.equal(again.out.trim(), `1 ${v}.2 2 ${v}.3`);
  } finally {
    await server.close();
  }
});

Deno.test("poplib: DELE and a dropped connection delete nothing", async () => {
  const backend = filled();
  const server = await startPop3(backend);
  try {
    const r = await runClient(server.port, "plain-drop");
    assert.equal(r.dele, "+OK Message 1 deleted");
    assert.equal(r.quit, undefined);
    await until(() => !backend.isLocked("alice"), "the lock's release");
    assert.deepEqual(backend.inbox("alice").map((m) => [m.uid, m.seen]), [
      [1, true],
      [2, true],
      [3, true],
    ]);
    assert.deepEqual(backend.updates.map((u) => u.update.expunge.length), [0]);
  } finally {
    await server.close();
  }
});

Deno.test("poplib: STLS, then a login over TLS; not before it", async () => {
  const cert = await createSelfSigned("pop.test");
  const ca = await Deno.makeTempFile({ suffix: ".pem" });
  await Deno.writeTextFile(ca, cert.certPem);
  const backend = filled();
  const server = await startPop3(
    backend,
    { allowInsecureAuth: false },
    undefined,
    secureContext(cert),
  );
  try {
    const r = await runClient(server.port, "stls", ca);
    assert.ok(r.capa_before!.includes("STLS"));
    assert.ok(!r.capa_before!.includes("USER"));
    assert.ok(r.capa.includes("USER") && !r.capa.includes("STLS"));
    assert.match(r.tls!, /^TLSv1\.[23]$/);
    assert.deepEqual(r.retr.map((x) => x.hex), MESSAGES.map(hex));
    const plain = await python(
      `import poplib, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=60)
try:
    p.user("alice")
except poplib.error_proto as e:
    print(e.args[0].decode())`,
      [String(server.port)],
    );
    assert.equal(plain.out.trim(), "-ERR [AUTH] Plaintext login refused: log in after STLS");
  } finally {
    await server.close();
    await Deno.remove(ca);
  }
});

Deno.test("poplib: a second session on the mailbox gets [IN-USE]", async () => {
  const backend = filled();
  const server = await startPop3(backend);
  try {
    const r = await python(
      `import poplib, sys
port = int(sys.argv[1])
a = poplib.POP3("127.0.0.1", port, timeout=60)
a.user("alice"); a.pass_("pw")
b = poplib.POP3("127.0.0.1", port, timeout=60)
b.user("alice")
try:
    b.pass_("pw")
except poplib.error_proto as e:
    print(e.args[0].decode())
a.quit()
b.user("alice"); print(b.pass_("pw").decode()); b.quit()`,
      [String(server.port)],
    );
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.out.trim().split("\n"), [
      "-ERR [IN-USE] Mailbox is locked by another POP3 session",
      "+OK Logged in: 3 messages (" + MESSAGES.reduce((n, m) => n + enc.encode(m).length, 0) +
      " octets)",
    ]);
  } finally {
    await server.close();
  }
});

/** A raw client: what it has read so far, and a way to wait for more. */
function rawClient(port: number) {
  const socket: Socket = connect(port, "127.0.0.1");
  const chunks: Uint8Array[] = [];
  let size = 0;
  let ended = false;
  socket.on("data", (b: Uint8Array) => {
    chunks.push(b);
    size += b.length;
  });
  socket.on("close", () => ended = true);
  socket.on("error", () => {});
  const text = () => dec.decode(Buffer.concat(chunks));
  return {
    socket,
    text,
    get size() {
      return size;
    },
    get ended() {
      return ended;
    },
    send: (s: string) => socket.write(s),
    waitFor: (what: string) => until(() => text().includes(what), JSON.stringify(what), 1_000_000),
  };
}

Deno.test("raw: 100 pipelined RETRs of a 256 KiB message come back whole and in order", async () => {
  const backend = new MemoryPop3Backend();
  const message = "Subject: p\r\n\r\n" + ("z".repeat(1022) + "\r\n.\r\n").repeat(256);
  backend.deliver("alice", message);
  const server = await startPop3(backend);
  try {
    const c = rawClient(server.port);
    await c.waitFor("ready\r\n");
    c.send("USER alice\r\nPASS pw\r\n" + "RETR 1\r\n".repeat(100) + "QUIT\r\n");
    await bounded(until(() => c.ended, "the close", 10_000_000), "100 RETRs", 120_000);
    const text = c.text();
    const stuffed = message.replaceAll("\r\n.\r\n", "\r\n..\r\n");
    const one = `+OK ${message.length} octets\r\n${stuffed}.\r\n`;
    assert.equal(text.split(one).length - 1, 100);
    assert.ok(text.endsWith("+OK pop.test POP3 signing off\r\n"));
  } finally {
    await server.close();
  }
});

Deno.test("raw: the idle and line deadlines, on a clock the test moves", async () => {
  const clock = new ManualClock();
  const backend = filled();
  const server = await startPop3(backend, {}, clock.deadlines);
  try {
    const idle = rawClient(server.port);
    await idle.waitFor("ready\r\n");
    idle.send("USER alice\r\nPASS pw\r\nDELE 1\r\n");
    await idle.waitFor("deleted\r\n");
    clock.advance(MIN_POP3_IDLE_MS - 1000);
    assert.ok(!idle.ended);
    clock.advance(1000);
    await bounded(until(() => idle.ended, "the idle close", 1_000_000), "idle close");
    // RFC 1939 §3: closed without a response, and without deleting anything.
    assert.ok(idle.text().endsWith("+OK Message 1 deleted\r\n"));
    await until(() => !backend.isLocked("alice"), "the lock's release");
    assert.equal(backend.inbox("alice").length, 3);

    const slow = rawClient(server.port);
    await slow.waitFor("ready\r\n");
    // Once the answer to NOOP is back, the driver has seen the line begun after it.
    slow.send("NOOP\r\nUSER al");
    await slow.waitFor("-ERR Log in first\r\n");
    clock.advance(LINE_MS - 1000);
    assert.ok(!slow.ended);
    clock.advance(1000);
    await bounded(until(() => slow.ended, "the line deadline", 1_000_000), "line deadline");
  } finally {
    await server.close();
  }
});

Deno.test("raw: a client that stops reading a large answer is dropped after the idle time", async () => {
  const clock = new ManualClock();
  const backend = new MemoryPop3Backend();
  backend.deliver("alice", "Subject: big\r\n\r\n" + ("q".repeat(1022) + "\r\n").repeat(32 * 1024));
  const server = await startPop3(backend, {}, clock.deadlines);
  try {
    const c = rawClient(server.port);
    await c.waitFor("ready\r\n");
    c.send("USER alice\r\nPASS pw\r\n");
    await c.waitFor("Logged in");
    c.socket.pause();
    c.send("RETR 1\r\n");
    const conn = [...server.connections][0]!;
    // The answer is written (and held: the kernel takes only part of 32 MiB) in the turn the
    // maildrop hands over the message.
    await until(() => backend.contentCalls === 1, "RETR");
    clock.advance(0);
    clock.advance(MIN_POP3_IDLE_MS / 2);
    clock.advance(MIN_POP3_IDLE_MS / 2);
    await bounded(conn.closed, "the drop of a client that does not read");
    assert.ok(c.size < 32 * 1024 * 1024, "the client had not read it all");
    assert.equal(backend.isLocked("alice"), false);
    assert.equal(backend.inbox("alice")[0]!.seen, true);
  } finally {
    await server.close();
  }
});
