/**
 * A 250 survives kill -9: clients send concurrently, the server is killed with SIGKILL midway
 * and restarted; every acknowledged message is in its mailboxes exactly once, and nothing
 * partial was stored.
 */
import assert from "node:assert/strict";
import { openStore } from "../../src/store/mod.ts";
import { LineSocket } from "../_helpers/smtp_socket.ts";
import { startServe } from "../_helpers/mail_process.ts";

const CLIENTS = 8;
const KILL_AFTER = 60; // acknowledged messages before the kill
const LINES = 300; // ~20 KiB per message, so some are mid-DATA at the kill

function body(token: string): string {
  return `Subject: ${token}\r\nMessage-ID: <${token}@remote.test>\r\n\r\n` +
    `${token} line of the message body, long enough to matter.\r\n`.repeat(LINES);
}

Deno.test("durability: every 250 survives SIGKILL, exactly once, nothing partial", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mail-durable-" });
  const setup = openStore(dir);
  setup.addUser("alice@example.test", "x");
  setup.addUser("bob@example.test", "x");
  setup.close();

  const server = await startServe(dir);
  const acked = new Map<string, string[]>(); // token -> recipients
  let killed: Promise<void> | undefined;
  let seq = 0;

  async function client(n: number): Promise<void> {
    for (;;) {
      if (killed) return;
      let sock: LineSocket | undefined;
      try {
        sock = await LineSocket.connect(server.smtpPort);
        await sock.readReply();
        await sock.command("EHLO client.test");
        // Several messages per connection, some to two recipients.
        for (let m = 0; m < 3 && !killed; m++) {
          const token = `t${n}x${seq++}`;
          const rcpts = seq % 3 === 0
            ? ["alice@example.test", "bob@example.test"]
            : ["alice@example.test"];
          assert.match(await sock.command(`MAIL FROM:<c${n}@remote.test>`), /^250 /);
          for (const r of rcpts) assert.match(await sock.command(`RCPT TO:<${r}>`), /^250 /);
          assert.match(await sock.command("DATA"), /^354 /);
          const reply = await sock.command(body(token).replace(/\r\n$/, "") + "\r\n.");
          if (reply.startsWith("250 ")) {
            acked.set(token, rcpts);
            if (acked.size >= KILL_AFTER && !killed) killed = server.kill();
          }
        }
        await sock.command("QUIT");
      } catch {
        // Connection cut by the kill: expected.
        if (!killed) throw new Error(`client ${n} failed before the kill`);
        return;
      } finally {
        sock?.close();
      }
    }
  }

  await Promise.all(Array.from({ length: CLIENTS }, (_, n) => client(n)));
  await killed;

  // Restart on the same data: recovery must find every acknowledged message.
  const again = await startServe(dir);
  try {
    const store = openStore(dir);
    const found = new Map<string, string[]>();
    for (const mb of ["alice@example.test", "bob@example.test"]) {
      for (const e of store.list(mb, { limit: 100000 })) {
        const token = e.subject;
        found.set(token, [...(found.get(token) ?? []), mb]);
        const text = new TextDecoder().decode(store.read(mb, e.id)!);
        assert.ok(text.endsWith(body(token)), `message ${token} in ${mb} is incomplete`);
      }
    }
    store.close();
    assert.ok(acked.size >= KILL_AFTER);
    for (const [token, rcpts] of acked) {
      assert.deepEqual(found.get(token)?.sort(), [...rcpts].sort(), `acknowledged ${token}`);
    }
    // Anything else stored was in flight at the kill: complete (checked above), and once.
    for (const [token, mbs] of found) {
      assert.equal(new Set(mbs).size, mbs.length, `${token} stored twice`);
    }
  } finally {
    await again.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
