/** A recipient that stays unreachable: a delay warning, then a bounce when its lifetime ends. */
import assert from "node:assert/strict";
import PostalMime from "postal-mime";
import {
  closedPort,
  dataWithUsers,
  queueJson,
  serveDomain,
  storedMessages,
  submit,
  waitFor,
} from "./_helpers.ts";

const text = (c: string | ArrayBuffer | Uint8Array) =>
  typeof c === "string" ? c : new TextDecoder().decode(c);

Deno.test("expiry: delay warning, then a DSN; the queue empties", async () => {
  const dir = await dataWithUsers(["ann@a.test"]);
  const port = await closedPort();
  const a = await serveDomain(dir, "a.test", [
    "--route",
    `dead.test=127.0.0.1:${port}`,
    "--queue-lifetime",
    "4",
    "--delay-warning",
    "1",
  ]);
  try {
    await submit(a, "ann@a.test", ["x@dead.test"], "doomed");
    const seen = await waitFor("a queued row", async () => (await queueJson(dir))[0]);
    assert.equal(seen.recipient, "x@dead.test");
    const [warning, bounce] = await waitFor("two notices", async () => {
      const m = await storedMessages(dir, "ann@a.test");
      return m.length === 2 ? m : undefined;
    }, 30_000);
    assert.ok(warning && bounce);
    await waitFor("the queue to empty", async () => (await queueJson(dir)).length === 0);

    const w = await PostalMime.parse(warning);
    assert.equal(w.subject, "Delayed Mail (still being retried)");
    const wStatus = text(
      w.attachments.find((x) => x.mimeType === "message/delivery-status")!.content,
    );
    assert.match(wStatus, /^Action: delayed\r?$/m);
    assert.match(wStatus, /^Will-Retry-Until: /m);
    assert.match(wStatus, /^Diagnostic-Code: X-mail; Connect to 127\.0\.0\.1:\d+/m);

    const b = await PostalMime.parse(bounce);
    assert.equal(b.subject, "Undelivered Mail Returned to Sender");
    assert.match(b.text ?? "", /<x@dead\.test>: delivery time expired after \d+ attempts/);
    const bStatus = text(
      b.attachments.find((x) => x.mimeType === "message/delivery-status")!.content,
    );
    assert.match(bStatus, /^Final-Recipient: rfc822; x@dead\.test\r?$/m);
    assert.match(bStatus, /^Action: failed\r?$/m);
    assert.match(bStatus, /^Status: 4\.4\.7\r?$/m);
    const headers = text(b.attachments.find((x) => x.mimeType === "text/rfc822-headers")!.content);
    assert.match(headers, /^Subject: doomed\r?$/m);
    assert.match(a.log(), /mail\.queue: Expired .*recipient=x@dead\.test/);
  } finally {
    await a.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
