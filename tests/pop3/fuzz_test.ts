/**
 * The POP3 session under arbitrary input: whatever the client sends, in whatever pieces, the
 * session answers with `+OK`/`-ERR`/`+ ` responses ending in CRLF, never throws, never
 * rejects, never holds more than a line's cap of input, and leaves the mailbox unlocked once
 * the connection ends.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { Pop3Session } from "../../src/pop3/session.ts";
import { MemoryPop3Backend } from "../_helpers/memory_pop3.ts";
import { until } from "../_helpers/clock.ts";
import { exchange } from "./transcript.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function session(async: boolean) {
  const backend = new MemoryPop3Backend({ async });
  backend.deliver("alice", "Subject: a\r\n\r\n.dot\r\nbody\r\n");
  backend.deliver("alice", "Subject: b\n\nbare LF\n.\n");
  const s = new Pop3Session(
    { hostname: "pop.test", startTls: true, tls: false, allowInsecureAuth: true, maxErrors: 50 },
    backend,
    "127.0.0.1",
  );
  return { s, backend };
}

/** Command lines, valid and not: known keywords with plausible and implausible arguments. */
const commandLine = fc.oneof(
  fc.constantFrom(
    "USER alice",
    "PASS pw",
    "PASS wrong",
    "AUTH",
    "AUTH PLAIN",
    "AUTH PLAIN AGFsaWNlAHB3",
    "*",
    "CAPA",
    "STAT",
    "LIST",
    "UIDL",
    "RSET",
    "NOOP",
    "STLS",
  ),
  fc.tuple(
    fc.constantFrom("LIST", "UIDL", "RETR", "DELE", "TOP", "retr", "FOO"),
    fc.array(fc.oneof(fc.nat(5).map(String), fc.string({ maxLength: 8 })), { maxLength: 3 }),
  ).map(([w, a]) => [w, ...a].join(" ")),
  fc.string({ maxLength: 40 }),
  fc.string({ minLength: 500, maxLength: 700 }),
);

/** Every response starts as one and ends with CRLF. */
function wellFormed(bytes: Uint8Array): void {
  if (bytes.length === 0) return;
  const text = dec.decode(bytes);
  assert.match(text, /^(\+OK|-ERR|\+ )/, JSON.stringify(text.slice(0, 80)));
  assert.ok(text.endsWith("\r\n"), JSON.stringify(text.slice(-80)));
}

for (const async of [false, true]) {
  Deno.test(`fuzz: command lines one at a time get one response each (${async ? "async" : "sync"})`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(commandLine, { maxLength: 40 }), async (lines) => {
        const { s, backend } = session(async);
        let closed = false;
        for (const line of lines) {
          const r = await exchange(s, enc.encode(line.replace(/[\r\n]/g, "") + "\r\n"));
          if (closed) assert.equal(r.bytes.length, 0, "nothing after the close");
          else {
            // The session answers every line, unless a STLS it accepted discarded it.
            assert.ok(r.bytes.length > 0, `no answer to ${JSON.stringify(line)}`);
            wellFormed(r.bytes);
          }
          closed ||= r.close;
          // A TLS handshake would follow; the test pretends it did.
          if (r.startTls) s.tlsStarted();
        }
        s.closed();
        // The release waits for the update of what was retrieved, a promise when async.
        await until(() => !backend.isLocked("alice"), "the lock's release", 100);
        assert.equal(backend.opens, backend.closes);
      }),
      { numRuns: 400 },
    );
  });

  Deno.test(`fuzz: any bytes in any pieces never throw (${async ? "async" : "sync"})`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 300 }),
            fc.array(commandLine, { maxLength: 6 }).map((l) => enc.encode(l.join("\r\n") + "\r\n")),
          ),
          { maxLength: 12 },
        ),
        async (chunks) => {
          const { s, backend } = session(async);
          for (const chunk of chunks) {
            const r = await exchange(s, chunk);
            wellFormed(r.bytes);
            if (r.startTls) s.tlsStarted();
          }
          s.closed();
          await until(() => !backend.isLocked("alice"), "the lock's release", 100);
        },
      ),
      { numRuns: 400 },
    );
  });
}
