/**
 * SIGTERM/SIGINT: stop accepting, let the transaction in flight finish, close idle sessions
 * with 421, exit 0. A second signal exits at once.
 */
import assert from "node:assert/strict";
import { openStore } from "../../src/store/mod.ts";
import { startServe } from "../_helpers/mail_process.ts";
import { LineSocket } from "../_helpers/smtp_socket.ts";

async function openTransaction(port: number): Promise<LineSocket> {
  const s = await LineSocket.connect(port);
  await s.readReply();
  await s.command("EHLO client.test");
  assert.match(await s.command("MAIL FROM:<a@remote.test>"), /^250 /);
  assert.match(await s.command("RCPT TO:<alice@example.test>"), /^250 /);
  assert.match(await s.command("DATA"), /^354 /);
  await s.send("Subject: in flight\r\n\r\nfirst half\r\n");
  return s;
}

async function setup(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "mail-shutdown-" });
  const store = openStore(dir);
  store.addUser("alice@example.test", "x");
  store.close();
  return dir;
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`${signal}: the transaction in flight finishes, idle sessions get 421, exit 0`, async () => {
    const dir = await setup();
    const server = await startServe(dir);
    try {
      const busy = await openTransaction(server.smtpPort);
      const idle = await LineSocket.connect(server.smtpPort);
      await idle.readReply();
      await idle.command("EHLO idle.test");

      const exited = server.stop(signal);
      await server.waitForLog("Shutting down");
      assert.equal(await idle.readLine(), "421 4.3.2 mx.test Service shutting down");
      assert.equal(await idle.readLine(), undefined);

      await busy.send("second half\r\n.\r\n");
      assert.match((await busy.readLine()) ?? "", /^250 2\.0\.0 OK: queued as /);
      assert.equal(await busy.readLine(), "421 4.3.2 mx.test Service shutting down");
      assert.equal(await exited, 0);
      busy.close();
      idle.close();

      const store = openStore(dir);
      const [entry] = store.list("alice@example.test");
      assert.equal(entry?.subject, "in flight");
      store.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("a second signal exits at once, and the store stays consistent", async () => {
  const dir = await setup();
  const server = await startServe(dir);
  try {
    const busy = await openTransaction(server.smtpPort);
    const exited = server.stop("SIGTERM");
    await server.waitForLog("Shutting down");
    await server.stop("SIGTERM");
    assert.equal(await exited, 0);
    assert.match(server.log(), /Second signal/);
    busy.close();
    const store = openStore(dir);
    assert.deepEqual(store.list("alice@example.test"), []);
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
