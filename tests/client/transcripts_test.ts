/**
 * Client transcripts: each file in transcripts/ is a scripted server and the exact lines the
 * client must send, plus the envelope, the message and the per-recipient results expected from
 * {@link deliver}. A transcript is a conversation a reader can check against the RFC line by
 * line, and a new case is a new file rather than new code. Extra lines:
 * - `ENVELOPE: sender recipient...` (JSON string escapes allowed),
 * - `MESSAGE: "json string"`, `OPTIONS: {json}` (tls, user, password),
 * - `RESULT: recipient status text` (a trailing `*` makes text a prefix),
 * - `TRACE: text` a line the `-v` trace must contain (`*` for a prefix).
 */
import assert from "node:assert/strict";
import { deliver, type DeliverOptions, type TlsMode } from "../../src/client/deliver.ts";
import type { TraceLine } from "../../src/client/smtp_client.ts";
import { startFakeServer, TEST_CERT } from "../_helpers/fake_smtp_server.ts";

const DIR = new URL("./transcripts/", import.meta.url);

interface Expectations {
  sender: string;
  recipients: string[];
  message: Uint8Array;
  options: { tls?: TlsMode; user?: string; password?: string };
  results: { recipient: string; status: string; text: string }[];
  traces: string[];
}

function expectations(text: string): Expectations {
  const e: Expectations = {
    sender: "",
    recipients: [],
    message: new Uint8Array(),
    options: {},
    results: [],
    traces: [],
  };
  for (const line of text.split("\n")) {
    const [tag, ...rest] = line.split(": ");
    const value = rest.join(": ");
    if (tag === "ENVELOPE") {
      const [sender = "", ...recipients] = (JSON.parse(`"${value}"`) as string).split(" ");
      e.sender = sender;
      e.recipients = recipients;
    } else if (tag === "MESSAGE") {
      e.message = new TextEncoder().encode(JSON.parse(value) as string);
    } else if (tag === "OPTIONS") e.options = JSON.parse(value);
    else if (tag === "RESULT") {
      const [recipient = "", status = "", ...words] = value.split(" ");
      e.results.push({ recipient, status, text: words.join(" ") });
    } else if (tag === "TRACE") e.traces.push(value);
  }
  return e;
}

const matches = (got: string, want: string) =>
  want.endsWith("*") ? got.startsWith(want.slice(0, -1)) : got === want;

for (const entry of [...Deno.readDirSync(DIR)].sort((a, b) => a.name.localeCompare(b.name))) {
  if (!entry.name.endsWith(".txt")) continue;
  Deno.test(`client transcript ${entry.name}`, async () => {
    const text = await Deno.readTextFile(new URL(entry.name, DIR));
    const e = expectations(text);
    const server = await startFakeServer(text);
    const trace: TraceLine[] = [];
    try {
      const options: DeliverOptions = {
        helo: "client.test",
        tls: e.options.tls ?? "none",
        ca: [await Deno.readTextFile(TEST_CERT)],
        credentials: e.options.user
          ? { user: e.options.user, password: e.options.password ?? "" }
          : undefined,
        trace: (l) => trace.push(l),
      };
      const results = await deliver(
        { sender: e.sender, recipients: e.recipients },
        e.message,
        [{ host: "127.0.0.1", port: server.port }],
        options,
      );
      await server.close();
      assert.deepEqual(server.problems, [], "the client sent what the transcript says");
      assert.equal(results.length, e.results.length);
      results.forEach((r, i) => {
        const want = e.results[i]!;
        assert.equal(r.recipient, want.recipient);
        assert.equal(r.status, want.status, r.text);
        assert.ok(matches(r.text, want.text), `${r.text} !~ ${want.text}`);
      });
      const lines = trace.map((l) => `${l.direction} ${l.text}`);
      for (const t of e.traces) {
        assert.ok(lines.some((l) => matches(l, t)), `trace has ${t}:\n${lines.join("\n")}`);
      }
      // Secrets never appear in the trace.
      if (e.options.password) {
        const secret = btoa(e.options.password);
        assert.ok(!lines.some((l) => l.includes(secret)), "password redacted");
      }
    } finally {
      await server.close();
    }
  });
}
