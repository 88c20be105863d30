/** `--log-format json`: one JSON document per line, with the structured fields. */
import assert from "node:assert/strict";
import { openStore } from "../../src/store/mod.ts";
import { startServe, TEST_SERVE_FLAGS } from "../_helpers/mail_process.ts";
import { LineSocket } from "../_helpers/smtp_socket.ts";

Deno.test("mail serve --log-format json: readiness, connection and transaction lines", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mail-log-" });
  const store = openStore(dir);
  store.addUser("alice@example.test", "x");
  store.close();
  const server = await startServe(dir, [...TEST_SERVE_FLAGS, "--log-format", "json", "--no-tls"]);
  try {
    const s = await LineSocket.connect(server.smtpPort);
    await s.readReply();
    await s.command("EHLO json.test");
    await s.command("MAIL FROM:<a@remote.test>");
    await s.command("RCPT TO:<nobody@example.test>");
    await s.command("RCPT TO:<alice@example.test>");
    await s.command("DATA");
    await s.command("Subject: json\r\n\r\nhi\r\n.");
    await s.command("QUIT");
    s.close();
    await server.waitForLog('"Disconnected"');
  } finally {
    await server.stop();
  }
  const records = server.log().trim().split("\n").map((l) => JSON.parse(l));
  const find = (message: string) => records.find((r) => r.message === message);
  assert.ok(find("Listening")?.properties.smtp.startsWith("127.0.0.1:"));
  const accepted = find("Accepted");
  assert.equal(accepted?.level, "INFO");
  assert.deepEqual(accepted?.properties.recipients, ["alice@example.test"]);
  assert.equal(accepted?.properties.sender, "a@remote.test");
  assert.equal(accepted?.properties.client, "127.0.0.1");
  assert.ok(accepted?.properties.size > 0);
  const refused = find("Refused");
  assert.equal(refused?.properties.recipient, "nobody@example.test");
  assert.match(refused?.properties.reply, /^550 5\.1\.1 /);
  assert.equal(find("Disconnected")?.properties.messages, 1);
  await Deno.remove(dir, { recursive: true });
});
