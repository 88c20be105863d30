/**
 * Two `mail serve` instances on loopback: A (a.test) routes example.org to B. A message
 * submitted with AUTH to A waits while B is down, arrives once B is up (with A's Received
 * header), and a recipient B refuses comes back to the sender as an RFC 3464 DSN.
 */
import assert from "node:assert/strict";
import PostalMime from "postal-mime";
import type { ServeProcess } from "../_helpers/mail_process.ts";
import {
  closedPort,
  dataWithUsers,
  headerText,
  queueJson,
  serveDomain,
  storedMessages,
  submit,
  waitFor,
} from "./_helpers.ts";

Deno.test("relay: B down, then up; a refused recipient bounces", async (t) => {
  const aDir = await dataWithUsers(["ann@a.test"]);
  const bDir = await dataWithUsers(["bob@example.org", "carol@example.org"]);
  const port = await closedPort();
  const a = await serveDomain(aDir, "a.test", ["--route", `example.org=127.0.0.1:${port}`]);
  let b: ServeProcess | undefined;
  try {
    await t.step("B down: the message waits in A's queue", async () => {
      await submit(a, "ann@a.test", ["bob@example.org"], "first");
      const [row] = await waitFor("a failed attempt", async () => {
        const q = await queueJson(aDir);
        return q.length === 1 && q[0]!.attempts >= 1 ? q : undefined;
      });
      assert.ok(row);
      assert.equal(row.sender, "ann@a.test");
      assert.equal(row.recipient, "bob@example.org");
      assert.match(row.last_reply ?? "", /refused|connect/i);
      assert.ok(Date.parse(row.next_attempt) > Date.parse(row.created_at));
      assert.match(a.log(), /mail\.queue: Deferred .*recipient=bob@example\.org/);
    });

    await t.step("B comes up: A retries and delivers with its Received header", async () => {
      b = await serveDomain(bDir, "example.org", [], `127.0.0.1:${port}`);
      const [msg] = await waitFor("delivery to B", async () => {
        const m = await storedMessages(bDir, "bob@example.org");
        return m.length > 0 ? m : undefined;
      });
      assert.ok(msg);
      const header = headerText(msg);
      // B's trace fields first (its checks' Authentication-Results among them), then A's own
      // Received (submission with AUTH), unchanged.
      assert.match(
        header,
        /^Return-Path: <ann@a\.test>\r\n(?:Authentication-Results: mx\.example\.org;(?:\r\n\t[^\r]*)*\r\n)?Received: from mx\.a\.test \(\[127\.0\.0\.1\]\)/,
      );
      assert.match(header, /\r\nReceived: from [^\r]*\r\n\tby mx\.a\.test with ESMTPA id /);
      assert.equal(header.match(/^Return-Path:/gim)?.length, 1);
      assert.match(header, /^Subject: first\r?$/m);
      await waitFor("A's queue to empty", async () => (await queueJson(aDir)).length === 0);
      assert.match(a.log(), /mail\.queue: Delivered .*recipient=bob@example\.org/);
      assert.equal((await storedMessages(bDir, "bob@example.org")).length, 1);
    });

    await t.step("550 for one of two recipients: a DSN names it", async () => {
      await submit(a, "ann@a.test", ["carol@example.org", "nobody@example.org"], "second");
      await waitFor(
        "delivery to carol",
        async () => (await storedMessages(bDir, "carol@example.org")).length === 1,
      );
      const [dsn] = await waitFor("the DSN", async () => {
        const m = await storedMessages(aDir, "ann@a.test");
        return m.length > 0 ? m : undefined;
      });
      assert.ok(dsn);
      await waitFor("A's queue to empty", async () => (await queueJson(aDir)).length === 0);
      const text = new TextDecoder().decode(dsn);
      assert.match(text, /^Return-Path: <>\r\n/);
      assert.match(text, /^Content-Type: multipart\/report; report-type=delivery-status;/m);
      const email = await PostalMime.parse(dsn);
      assert.equal(email.subject, "Undelivered Mail Returned to Sender");
      assert.match(
        email.text ?? "",
        /<nobody@example\.org>: RCPT TO:<nobody@example\.org>: 550 5\.1\.1/,
      );
      assert.doesNotMatch(email.text ?? "", /carol/);
      const status = email.attachments.find((x) => x.mimeType === "message/delivery-status");
      const headers = email.attachments.find((x) => x.mimeType === "text/rfc822-headers");
      assert.ok(status && headers, JSON.stringify(email.attachments.map((x) => x.mimeType)));
      const report = typeof status.content === "string"
        ? status.content
        : new TextDecoder().decode(status.content);
      assert.match(report, /^Reporting-MTA: dns; mx\.a\.test\r?$/m);
      assert.match(report, /^Final-Recipient: rfc822; nobody@example\.org\r?$/m);
      assert.match(report, /^Action: failed\r?$/m);
      assert.match(report, /^Status: 5\.1\.1\r?$/m);
      assert.match(report, /^Remote-MTA: dns; 127\.0\.0\.1\r?$/m);
      assert.match(report, /^Diagnostic-Code: smtp; 550 5\.1\.1 /m);
      const original = typeof headers.content === "string"
        ? headers.content
        : new TextDecoder().decode(headers.content);
      assert.match(original, /^Subject: second\r?$/m);
      assert.match(a.log(), /mail\.queue: Bounced .*recipient=nobody@example\.org/);
    });
  } finally {
    await a.stop();
    await b?.stop();
    await Deno.remove(aDir, { recursive: true });
    await Deno.remove(bDir, { recursive: true });
  }
});
