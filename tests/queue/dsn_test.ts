import assert from "node:assert/strict";
import PostalMime from "postal-mime";
import { composeDsn, dsnAddress, dsnStatus } from "../../src/queue/dsn.ts";

const original = new TextEncoder().encode(
  "Received: from a by b; Sat, 28 Nov 2026 12:00:00 +0000\r\nFrom: Ann <ann@a.test>\r\n" +
    "Subject: Hello\r\nMessage-ID: <1@a.test>\r\n\r\n",
);

const text = (c: string | ArrayBuffer | Uint8Array) =>
  typeof c === "string" ? c : new TextDecoder().decode(c);

Deno.test("a bounce is an RFC 3464 multipart/report that parses back", async () => {
  const bytes = composeDsn({
    kind: "failure",
    reportingMta: "mx.a.test",
    to: "ann@a.test",
    queueId: "QID1",
    arrivalDate: new Date("2026-11-28T12:00:00Z"),
    date: new Date("2026-11-28T12:05:00Z"),
    messageId: "DSN1@mx.a.test",
    boundary: "BOUNDARY",
    originalHeaders: original,
    recipients: [
      {
        recipient: "bob@example.org",
        action: "failed",
        status: "5.1.1",
        reply: "550 5.1.1 No such user",
        text: "RCPT TO:<bob@example.org>: 550 5.1.1 No such user",
        remoteMta: "mx.example.org",
        lastAttempt: new Date("2026-11-28T12:05:00Z"),
      },
      {
        recipient: "carl@down.test",
        action: "failed",
        status: "4.4.7",
        text: "Connect to 127.0.0.1:9: connection refused",
      },
    ],
  });
  const raw = new TextDecoder().decode(bytes);
  // CRLF everywhere, no bare LF.
  assert.doesNotMatch(raw, /[^\r]\n/);
  assert.match(
    raw,
    /^Content-Type: multipart\/report; report-type=delivery-status;\r\n\tboundary="BOUNDARY"\r$/m,
  );
  assert.match(raw, /^Auto-Submitted: auto-replied\r$/m);
  assert.match(raw, /\r\n--BOUNDARY--\r\n$/);

  const email = await PostalMime.parse(bytes);
  assert.equal(email.subject, "Undelivered Mail Returned to Sender");
  assert.equal(email.from?.address, "MAILER-DAEMON@mx.a.test");
  assert.equal(email.to?.[0]?.address, "ann@a.test");
  assert.equal(email.messageId, "<DSN1@mx.a.test>");
  assert.match(email.text ?? "", /<bob@example\.org>: RCPT TO:<bob@example\.org>: 550 5\.1\.1/);
  assert.match(email.text ?? "", /<carl@down\.test>: Connect to 127\.0\.0\.1:9/);
  assert.deepEqual(email.attachments.map((a) => a.mimeType), [
    "message/delivery-status",
    "text/rfc822-headers",
  ]);
  const status = text(email.attachments[0]!.content).replace(/\r\n/g, "\n");
  const [perMessage, bob, carl] = status.trim().split("\n\n");
  assert.equal(
    perMessage,
    "Reporting-MTA: dns; mx.a.test\nX-Mail-Queue-ID: QID1\n" +
      "Arrival-Date: Sat, 28 Nov 2026 12:00:00 +0000",
  );
  assert.equal(
    bob,
    "Final-Recipient: rfc822; bob@example.org\nAction: failed\nStatus: 5.1.1\n" +
      "Remote-MTA: dns; mx.example.org\nDiagnostic-Code: smtp; 550 5.1.1 No such user\n" +
      "Last-Attempt-Date: Sat, 28 Nov 2026 12:05:00 +0000",
  );
  assert.equal(
    carl,
    "Final-Recipient: rfc822; carl@down.test\nAction: failed\nStatus: 4.4.7\n" +
      "Diagnostic-Code: X-mail; Connect to 127.0.0.1:9: connection refused",
  );
  const headers = text(email.attachments[1]!.content);
  assert.match(headers, /^Subject: Hello\r?$/m);
  assert.match(headers, /^Message-ID: <1@a\.test>\r?$/m);
});

Deno.test("a delay warning says when the queue gives up", async () => {
  const email = await PostalMime.parse(composeDsn({
    kind: "delay",
    reportingMta: "mx.a.test",
    to: "ann@a.test",
    queueId: "Q",
    arrivalDate: new Date(0),
    date: new Date(0),
    messageId: "D@mx.a.test",
    originalHeaders: original,
    recipients: [{
      recipient: "bob@example.org",
      action: "delayed",
      status: "4.2.1",
      reply: "450 4.2.1 busy",
      text: "RCPT TO:<bob@example.org>: 450 4.2.1 busy",
      willRetryUntil: new Date("2026-12-03T12:00:00Z"),
    }],
  }));
  assert.equal(email.subject, "Delayed Mail (still being retried)");
  assert.match(email.text ?? "", /keeps trying until Thu, 3 Dec 2026 12:00:00 \+0000/);
  const status = text(email.attachments[0]!.content);
  assert.match(status, /^Action: delayed\r?$/m);
  assert.match(status, /^Will-Retry-Until: Thu, 3 Dec 2026 12:00:00 \+0000\r?$/m);
});

Deno.test("status codes and address types", () => {
  assert.equal(dsnStatus({ code: 550, enhanced: "5.1.1" }, "5.0.0"), "5.1.1");
  assert.equal(dsnStatus({ code: 550, enhanced: "4.1.1" }, "5.0.0"), "5.0.0");
  assert.equal(dsnStatus({ code: 451 }, "5.0.0"), "4.0.0");
  assert.equal(dsnStatus(undefined, "4.4.1"), "4.4.1");
  assert.equal(dsnAddress("a@b.test"), "rfc822; a@b.test");
  assert.equal(dsnAddress("jürgen@b.test"), "utf-8; j\\x{FC}rgen@b.test");
});
