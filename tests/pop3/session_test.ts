/**
 * The POP3 session (src/pop3/session.ts) from transcripts, against the in-memory backend, each
 * played with a backend that answers at once and one that answers with promises.
 */
import assert from "node:assert/strict";
import { COMMAND_NAMES } from "../../src/pop3/command.ts";
import { Pop3BackendError } from "../../src/pop3/backend.ts";
import { Pop3Session } from "../../src/pop3/session.ts";
import { ACCEPTS, type SessionEvent, type SessionOptions } from "../../src/pop3/session_types.ts";
import { MemoryPop3Backend } from "../_helpers/memory_pop3.ts";
import { exchange, play } from "./transcript.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Lines that begin with dots, a line that is only a dot, and CRLF endings throughout. */
const M1 = "From: a@example.test\r\nSubject: one\r\n\r\nHello\r\n.\r\n..two\r\n.three\r\n";
const M2 = "Subject: two\r\n\r\nl1\r\nl2\r\nl3\r\n";
/** No final line ending. */
const M3 = "Subject: three\r\n\r\nno newline";
const SIZES = [M1, M2, M3].map((m) => enc.encode(m).length);
const TOTAL = SIZES.reduce((a, b) => a + b, 0);

const OPTIONS: SessionOptions = {
  hostname: "pop.test",
  startTls: true,
  tls: false,
  allowInsecureAuth: true,
};

function setup(
  options: Partial<SessionOptions> = {},
  async = false,
  backend = new MemoryPop3Backend({ async }),
) {
  if (backend.inbox("alice").length === 0) {
    for (const m of [M1, M2, M3]) backend.deliver("alice", m);
  }
  const events: SessionEvent[] = [];
  const session = new Pop3Session(
    { ...OPTIONS, ...options },
    backend,
    "127.0.0.1",
    (e) => events.push(e),
  );
  return { backend, session, events, v: backend.uidValidity("alice") };
}

/** Runs TEST with a synchronous and an asynchronous backend. */
function both(name: string, test: (async: boolean) => Promise<void>) {
  Deno.test(`session: ${name}`, async (t) => {
    await t.step("sync backend", () => test(false));
    await t.step("async backend", () => test(true));
  });
}

const LOGIN = `
  C: USER alice
  S: +OK Send PASS
  C: PASS pw
  S: +OK Logged in: 3 messages (${TOTAL} octets)
`;

both("greeting, CAPA, login, STAT, LIST, UIDL, RETR with dot lines, TOP, QUIT", async (a) => {
  const { session, backend, v } = setup({}, a);
  assert.equal(dec.decode(session.greeting().write[0]), "+OK pop.test POP3 ready\r\n");
  await play(
    session,
    `
    C: CAPA
    S: +OK Capability list follows
    S: TOP
    S: UIDL
    S: RESP-CODES
    S: AUTH-RESP-CODE
    S: PIPELINING
    S: USER
    S: SASL PLAIN
    S: STLS
    S: EXPIRE NEVER
    S: IMPLEMENTATION mail
    S: .
    ${LOGIN}
    C: STAT
    S: +OK 3 ${TOTAL}
    C: LIST
    S: +OK 3 messages (${TOTAL} octets)
    S: 1 ${SIZES[0]}
    S: 2 ${SIZES[1]}
    S: 3 ${SIZES[2]}
    S: .
    C: LIST 2
    S: +OK 2 ${SIZES[1]}
    C: UIDL
    S: +OK
    S: 1 ${v}.1
    S: 2 ${v}.2
    S: 3 ${v}.3
    S: .
    C: UIDL 3
    S: +OK 3 ${v}.3
    C: RETR 1
    S: +OK ${SIZES[0]} octets
    S: From: a@example.test
    S: Subject: one
    S:
    S: Hello
    S: ..
    S: ...two
    S: ..three
    S: .
    C: TOP 2 1
    S: +OK
    S: Subject: two
    S:
    S: l1
    S: .
    C: RETR 3
    S: +OK ${SIZES[2]} octets
    S: Subject: three
    S:
    S: no newline
    S: .
    C: NOOP
    S: +OK
    # CAPA in TRANSACTION announces what AUTHORIZATION did (RFC 2449 §5).
    C: CAPA
    S: +OK Capability list follows
    S: TOP
    S: UIDL
    S: RESP-CODES
    S: AUTH-RESP-CODE
    S: PIPELINING
    S: USER
    S: SASL PLAIN
    S: STLS
    S: EXPIRE NEVER
    S: IMPLEMENTATION mail
    S: .
    C: QUIT
    S: +OK pop.test POP3 signing off
    CLOSED
  `,
  );
  // RETR marked 1 and 3 seen (TOP does not); nothing was deleted.
  assert.deepEqual(backend.inbox("alice").map((m) => [m.uid, m.seen]), [
    [1, true],
    [2, false],
    [3, true],
  ]);
  assert.equal(backend.updates.length, 1);
  assert.equal(backend.isLocked("alice"), false);
});

both("DELE then QUIT expunges in one update; numbers and UIDLs stay put", async (a) => {
  const { session, backend, events, v } = setup({}, a);
  await play(
    session,
    `${LOGIN}
    C: RETR 2
    S: +OK ${SIZES[1]} octets
    S: Subject: two
    S:
    S: l1
    S: l2
    S: l3
    S: .
    C: DELE 1
    S: +OK Message 1 deleted
    C: DELE 1
    S: -ERR Message 1 is deleted
    C: RETR 1
    S: -ERR Message 1 is deleted
    C: TOP 1 0
    S: -ERR Message 1 is deleted
    C: LIST 1
    S: -ERR Message 1 is deleted
    C: UIDL 1
    S: -ERR Message 1 is deleted
    C: STAT
    S: +OK 2 ${SIZES[1]! + SIZES[2]!}
    C: LIST
    S: +OK 2 messages (${SIZES[1]! + SIZES[2]!} octets)
    S: 2 ${SIZES[1]}
    S: 3 ${SIZES[2]}
    S: .
    C: UIDL
    S: +OK
    S: 2 ${v}.2
    S: 3 ${v}.3
    S: .
    C: DELE 3
    S: +OK Message 3 deleted
    C: QUIT
    S: +OK pop.test POP3 signing off: 2 messages deleted
    CLOSED
  `,
  );
  assert.deepEqual(backend.inbox("alice").map((m) => [m.uid, m.seen]), [[2, true]]);
  assert.equal(backend.updates.length, 1, "one update for the whole session");
  const u = backend.updates[0]!.update;
  assert.deepEqual(u.expunge.map((m) => m.handle), [1, 3]);
  assert.deepEqual(u.seen.map((m) => m.handle), [2]);
  assert.ok(events.some((e) => e.type === "update" && e.expunged === 2 && e.seen === 1));
  assert.equal(backend.isLocked("alice"), false);

  // The next session numbers what is left from 1, with the same unique-id as before.
  const next = setup({}, a, backend).session;
  await play(
    next,
    `
    C: USER alice
    S: +OK Send PASS
    C: PASS pw
    S: +OK Logged in: 1 messages (${SIZES[1]} octets)
    C: UIDL
    S: +OK
    S: 1 ${v}.2
    S: .
  `,
  );
  next.closed();
});

both("DELE then a dropped connection deletes nothing; retrieved mail is still seen", async (a) => {
  const { session, backend } = setup({}, a);
  await play(
    session,
    `${LOGIN}
    C: RETR 3
    S: +OK ${SIZES[2]} octets
    S: Subject: three
    S:
    S: no newline
    S: .
    C: DELE 1
    S: +OK Message 1 deleted
    C: DELE 3
    S: +OK Message 3 deleted
    DROP
  `,
  );
  // An async update settles in a microtask.
  await Promise.resolve();
  await Promise.resolve();
  assert.deepEqual(backend.inbox("alice").map((m) => [m.uid, m.seen]), [
    [1, false],
    [2, false],
    [3, true],
  ]);
  assert.deepEqual(backend.updates.map((u) => u.update.expunge.length), [0]);
  assert.equal(backend.isLocked("alice"), false);
  // Input after the drop is not read.
  assert.deepEqual((await session.receive(enc.encode("STAT\r\n"))).write, []);
});

both("RSET unmarks deletions; QUIT with nothing to do makes no update", async (a) => {
  const { session, backend } = setup({}, a);
  await play(
    session,
    `${LOGIN}
    C: DELE 2
    S: +OK Message 2 deleted
    C: STAT
    S: +OK 2 ${SIZES[0]! + SIZES[2]!}
    C: RSET
    S: +OK Maildrop has 3 messages (${TOTAL} octets)
    C: RETR 2
    S: +OK ${SIZES[1]} octets
    S: Subject: two
    S:
    S: l1
    S: l2
    S: l3
    S: .
    C: QUIT
    S: +OK pop.test POP3 signing off
    CLOSED
  `,
  );
  assert.equal(backend.inbox("alice").length, 3);
  assert.deepEqual(backend.updates.map((u) => u.update.seen.length), [1]);

  const quiet = setup({}, a, backend).session;
  await play(quiet, `${LOGIN}\nC: QUIT\nS: +OK pop.test POP3 signing off\nCLOSED`);
  assert.equal(backend.updates.length, 1, "a session that changed nothing makes no update");
});

both("a second session on the same mailbox gets [IN-USE] until the first ends", async (a) => {
  const { session, backend } = setup({}, a);
  const second = setup({}, a, backend).session;
  await play(session, LOGIN);
  await play(
    second,
    `
    C: USER alice
    S: +OK Send PASS
    C: PASS pw
    S: -ERR [IN-USE] Mailbox is locked by another POP3 session
    C: STAT
    S: -ERR Log in first
  `,
  );
  assert.equal(second.state, "authorization");
  await play(session, "C: QUIT\nS: +OK pop.test POP3 signing off\nCLOSED");
  await play(second, LOGIN);
  assert.equal(second.state, "transaction");
  // Bob's mailbox was never locked.
  const bob = setup({}, a, backend).session;
  await play(
    bob,
    "C: USER bob\nS: +OK Send PASS\nC: PASS pw\nS: +OK Logged in: 0 messages (0 octets)",
  );
  second.closed();
  bob.closed();
  assert.equal(backend.opens, backend.closes);
});

both("STLS: pipelined input after it is discarded; logins only after TLS", async (a) => {
  const { session, backend } = setup({ allowInsecureAuth: false }, a);
  await play(
    session,
    `
    C: CAPA
    S: +OK Capability list follows
    S: TOP
    S: UIDL
    S: RESP-CODES
    S: AUTH-RESP-CODE
    S: PIPELINING
    S: STLS
    S: EXPIRE NEVER
    S: IMPLEMENTATION mail
    S: .
    C: USER alice
    S: -ERR [AUTH] Plaintext login refused: log in after STLS
    C: PASS pw
    S: -ERR [AUTH] Plaintext login refused: log in after STLS
    C: AUTH PLAIN AGFsaWNlAHB3
    S: -ERR [AUTH] Plaintext login refused: log in after STLS
    C: AUTH
    S: +OK
    S: .
    C: STLS
    C: USER alice
    C: PASS pw
    S: +OK Begin TLS negotiation
    TLS
    C: CAPA
    S: +OK Capability list follows
    S: TOP
    S: UIDL
    S: RESP-CODES
    S: AUTH-RESP-CODE
    S: PIPELINING
    S: USER
    S: SASL PLAIN
    S: EXPIRE NEVER
    S: IMPLEMENTATION mail
    S: .
    C: STLS
    S: -ERR TLS is already active
    C: PASS pw
    S: -ERR Send USER first
    ${LOGIN}
  `,
  );
  assert.equal(backend.isLocked("alice"), true);
  session.closed();
  assert.equal(backend.isLocked("alice"), false);
});

Deno.test("session: STLS discards pipelined bytes that arrive with it, even a partial line", async () => {
  const { session } = setup({ allowInsecureAuth: false });
  const r = await exchange(session, enc.encode("STLS\r\nUSER alice\r\nPASS pw\r\nQU"));
  assert.equal(dec.decode(r.bytes), "+OK Begin TLS negotiation\r\n");
  assert.ok(r.startTls);
  session.tlsStarted();
  const after = await exchange(session, enc.encode("IT\r\n"));
  // "IT" is all the session sees: the "QU" before it went with the discarded input.
  assert.equal(dec.decode(after.bytes), "-ERR Unknown command\r\n");
});

Deno.test("session: without a certificate STLS is neither offered nor accepted", async () => {
  const { session } = setup({ startTls: false, allowInsecureAuth: false });
  await play(
    session,
    `
    C: STLS
    S: -ERR TLS is not available
    C: USER alice
    S: -ERR [AUTH] Plaintext login refused: log in over TLS
  `,
  );
  const implicit = setup({ startTls: false, tls: true, allowInsecureAuth: false }).session;
  await play(implicit, `C: STLS\nS: -ERR TLS is already active\n${LOGIN}`);
  implicit.closed();
});

both("AUTH PLAIN: initial response, continuation, cancel, bad responses", async (a) => {
  const { session, backend, events } = setup({}, a);
  const plain = (s: string) => btoa(s);
  await play(
    session,
    `
    C: AUTH
    S: +OK
    S: PLAIN
    S: .
    C: AUTH CRAM-MD5
    S: -ERR Unsupported authentication mechanism
    C: AUTH PLAIN
    S: + 
    C: *
    S: -ERR Authentication cancelled
    C: AUTH PLAIN
    S: + 
    C: not base64!
    S: -ERR Invalid SASL response
    C: AUTH PLAIN ${plain("\0alice\0wrong")}
    S: -ERR [AUTH] Authentication failed
    C: AUTH PLAIN ${plain("bob\0alice\0pw")}
    S: -ERR [AUTH] Authentication failed: no acting for another user
    C: AUTH PLAIN =
    S: -ERR Invalid SASL response
    C: AUTH PLAIN
    S: + 
    C: ${plain("alice\0alice\0pw")}
    S: +OK Logged in: 3 messages (${TOTAL} octets)
    C: AUTH PLAIN
    S: -ERR Command not valid after login
  `,
  );
  assert.deepEqual(
    events.filter((e) => e.type === "login").map((e) => e.type === "login" && [e.user, e.ok]),
    [["alice", false], ["alice", false], ["alice", true]],
  );
  session.closed();
  assert.equal(backend.isLocked("alice"), false);
});

Deno.test("session: a SASL response may be longer than a command line, within its own cap", async () => {
  const backend = new MemoryPop3Backend({ users: { ["u".repeat(300)]: "p".repeat(500) } });
  const session = new Pop3Session(OPTIONS, backend, "127.0.0.1");
  const response = btoa(`\0${"u".repeat(300)}\0${"p".repeat(500)}`);
  assert.ok(response.length > 512);
  await play(
    session,
    `C: AUTH PLAIN\nS: + \nC: ${response}\nS: +OK Logged in: 0 messages (0 octets)`,
  );
  session.closed();
});

both("USER/PASS: failures, PASS without USER, spaces in passwords", async (a) => {
  const backend = new MemoryPop3Backend({ async: a, users: { alice: "pw with  spaces " } });
  const session = new Pop3Session(OPTIONS, backend, "127.0.0.1");
  await play(
    session,
    `
    C: PASS pw
    S: -ERR Send USER first
    C: USER
    S: -ERR Syntax: USER name
    C: USER alice
    S: +OK Send PASS
    C: PASS pw
    S: -ERR [AUTH] Authentication failed
    C: PASS pw with  spaces
    S: -ERR Send USER first
    C: USER alice
    S: +OK Send PASS
    R: "PASS pw with  spaces \\r\\n"
    S: +OK Logged in: 0 messages (0 octets)
  `,
  );
  session.closed();
});

both("lockout and a busy password checker: [SYS/TEMP], and the lockout closes", async (a) => {
  const { session, backend } = setup({}, a);
  backend.busy = true;
  await play(
    session,
    "C: USER alice\nS: +OK Send PASS\nC: PASS pw\nS: -ERR [SYS/TEMP] Too many logins at once: try again later",
  );
  backend.busy = false;
  backend.lockedClients.add("127.0.0.1");
  await play(
    session,
    "C: USER alice\nS: +OK Send PASS\nC: PASS pw\nS: -ERR [SYS/TEMP] Too many failed logins: try again later\nCLOSED",
  );
  assert.equal(backend.opens, 0);
});

Deno.test("session: every command in a state that does not accept it is refused from the table", async () => {
  const { session } = setup({ maxErrors: 1000 });
  const refused = (state: "authorization" | "transaction", text: string) =>
    COMMAND_NAMES.filter((c) => !ACCEPTS[state].has(c)).map((c) => `C: ${c}\nS: -ERR ${text}`)
      .join("\n");
  const authorizationOnly = COMMAND_NAMES.filter((c) => !ACCEPTS.transaction.has(c));
  const transactionOnly = COMMAND_NAMES.filter((c) => !ACCEPTS.authorization.has(c));
  assert.deepEqual(authorizationOnly, ["USER", "PASS", "AUTH", "STLS"]);
  assert.deepEqual(transactionOnly, [
    "STAT",
    "LIST",
    "UIDL",
    "TOP",
    "RETR",
    "DELE",
    "RSET",
    "NOOP",
  ]);
  // Whatever the arguments: the state is checked first.
  await play(session, refused("authorization", "Log in first"));
  await play(session, "C: RETR nonsense\nS: -ERR Log in first");
  await play(session, LOGIN);
  await play(session, refused("transaction", "Command not valid after login"));
  await play(session, "C: USER\nS: -ERR Command not valid after login");
  assert.equal(ACCEPTS.update.size, 0);
  session.closed();
});

both("message numbers: zero, past the end, not a number, extra arguments", async (a) => {
  const { session } = setup({}, a);
  await play(
    session,
    `${LOGIN}
    C: RETR 0
    S: -ERR No message 0
    C: RETR 4
    S: -ERR No message 4
    C: LIST 99999999999
    S: -ERR Invalid message number
    C: DELE x
    S: -ERR Invalid message number
    C: RETR
    S: -ERR Syntax: RETR message
    C: RETR 1 2
    S: -ERR Syntax: RETR message
    C: TOP 1
    S: -ERR Syntax: TOP message lines
    C: TOP 1 -1
    S: -ERR Invalid number of lines
    C: STAT 1
    S: -ERR Syntax: STAT
    C: retr  2
    S: +OK ${SIZES[1]} octets
    S: Subject: two
    S:
    S: l1
    S: l2
    S: l3
    S: .
    C: TOP 1 999999999
    S: +OK
    S: From: a@example.test
    S: Subject: one
    S:
    S: Hello
    S: ..
    S: ...two
    S: ..three
    S: .
    C: XTND XMIT
    S: -ERR Unknown command
    C:
    S: -ERR Unknown command
  `,
  );
  session.closed();
});

both("a message another client expunged meanwhile is answered as gone", async (a) => {
  const { session, backend } = setup({}, a);
  await play(session, LOGIN);
  backend.expungeUid("alice", 2);
  backend.deliver("alice", "Subject: late\r\n\r\nlate\r\n");
  await play(
    session,
    `
    C: RETR 2
    S: -ERR Message 2 no longer exists
    C: STAT
    S: +OK 3 ${TOTAL}
    C: DELE 2
    S: +OK Message 2 deleted
    C: QUIT
    S: +OK pop.test POP3 signing off: 1 messages deleted
    CLOSED
  `,
  );
  // The late message was not in this session's maildrop, and is still there.
  assert.deepEqual(backend.inbox("alice").map((m) => m.uid), [1, 3, 4]);
});

Deno.test("session: over-long lines are refused and skipped, the session goes on", async () => {
  const { session } = setup();
  const exact = `NOOP${" ".repeat(512 - 6)}\r\n`;
  assert.equal(exact.length, 512);
  await play(
    session,
    `${LOGIN}
    R: ${JSON.stringify(exact)}
    S: +OK
    R: ${JSON.stringify(`NOOP${" ".repeat(507)}\r\n`)}
    S: -ERR Line too long
    C: ${"A".repeat(100_000)}
    C: STAT
    S: -ERR Line too long
    S: +OK 3 ${TOTAL}
  `,
  );
  // A long line in pieces: refused once its end comes, holding no more than the cap meanwhile.
  for (let i = 0; i < 100; i++) {
    assert.deepEqual((await session.receive(enc.encode("X".repeat(1000)))).write, []);
  }
  assert.ok(session.midLine);
  await play(session, `C: \nS: -ERR Line too long\nC: NOOP\nS: +OK`);
  assert.ok(!session.midLine);
  session.closed();
});

Deno.test("session: too many bad commands end the session", async () => {
  const { session, backend } = setup({ maxErrors: 3 });
  await play(session, LOGIN);
  await play(
    session,
    `
    C: FOO
    S: -ERR Unknown command
    C: RETR 9
    S: -ERR No message 9
    C: BAR
    C: NOOP
    S: -ERR Too many bad commands, closing connection
    CLOSED
  `,
  );
  assert.equal(backend.isLocked("alice"), false);
});

both("an unexpected failure is reported, answered, and ends the connection", async (a) => {
  const { session, backend, events } = setup({}, a);
  await play(session, LOGIN);
  backend.failNext("content", new Error("disk on fire"));
  await play(
    session,
    `
    C: RETR 1
    C: NOOP
    S: -ERR [SYS/TEMP] Internal error, closing connection
    CLOSED
  `,
  );
  const e = events.find((e) => e.type === "error");
  assert.ok(e && e.type === "error" && e.command === "RETR");
  assert.equal(backend.isLocked("alice"), false);
  assert.equal(backend.inbox("alice").length, 3);
});

both("a failed update at QUIT: nothing removed, said so, lock released", async (a) => {
  const { session, backend } = setup({}, a);
  backend.failNext("update", new Pop3BackendError("SYS/TEMP", "Store busy"));
  await play(
    session,
    `${LOGIN}
    C: DELE 1
    S: +OK Message 1 deleted
    C: QUIT
    S: -ERR [SYS/TEMP] Deleted messages not removed: Store busy
    CLOSED
  `,
  );
  assert.equal(backend.inbox("alice").length, 3);
  assert.equal(backend.isLocked("alice"), false);

  const { session: s2, backend: b2, events } = setup({}, a);
  b2.failNext("update", new Error("constraint failed"));
  await play(
    s2,
    `${LOGIN}
    C: DELE 1
    S: +OK Message 1 deleted
    C: QUIT
    S: -ERR [SYS/TEMP] Deleted messages not removed: internal error
    CLOSED
  `,
  );
  assert.ok(events.some((e) => e.type === "error" && e.command === "QUIT"));
  assert.equal(b2.isLocked("alice"), false);
});

both("an open that fails unexpectedly ends the connection; a refusal does not", async (a) => {
  const { session, backend } = setup({}, a);
  backend.failNext("open", new Pop3BackendError("SYS/PERM", "Mailbox is damaged"));
  await play(
    session,
    `
    C: USER alice
    S: +OK Send PASS
    C: PASS pw
    S: -ERR [SYS/PERM] Mailbox is damaged
  `,
  );
  // The store's text is the store's: a line break in it cannot forge a response.
  backend.failNext("open", new Pop3BackendError("SYS/TEMP", "Busy\r\n+OK Logged in"));
  await play(
    session,
    `
    C: USER alice
    S: +OK Send PASS
    C: PASS pw
    S: -ERR [SYS/TEMP] Busy +OK Logged in
  `,
  );
  backend.failNext("open", new Error("no such table"));
  await play(
    session,
    `
    C: USER alice
    S: +OK Send PASS
    C: PASS pw
    S: -ERR [SYS/TEMP] Internal error, closing connection
    CLOSED
  `,
  );
});

Deno.test("session: timeout closes without a word; shutdown says why; neither deletes", async () => {
  const { session, backend } = setup();
  await play(session, `${LOGIN}\nC: DELE 1\nS: +OK Message 1 deleted`);
  assert.deepEqual(session.timeout(), { write: [], close: true });
  assert.equal(backend.inbox("alice").length, 3);
  assert.equal(backend.isLocked("alice"), false);
  session.closed();
  assert.equal(backend.closes, 1);

  const other = setup({}, false, backend).session;
  await play(other, `${LOGIN}\nC: DELE 1\nS: +OK Message 1 deleted`);
  const out = other.shutdown();
  assert.equal(dec.decode(out.write[0]), "-ERR [SYS/TEMP] Server shutting down\r\n");
  assert.ok(out.close);
  assert.equal(backend.inbox("alice").length, 3);
  assert.equal(backend.isLocked("alice"), false);
});

Deno.test("session: QUIT before login closes and touches nothing", async () => {
  const { session, backend } = setup();
  await play(session, "C: QUIT\nS: +OK pop.test POP3 signing off\nCLOSED");
  assert.equal(backend.opens, 0);
  assert.deepEqual((await session.receive(enc.encode("USER alice\r\n"))).write, []);
});

Deno.test("session: a drop while the maildrop opens lets it go at once", async () => {
  const { session, backend } = setup({}, true);
  const gate = Promise.withResolvers<void>();
  let asked = false;
  const open = backend.open.bind(backend);
  backend.open = async (account) => {
    asked = true;
    await gate.promise;
    return open(account);
  };
  const pending = session.receive(enc.encode("USER alice\r\nPASS pw\r\n"));
  for (let i = 0; i < 100 && !asked; i++) await Promise.resolve();
  assert.ok(asked);
  session.closed();
  gate.resolve();
  assert.deepEqual((await pending).write.map((c) => dec.decode(c)), ["+OK Send PASS\r\n"]);
  assert.equal(backend.opens, 1);
  assert.equal(backend.closes, 1);
  assert.equal(backend.isLocked("alice"), false);
});

Deno.test("session: pipelined RETRs are answered a batch at a time", async () => {
  const { session } = setup({ outputBatch: 1 });
  await play(session, LOGIN);
  const first = await session.receive(enc.encode("RETR 1\r\nRETR 2\r\nRETR 3\r\nSTAT\r\n"));
  assert.ok(first.more);
  assert.match(dec.decode(first.write[0]), /^\+OK \d+ octets\r\n$/);
  const text = (o: { write: readonly Uint8Array[] }) => o.write.map((c) => dec.decode(c)).join("");
  const second = await session.receive(new Uint8Array(0));
  assert.ok(second.more);
  assert.ok(text(second).startsWith(`+OK ${SIZES[1]} octets`));
  const third = await session.receive(new Uint8Array(0));
  assert.ok(third.more);
  const last = await session.receive(new Uint8Array(0));
  assert.ok(!last.more);
  assert.equal(text(last), `+OK 3 ${TOTAL}\r\n`);
  session.closed();
});

Deno.test("session: a 25 MiB message goes out as views of the stored bytes", async () => {
  const backend = new MemoryPop3Backend();
  const line = "x".repeat(78) + "\r\n";
  const big = enc.encode("Subject: big\r\n\r\n" + line.repeat(Math.ceil(25 * 1048576 / 80)));
  backend.deliver("alice", big);
  const session = new Pop3Session(OPTIONS, backend, "127.0.0.1");
  await play(session, "C: USER alice\nS: +OK Send PASS\nC: PASS pw\nS: +OK Logged in:*");
  const out = await session.receive(enc.encode("RETR 1\r\n"));
  const stored = backend.inbox("alice")[0]!.bytes;
  const body = out.write.find((c) => c.length > 1_000_000)!;
  assert.equal(body.buffer, stored.buffer, "the message is a view, not a copy");
  assert.equal(
    out.write.reduce((n, c) => n + c.length, 0),
    `+OK ${big.length} octets\r\n`.length + big.length + 3,
  );
  session.closed();
});
