/**
 * Opportunistic TLS without verification (the queue's MX delivery): a server that offers
 * STARTTLS and then refuses it still gets the mail, in plaintext, on a second connection. With
 * verification, a TLS failure stays a failure.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { deliver, type DeliverOptions } from "../../src/client/deliver.ts";

/** A server that offers STARTTLS, refuses it with 454, and accepts mail in plaintext. */
async function brokenTlsServer(): Promise<
  { port: number; connections: () => number; close: () => Promise<void> }
> {
  let connections = 0;
  const server = net.createServer((sock) => {
    connections++;
    sock.write("220 broken.test ESMTP\r\n");
    let buf = "";
    let data = false;
    sock.on("data", (d) => {
      buf += d.toString("latin1");
      for (;;) {
        if (data) {
          const end = buf.indexOf("\r\n.\r\n");
          if (end < 0) return;
          buf = buf.slice(end + 5);
          data = false;
          sock.write("250 2.0.0 stored\r\n");
          continue;
        }
        const i = buf.indexOf("\r\n");
        if (i < 0) return;
        const verb = buf.slice(0, i).split(" ")[0]!.toUpperCase();
        buf = buf.slice(i + 2);
        if (verb === "EHLO") sock.write("250-broken.test\r\n250 STARTTLS\r\n");
        else if (verb === "STARTTLS") {
          sock.write("454 4.7.0 TLS not available due to local problem\r\n");
        } else if (verb === "DATA") {
          data = true;
          buf = "\r\n" + buf;
          sock.write("354 go ahead\r\n");
        } else if (verb === "QUIT") sock.end("221 bye\r\n");
        else sock.write("250 2.0.0 ok\r\n");
      }
    });
    sock.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    connections: () => connections,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const MESSAGE = new TextEncoder().encode("Subject: x\r\n\r\nx\r\n");
const ENVELOPE = { sender: "a@client.test", recipients: ["b@broken.test"] };

async function attempt(options: Partial<DeliverOptions>) {
  const server = await brokenTlsServer();
  try {
    const results = await deliver(ENVELOPE, MESSAGE, [{ host: "127.0.0.1", port: server.port }], {
      helo: "client.test",
      tls: "auto",
      ...options,
    });
    return { results, connections: server.connections() };
  } finally {
    await server.close();
  }
}

Deno.test("opportunistic TLS: STARTTLS refused, the mail goes in plaintext on a new connection", async () => {
  const { results, connections } = await attempt({ insecure: true });
  assert.equal(results[0]?.status, "sent", results[0]?.text);
  assert.equal(connections, 2);
});

Deno.test("verified TLS: STARTTLS refused stays a failure (no silent downgrade)", async () => {
  const { results, connections } = await attempt({});
  assert.notEqual(results[0]?.status, "sent");
  assert.match(results[0]!.text, /^STARTTLS: 454 4\.7\.0 /);
  assert.equal(connections, 1);
});
