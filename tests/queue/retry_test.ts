/**
 * Temporary failures are retried: a server that answers 450 and then 250, and `mail queue`
 * (the table, `retry`, `delete`) against a running server.
 */
import assert from "node:assert/strict";
import { mail } from "../_helpers/mail_process.ts";
import { startScriptedMta } from "../_helpers/scripted_mta.ts";
import { closedPort, dataWithUsers, queueJson, serveDomain, submit, waitFor } from "./_helpers.ts";

Deno.test("relay: 450 then 250", async () => {
  const mta = await startScriptedMta({
    rcpt: (_rcpt, connection) =>
      connection === 0 ? "450 4.2.1 Mailbox busy, try later" : "250 2.1.5 ok",
  });
  const dir = await dataWithUsers(["ann@a.test"]);
  const a = await serveDomain(dir, "a.test", ["--route", `example.org=127.0.0.1:${mta.port}`]);
  try {
    await submit(a, "ann@a.test", ["bob@example.org"], "busy");
    // The deferred row may live for less time than one `mail queue` takes on a busy machine, so
    // the 450 is read from the log (the queue's own record of it is tested below).
    await waitFor("the retry", () => mta.accepted.length === 1);
    await waitFor("A's queue to empty", async () => (await queueJson(dir)).length === 0);
    const [got] = mta.accepted;
    assert.ok(got);
    assert.equal(got.connection, 1);
    assert.equal(got.sender, "ann@a.test");
    assert.deepEqual(got.recipients, ["bob@example.org"]);
    // Relayed as received: A's Received first, no Return-Path (the final hop adds it).
    assert.match(got.data, /^Received: from [^\r]*\r\n\tby mx\.a\.test with ESMTPA id /);
    assert.doesNotMatch(got.data, /^Return-Path:/im);
    assert.match(a.log(), /Deferred .*reply="RCPT TO:<bob@example\.org>: 450 4\.2\.1/);
    assert.match(a.log(), /Delivered .*recipient=bob@example\.org/);
  } finally {
    await a.stop();
    await mta.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mail queue: list, retry, delete against a running server", async () => {
  const dir = await dataWithUsers(["ann@a.test"]);
  const port = await closedPort();
  // A long backoff: only `mail queue retry` brings a second attempt.
  const a = await serveDomain(dir, "a.test", [
    "--route",
    `example.org=127.0.0.1:${port}`,
    "--queue-max-backoff",
    "3600",
    "--queue-min-backoff",
    "3600",
  ]);
  try {
    await submit(a, "ann@a.test", ["bob@example.org", "carl@example.org"], "queued");
    const rows = await waitFor("the first attempt", async () => {
      const q = await queueJson(dir);
      return q.length === 2 && q.every((r) => r.attempts === 1) ? q : undefined;
    });
    const [bob, carl] = [...rows].sort((x, y) => x.recipient.localeCompare(y.recipient));
    assert.ok(bob && carl);
    assert.ok(Date.parse(bob.next_attempt) - Date.now() > 60_000);
    assert.equal(bob.message_id, carl.message_id);

    const table = await mail(["queue", "--data", dir]);
    assert.equal(table.code, 0, table.err);
    const lines = table.out.trimEnd().split("\n");
    assert.match(lines[0]!, /^ID\s+NEXT ATTEMPT\s+TRIES\s+SENDER\s+RECIPIENT\s+LAST REPLY$/);
    assert.equal(lines.length, 3);
    assert.match(
      table.out,
      new RegExp(
        `^${bob.id}\\s+\\S+ \\S+\\s+1\\s+ann@a\\.test\\s+bob@example\\.org\\s+Connect`,
        "m",
      ),
    );
    assert.match(table.err, /2 recipient\(s\) queued/);

    const one = await mail(["queue", "retry", String(bob.id), "--data", dir]);
    assert.equal(one.code, 0, one.err);
    await waitFor("the retried attempt", async () => {
      const q = await queueJson(dir);
      return q.find((r) => r.id === bob.id)?.attempts === 2;
    });
    assert.equal((await queueJson(dir)).find((r) => r.id === carl.id)?.attempts, 1);

    const all = await mail(["queue", "retry", "--data", dir]);
    assert.equal(all.code, 0, all.err);
    await waitFor("both retried", async () => {
      const q = await queueJson(dir);
      return q.find((r) => r.id === bob.id)?.attempts === 3 &&
        q.find((r) => r.id === carl.id)?.attempts === 2;
    });

    const del = await mail(["queue", "delete", String(bob.id), "--data", dir]);
    assert.equal(del.code, 0, del.err);
    assert.deepEqual((await queueJson(dir)).map((r) => r.id), [carl.id]);
    assert.equal((await mail(["queue", "delete", String(bob.id), "--data", dir])).code, 66);
    assert.equal((await mail(["queue", "retry", "999999", "--data", dir])).code, 66);
    assert.equal((await mail(["queue", "delete", "abc", "--data", dir])).code, 64);
    assert.equal((await mail(["queue", "delete", String(carl.id), "--data", dir])).code, 0);
    assert.deepEqual(await queueJson(dir), []);
    const empty = await mail(["queue", "--data", dir]);
    assert.equal(empty.out, "");
    assert.match(empty.err, /Queue is empty/);
    // Deleted, not bounced.
    assert.equal((await mail(["inbox", "ann@a.test", "--json", "--data", dir])).out.trim(), "[]");
  } finally {
    await a.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
