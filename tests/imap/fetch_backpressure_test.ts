/**
 * A FETCH of a whole folder goes out as it is made: the session writes a batch, waits until the
 * client has taken it, and holds no more than a batch meanwhile. A client that asks for every
 * message and reads nothing costs one batch of memory, not the folder.
 */
import assert from "node:assert/strict";
import { ImapSession } from "../../src/imap/session.ts";
import type { Output } from "../../src/imap/session_types.ts";
import { MemoryImapBackend } from "../_helpers/memory_imap.ts";
import { until } from "../_helpers/clock.ts";
import { concatBytes } from "../../src/bytes.ts";

Deno.test("FETCH 1:* BODY[] to a client that reads nothing holds one batch, then waits", async () => {
  const backend = new MemoryImapBackend();
  const body = "x".repeat(100 * 1024);
  for (let i = 0; i < 40; i++) {
    backend.deliver("alice", "INBOX", `Subject: ${i}\r\n\r\n${body}\r\n`);
  }
  let written = 0;
  let waits = 0;
  const blocked = Promise.withResolvers<void>();
  const session = new ImapSession(
    {
      hostname: "mx.test",
      startTls: false,
      tls: false,
      allowInsecureAuth: true,
      maxMessageSize: 1 << 24,
    },
    backend,
    "127.0.0.1",
    (out: Output) => void (written += out.write.reduce((n, c) => n + c.length, 0)),
    () => {},
    () => {
      waits++;
      return blocked.promise;
    },
  );
  const enc = (s: string) => new TextEncoder().encode(s);
  await session.receive(enc("a1 LOGIN alice pw\r\na2 SELECT INBOX\r\n"));
  let done = false;
  const fetch = Promise.resolve(session.receive(enc("a3 FETCH 1:* BODY.PEEK[]\r\n"))).then((o) => {
    done = true;
    return o;
  });
  await until(() => waits > 0, "the first batch");
  // One batch (256 KiB, plus the message that crossed it) went out; the other ~3.7 MiB wait.
  assert.ok(written < 512 * 1024, `written ${written}`);
  assert.ok(!done);
  blocked.resolve();
  const out = await fetch;
  const text = new TextDecoder().decode(concatBytes(out.write as Uint8Array[]));
  assert.match(text, /\r\na3 OK FETCH completed\r\n$/);
  assert.ok(written + out.write.reduce((n, c) => n + c.length, 0) > 40 * 100 * 1024);
});

Deno.test("pipelined commands keep their order when a later FETCH writes ahead", async () => {
  const backend = new MemoryImapBackend();
  backend.deliver("alice", "INBOX", `Subject: big\r\n\r\n${"y".repeat(400 * 1024)}\r\n`);
  const chunks: Uint8Array[] = [];
  const session = new ImapSession(
    {
      hostname: "mx.test",
      startTls: false,
      tls: false,
      allowInsecureAuth: true,
      maxMessageSize: 1 << 24,
    },
    backend,
    "127.0.0.1",
    (out: Output) => void chunks.push(...out.write),
  );
  const enc = (s: string) => new TextEncoder().encode(s);
  await session.receive(enc("a1 LOGIN alice pw\r\na2 SELECT INBOX\r\n"));
  // NOOP's answer is made first; the FETCH that follows in the same read writes a batch early.
  const out = await session.receive(enc("a3 NOOP\r\na4 FETCH 1 BODY.PEEK[]\r\n"));
  chunks.push(...out.write);
  const text = new TextDecoder().decode(concatBytes(chunks));
  assert.ok(text.indexOf("a3 OK") < text.indexOf("* 1 FETCH"), text.slice(0, 200));
  assert.match(text, /a4 OK FETCH completed\r\n$/);
});
