/** Throughput of the protocol module's hot paths: framing, dot codec, parsers, a session. */
import { LocalBackend } from "../src/server/local_backend.ts";
import { parsePath } from "../src/smtp/address.ts";
import { parseMail } from "../src/smtp/command.ts";
import { DataReader, dotStuff } from "../src/smtp/data_reader.ts";
import { LineReader } from "../src/smtp/line_reader.ts";
import { formatReply, reply } from "../src/smtp/reply.ts";
import { SmtpSession } from "../src/smtp/session.ts";
import { MemorySink } from "../tests/_helpers/memory_sink.ts";

const enc = new TextEncoder();

const PIPELINED = enc.encode(
  [
    "EHLO client.example.test",
    "MAIL FROM:<sender@remote.example.test> SIZE=4096 BODY=8BITMIME",
    "RCPT TO:<alice@example.test>",
    "RCPT TO:<bob@example.test>",
    "RCPT TO:<carol@example.test>",
    "RCPT TO:<dave@example.test>",
    "DATA",
    "RSET",
    "NOOP",
    "QUIT",
  ].map((l) => `${l}\r\n`).join(""),
);

/** A message of `size` octets in 76-octet lines, one in ten starting with a dot. */
function message(size: number): Uint8Array {
  let s = "Subject: bench\r\n\r\n";
  let i = 0;
  while (s.length < size) {
    s += `${i++ % 10 === 0 ? "." : "x"}${"y".repeat(73)}\r\n`;
  }
  return enc.encode(s);
}

const MSG_4K = dotStuff(message(4096));
const RAW_1M = message(1 << 20);
const MSG_1M = dotStuff(RAW_1M);

Deno.bench("LineReader: 10 pipelined commands", { group: "framing" }, () => {
  const r = new LineReader();
  let offset = 0;
  for (;;) {
    const next = r.next(PIPELINED, offset);
    if (!next) break;
    offset = next[1];
  }
});

function readAll(wire: Uint8Array, chunk: number): void {
  const r = new DataReader(2 << 20);
  for (let o = 0; o < wire.length; o += chunk) {
    if (r.push(wire.subarray(o, Math.min(wire.length, o + chunk))).done) return;
  }
  throw new Error("no terminator");
}

Deno.bench("DataReader: 4 KiB message", { group: "framing" }, () => readAll(MSG_4K, 65536));
Deno.bench("DataReader: 1 MiB message, 64 KiB reads", { group: "framing" }, () => {
  readAll(MSG_1M, 65536);
});
Deno.bench("dotStuff: 1 MiB", { group: "framing" }, () => {
  dotStuff(RAW_1M);
});

Deno.bench("parseMail", { group: "parsers" }, () => {
  parseMail("FROM:<sender@remote.example.test> SIZE=4096 BODY=8BITMIME", true, 10 << 20);
});
Deno.bench("parsePath: quoted local part and source route", { group: "parsers" }, () => {
  parsePath('<@relay.test:"first last"@example.test>', false, false);
});
const EHLO_REPLY = reply(250, undefined, "mx.test Hello\nPIPELINING\nSIZE 10000\n8BITMIME\nHELP");
Deno.bench("formatReply: 5-line EHLO reply", { group: "parsers" }, () => {
  formatReply(EHLO_REPLY, true);
});

const TRANSACTION = [
  "EHLO client.test",
  "MAIL FROM:<sender@remote.test>",
  "RCPT TO:<alice@example.test>",
  "DATA",
].map((l) => enc.encode(`${l}\r\n`));
const QUIT = enc.encode("QUIT\r\n");

Deno.bench("SmtpSession: EHLO..QUIT with a 4 KiB message", { group: "session" }, async () => {
  const sink = new MemorySink(["alice@example.test"]);
  const backend = new LocalBackend(sink, { domains: ["example.test"], catchAll: false });
  const session = new SmtpSession(
    { hostname: "mx.test", maxMessageSize: 1 << 20, maxRecipients: 100 },
    backend,
    { address: "127.0.0.1", port: 40000 },
  );
  session.greeting();
  for (const line of TRANSACTION) await session.receive(line);
  await session.receive(MSG_4K);
  const out = await session.receive(QUIT);
  if (!out.close || sink.delivered.length !== 1) throw new Error("transaction failed");
});
