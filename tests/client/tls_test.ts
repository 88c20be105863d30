/** Certificate verification on STARTTLS and the password policy, against a scripted server. */
import assert from "node:assert/strict";
import { deliver, type DeliverOptions, isLoopback } from "../../src/client/deliver.ts";
import { startFakeServer, TEST_CERT } from "../_helpers/fake_smtp_server.ts";

const MESSAGE = new TextEncoder().encode("Subject: x\r\n\r\nx\r\n");
const ENVELOPE = { sender: "a@client.test", recipients: ["b@example.test"] };
const STARTTLS = `
S: 220 fake.test ESMTP
C: EHLO client.test
S: 250-fake.test
S: 250 STARTTLS
C: STARTTLS
S: 220 Ready
TLS
C: EHLO client.test
S: 250 fake.test
C: QUIT
S: 221 bye
`;

async function attempt(script: string, options: Partial<DeliverOptions>, host = "127.0.0.1") {
  const server = await startFakeServer(script);
  try {
    return await deliver(ENVELOPE, MESSAGE, [{ host, address: "127.0.0.1", port: server.port }], {
      helo: "client.test",
      tls: "auto",
      ...options,
    });
  } finally {
    await server.close();
  }
}

Deno.test("STARTTLS: a self-signed certificate is refused unless trusted or --insecure", async () => {
  let [r] = await attempt(STARTTLS, {});
  assert.equal(r?.status, "refused");
  assert.equal(r?.failure, "tls");
  assert.match(r!.text, /^STARTTLS: TLS handshake failed: .*self-signed/);

  // Trusted with --ca, but the name must match: the certificate is for localhost/127.0.0.1.
  [r] = await attempt(STARTTLS, { ca: [await Deno.readTextFile(TEST_CERT)] }, "mx.other.test");
  assert.equal(r?.failure, "tls");
  assert.match(r!.text, /altnames|does not match/i);

  // --insecure accepts it: the handshake succeeds and the session goes on over TLS (to a
  // script that hangs up after EHLO, so the recipient is deferred, but not for TLS reasons).
  [r] = await attempt(STARTTLS, { insecure: true });
  assert.equal(r?.status, "deferred", r?.text);
  assert.equal(r?.failure, "closed", r?.text);
});

Deno.test("AUTH: plaintext only to loopback addresses", async () => {
  assert.equal(isLoopback({ host: "smtp.example.test", address: "192.0.2.1", port: 25 }), false);
  assert.equal(isLoopback({ host: "smtp.example.test", port: 25 }), false);
  assert.equal(isLoopback({ host: "localhost", port: 25 }), true);
  assert.equal(isLoopback({ host: "x", address: "127.0.0.2", port: 25 }), true);
  assert.equal(isLoopback({ host: "x", address: "::1", port: 25 }), true);
  assert.equal(isLoopback({ host: "x", address: "::ffff:127.0.0.1", port: 25 }), true);
  // What counts is the address connected to, not the name: this one may log in in the clear.
  const server = await startFakeServer(`
S: 220 fake.test ESMTP
C: EHLO client.test
S: 250-fake.test
S: 250 AUTH PLAIN
C: AUTH PLAIN ${btoa("\0a\0b")}
S: 235 OK
C: MAIL FROM:<a@client.test>
S: 250 OK
C: RCPT TO:<b@example.test>
S: 550 no
C: RSET
S: 250 OK
C: QUIT
S: 221 bye
`);
  try {
    const [r] = await deliver(
      ENVELOPE,
      MESSAGE,
      [{ host: "smtp.example.test", address: "127.0.0.1", port: server.port }],
      { helo: "client.test", tls: "auto", credentials: { user: "a", password: "b" } },
    );
    assert.deepEqual(server.problems, []);
    assert.equal(r?.text, "RCPT TO:<b@example.test>: 550 no");
  } finally {
    await server.close();
  }
});
