/**
 * The selected folder deleted by another session: this one is told at its next command that
 * the folder is closed ([CLOSED], RFC 9051 §7.1) and goes on in the authenticated state, instead
 * of failing every command from then on.
 */
import assert from "node:assert/strict";
import { startLiveServer } from "../_helpers/live_server.ts";
import { LineSocket } from "../_helpers/smtp_socket.ts";
import { TEST_PASSWORD } from "../_helpers/session_peer.ts";

async function session(port: number) {
  const s = await LineSocket.connect(port);
  await s.readLine();
  const command = async (tag: string, line: string) => {
    await s.send(`${tag} ${line}\r\n`);
    const lines: string[] = [];
    for (;;) {
      const l = await s.readLine();
      if (l === undefined) throw new Error(`Closed after ${JSON.stringify(lines)}`);
      lines.push(l);
      if (l.startsWith(`${tag} `)) return lines;
    }
  };
  await command("l", `LOGIN alice@example.test ${TEST_PASSWORD}`);
  return { s, command };
}

Deno.test("IMAP: a selected folder deleted by another session is closed with [CLOSED]", async () => {
  const live = await startLiveServer({ allowInsecureAuth: true }, undefined, undefined, {
    imap: true,
  });
  try {
    const a = await session(live.imapPort);
    const b = await session(live.imapPort);
    assert.match((await a.command("a1", "CREATE Work")).at(-1)!, /^a1 OK/);
    assert.match((await a.command("a2", "SELECT Work")).at(-1)!, /^a2 OK/);
    assert.match((await b.command("b1", "DELETE Work")).at(-1)!, /^b1 OK/);
    const noop = await a.command("a3", "NOOP");
    assert.deepEqual(noop, ["* OK [CLOSED] Mailbox no longer exists", "a3 OK NOOP completed"]);
    assert.match((await a.command("a4", "FETCH 1 FLAGS")).at(-1)!, /^a4 BAD /);
    assert.match((await a.command("a5", "SELECT INBOX")).at(-1)!, /^a5 OK/);
    a.s.close();
    b.s.close();
  } finally {
    await live.close();
  }
});
