/**
 * POP3 transcripts played against the pure session: a dialogue written down once.
 *
 * Lines:
 * - `C: text` a client line; CRLF is appended. Consecutive C lines are sent in one buffer
 *   (pipelining, RFC 2449 §6.6).
 * - `R: "json string"` raw client bytes, nothing appended.
 * - `S: text` an expected server line; a trailing `*` makes it a prefix match.
 * - `CLOSED` the session asked to close the connection (after the lines before it).
 * - `TLS` the session asked for the TLS handshake; the test completes it (tlsStarted).
 * - `DROP` the connection drops (the driver calls `closed`).
 * - `# ...` and blank lines are comments.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Pop3Session } from "../../src/pop3/session.ts";
import type { Output } from "../../src/pop3/session_types.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Everything the session answers to BYTES, asking again while it has `more`. */
export async function exchange(
  session: Pop3Session,
  bytes: Uint8Array,
): Promise<{ bytes: Uint8Array; close: boolean; startTls: boolean }> {
  const chunks: Uint8Array[] = [];
  let out: Output = await session.receive(bytes);
  for (;;) {
    chunks.push(...out.write);
    if (!out.more || out.close || out.startTls) break;
    out = await session.receive(new Uint8Array(0));
  }
  let size = 0;
  for (const c of chunks) size += c.length;
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return { bytes: all, close: out.close === true, startTls: out.startTls === true };
}

/** Plays SCRIPT against SESSION (its greeting already taken or checked by the script). */
export async function play(session: Pop3Session, script: string): Promise<void> {
  const lines = script.split("\n").map((l) => l.trimStart()).filter((l) =>
    l !== "" && !l.startsWith("#")
  );
  let pending: Uint8Array[] = [];
  let received: string[] = [];
  let closed = false;
  let tls = false;
  const flush = async () => {
    if (pending.length === 0) return;
    const size = pending.reduce((n, p) => n + p.length, 0);
    const bytes = new Uint8Array(size);
    let at = 0;
    for (const p of pending) {
      bytes.set(p, at);
      at += p.length;
    }
    pending = [];
    const r = await exchange(session, bytes);
    const text = dec.decode(r.bytes);
    assert.ok(
      text === "" || text.endsWith("\r\n"),
      `Answer ends with CRLF: ${JSON.stringify(text)}`,
    );
    received.push(...(text === "" ? [] : text.slice(0, -2).split("\r\n")));
    closed ||= r.close;
    tls ||= r.startTls;
  };
  for (const [i, line] of lines.entries()) {
    const where = `line ${i + 1} (${line})`;
    if (line.startsWith("C: ") || line === "C:") {
      pending.push(enc.encode(line.slice(3) + "\r\n"));
    } else if (line.startsWith("R: ")) {
      pending.push(enc.encode(JSON.parse(line.slice(3)) as string));
    } else if (line.startsWith("S: ") || line === "S:") {
      await flush();
      const want = line.slice(3);
      const got = received.shift();
      assert.ok(got !== undefined, `${where}: no more server lines`);
      if (want.endsWith("*")) assert.ok(got.startsWith(want.slice(0, -1)), `${where}: got ${got}`);
      else assert.equal(got, want, where);
    } else if (line === "CLOSED") {
      await flush();
      assert.ok(closed, `${where}: the session did not close`);
    } else if (line === "TLS") {
      await flush();
      assert.ok(tls, `${where}: the session did not start TLS`);
      tls = false;
      session.tlsStarted();
    } else if (line === "DROP") {
      await flush();
      session.closed();
    } else throw new Error(`Bad transcript line: ${line}`);
  }
  await flush();
  assert.deepEqual(received, [], "Server lines not expected by the transcript");
  if (!lines.includes("CLOSED")) assert.ok(!closed, "The session closed unexpectedly");
  received = [];
}
