/**
 * The session's state table: for every state and every command, a real session driven into
 * that state accepts the command exactly when {@link ACCEPTS} says so, and refuses it otherwise
 * with 503 5.5.1 from the one place that words it.
 */
import assert from "node:assert/strict";
import {
  ACCEPTS,
  type Output,
  type SessionBackend,
  SmtpSession,
  type State,
  STATES,
  type Verb,
  VERBS,
} from "../../src/smtp/session.ts";

const enc = new TextEncoder();

/** Answers at once and says yes: the table is about sequence, not about policy. */
const backend: SessionBackend = {
  newId: () => "TESTID",
  recipient: (m) => (m ? `${m.local}@${m.domain}` : "postmaster"),
  deliver: () => {},
  authenticate: (user) => Promise.resolve(user),
};

/** A submission session that offers everything: STARTTLS, and AUTH without TLS. */
function newSession(): SmtpSession {
  return new SmtpSession(
    {
      hostname: "mx.test",
      maxMessageSize: 10000,
      maxRecipients: 100,
      role: "submission",
      startTls: true,
      allowInsecureAuth: true,
    },
    backend,
    { address: "127.0.0.1", port: 40000 },
  );
}

const AUTH_ALICE = "AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdAB0ZXN0LXBhc3N3b3Jk";

/** How to reach each state from a new session, with as little history as it allows. */
const REACH: { readonly [S in State]: readonly string[] } = {
  fresh: [],
  greeted: ["EHLO client.test"],
  // Submission needs AUTH before MAIL.
  mail: ["EHLO client.test", AUTH_ALICE, "MAIL FROM:<alice@example.test>"],
  rcpt: [
    "EHLO client.test",
    AUTH_ALICE,
    "MAIL FROM:<alice@example.test>",
    "RCPT TO:<bob@example.test>",
  ],
  data: [
    "EHLO client.test",
    AUTH_ALICE,
    "MAIL FROM:<alice@example.test>",
    "RCPT TO:<bob@example.test>",
    "DATA",
  ],
  auth: ["EHLO client.test", "AUTH LOGIN"],
  tls: ["EHLO client.test", "STARTTLS"],
  closed: ["QUIT"],
};

/** Each command with well-formed arguments. */
const LINE: { readonly [V in Verb]: string } = {
  HELO: "HELO client.test",
  EHLO: "EHLO client.test",
  STARTTLS: "STARTTLS",
  AUTH: AUTH_ALICE,
  MAIL: "MAIL FROM:<alice@example.test>",
  RCPT: "RCPT TO:<bob@example.test>",
  DATA: "DATA",
  RSET: "RSET",
  NOOP: "NOOP",
  QUIT: "QUIT",
  VRFY: "VRFY alice",
  HELP: "HELP",
};

async function inState(state: State): Promise<SmtpSession> {
  const session = newSession();
  for (const line of REACH[state]) await session.receive(enc.encode(`${line}\r\n`));
  assert.equal(session.state, state, `reaching ${state}`);
  return session;
}

async function send(session: SmtpSession, line: string): Promise<Output> {
  return await session.receive(enc.encode(`${line}\r\n`));
}

const COMMAND_STATES = STATES.filter((s) => ACCEPTS[s].size > 0);

Deno.test("state table: the states that read commands are fresh, greeted, mail and rcpt", () => {
  assert.deepEqual(COMMAND_STATES, ["fresh", "greeted", "mail", "rcpt"]);
  for (const s of STATES) for (const v of ACCEPTS[s]) assert.ok(VERBS.includes(v));
});

for (const state of COMMAND_STATES) {
  Deno.test(`state table: in ${state}, every command is run or refused as the table says`, async () => {
    for (const verb of VERBS) {
      const out = await send(await inState(state), LINE[verb]);
      const first = out.write.split("\r\n")[0] ?? "";
      if (ACCEPTS[state].has(verb)) {
        assert.doesNotMatch(first, /^503[ -]/, `${state} ${verb}: ${first}`);
      } else {
        // Enhanced codes only after EHLO (RFC 2034 §3).
        assert.match(
          first,
          state === "fresh"
            ? /^503 Bad sequence of commands: \S/
            : /^503 5\.5\.1 Bad sequence of commands: \S/,
          `${state} ${verb}`,
        );
        assert.equal(out.close, false, `${state} ${verb}`);
      }
    }
  });

  Deno.test(`state table: in ${state}, the sequence is checked before the arguments`, async () => {
    for (const verb of VERBS) {
      if (ACCEPTS[state].has(verb)) continue;
      const out = await send(await inState(state), `${verb} \u00ab!bad!\u00bb`);
      assert.match(out.write, /^503 /, `${state} ${verb} with bad arguments: ${out.write}`);
    }
  });
}

Deno.test("state table: in data, auth, tls and closed, a command line is not run as a command", async () => {
  for (const verb of VERBS) {
    // Message data: no reply until the lone dot, and the line is part of the message.
    const data = await inState("data");
    assert.deepEqual(await send(data, LINE[verb]), { write: "", close: false });
    assert.equal(data.state, "data");
    // A SASL response: taken as a username (334 for the password) or refused as not base64.
    const auth = await inState("auth");
    const out = await send(auth, LINE[verb]);
    assert.match(out.write, /^(?:334|501 5\.5\.2) /, `auth ${verb}: ${out.write}`);
    // After STARTTLS: the handshake is next; the line was sent in the clear and is dropped.
    const tls = await inState("tls");
    assert.deepEqual(await send(tls, LINE[verb]), { write: "", close: false, startTls: true });
    // After QUIT: nothing more.
    const closed = await inState("closed");
    assert.deepEqual(await send(closed, LINE[verb]), { write: "", close: true });
  }
});

Deno.test("state table: facts of the session's history refuse with 503 too", async () => {
  // RFC 4954 §4: no AUTH after a successful one.
  const authed = await inState("greeted");
  assert.match((await send(authed, AUTH_ALICE)).write, /^235 /);
  assert.equal(
    (await send(authed, AUTH_ALICE)).write,
    "503 5.5.1 Bad sequence of commands: already authenticated\r\n",
  );
  // AUTH is an ESMTP extension (RFC 4954 §3): not after HELO.
  const helo = newSession();
  await send(helo, "HELO client.test");
  assert.equal(
    (await send(helo, AUTH_ALICE)).write,
    "503 Bad sequence of commands: EHLO first\r\n",
  );
  // RFC 3207 §4.2: no second STARTTLS, whatever the state.
  const tls = await inState("tls");
  tls.tlsStarted("TLSv1.3");
  assert.equal(tls.state, "fresh");
  assert.equal(
    (await send(tls, "STARTTLS")).write,
    "503 Bad sequence of commands: TLS already active\r\n",
  );
  await send(tls, "EHLO client.test");
  assert.equal(
    (await send(tls, "STARTTLS")).write,
    "503 5.5.1 Bad sequence of commands: TLS already active\r\n",
  );
});

Deno.test("state table: a reply that arrives after the session closed does not reopen it", async () => {
  let release: () => void = () => {};
  const slow: SessionBackend = {
    ...backend,
    recipient: (m) =>
      new Promise((resolve) => {
        release = () => resolve(m ? `${m.local}@${m.domain}` : "postmaster");
      }),
  };
  const session = new SmtpSession(
    { hostname: "mx.test", maxMessageSize: 10000, maxRecipients: 100 },
    slow,
    { address: "127.0.0.1", port: 40000 },
  );
  await send(session, "EHLO client.test");
  await send(session, "MAIL FROM:<a@remote.test>");
  const pending = send(session, "RCPT TO:<bob@example.test>");
  assert.equal(session.timeout().close, true);
  release();
  assert.equal((await pending).close, true);
  assert.equal(session.state, "closed");
});
