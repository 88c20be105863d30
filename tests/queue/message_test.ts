import assert from "node:assert/strict";
import { forRelay, headerBlock } from "../../src/queue/message.ts";
import { LocalBackend } from "../../src/server/local_backend.ts";
import { SmtpError } from "../../src/smtp/reply.ts";
import type { Delivery } from "../../src/smtp/session.ts";
import { MAX_RECEIVED } from "../../src/smtp/trace.ts";
import { MemorySink } from "../_helpers/memory_sink.ts";

const enc = new TextEncoder();
const received = (n: number) =>
  "Received: from x by y; Sat, 28 Nov 2026 12:00:00 +0000\r\n".repeat(n);

Deno.test("the relayed form drops only our leading Return-Path", () => {
  const m = enc.encode("Return-Path: <a@b>\r\nReceived: x\r\n\r\nReturn-Path: <c@d>\r\n");
  assert.equal(new TextDecoder().decode(forRelay(m)), "Received: x\r\n\r\nReturn-Path: <c@d>\r\n");
  const plain = enc.encode("Subject: x\r\n\r\nbody");
  assert.equal(forRelay(plain), plain);
  assert.equal(new TextDecoder().decode(headerBlock(plain)), "Subject: x\r\n\r\n");
});

Deno.test("the backend refuses a looping message at DATA time with 554 5.4.6", () => {
  const sink = new MemorySink(["a@example.test"]);
  const backend = new LocalBackend(sink, { domains: ["example.test"], catchAll: false });
  const chunks = [enc.encode(received(MAX_RECEIVED + 1) + "\r\nbody\r\n")];
  const delivery: Delivery = {
    id: "Q1",
    sender: "s@x.test",
    recipients: ["a@example.test"],
    params: { size: undefined, body: undefined, smtputf8: false },
    chunks,
    size: chunks[0]!.length,
    receivedAt: new Date(),
  };
  assert.throws(
    () => backend.deliver(delivery),
    (e) => e instanceof SmtpError && e.code === 554 && e.enhanced === "5.4.6",
  );
  assert.equal(sink.delivered.length, 0);
});

Deno.test("only an authenticated submission client may relay; relayed recipients are queued", async () => {
  const sink = new MemorySink(["a@example.test"]);
  let queued = 0;
  const backend = new LocalBackend(
    sink,
    { domains: ["example.test"], catchAll: false },
    undefined,
    () => queued++,
  );
  const rcpt = { local: "bob", domain: "remote.test", utf8: false };
  const client = { address: "127.0.0.1", port: 1 };
  const ctx = { client, helo: "h", tls: true };
  for (
    const c of [
      { ...ctx, role: "mx" as const, authUser: undefined },
      { ...ctx, role: "mx" as const, authUser: "a@example.test" },
      { ...ctx, role: "submission" as const, authUser: undefined },
    ]
  ) {
    assert.throws(
      () => backend.recipient(rcpt, c),
      (e) => e instanceof SmtpError && e.code === 550 && e.enhanced === "5.7.1",
    );
  }
  const sub = { ...ctx, role: "submission" as const, authUser: "a@example.test" };
  assert.equal(backend.recipient(rcpt, sub), "bob@remote.test");
  const chunks = [enc.encode("Subject: x\r\n\r\nbody\r\n")];
  await backend.deliver({
    id: "Q2",
    sender: "a@example.test",
    recipients: ["a@example.test", "bob@remote.test"],
    params: { size: undefined, body: undefined, smtputf8: false },
    chunks,
    size: chunks[0]!.length,
    receivedAt: new Date(),
  });
  assert.deepEqual(sink.delivered[0]?.recipients, ["a@example.test"]);
  assert.deepEqual(sink.delivered[0]?.relay, ["bob@remote.test"]);
  assert.equal(queued, 1);
});

Deno.test("a relayed recipient keeps its local part as given; its domain is lower-cased", () => {
  const backend = new LocalBackend(new MemorySink([]), {
    domains: ["example.test"],
    catchAll: false,
  });
  const ctx = {
    client: { address: "127.0.0.1", port: 1 },
    helo: "h",
    tls: true,
    role: "submission" as const,
    authUser: "a@example.test",
  };
  assert.equal(
    backend.recipient({ local: "Bob.Smith", domain: "Remote.TEST", utf8: false }, ctx),
    "Bob.Smith@remote.test",
  );
});
