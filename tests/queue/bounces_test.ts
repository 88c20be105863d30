/** Settling a transaction's results, and the bounce of a pass, against a recording store. */
import assert from "node:assert/strict";
import type { RecipientResult } from "../../src/client/deliver.ts";
import { bouncePass, newPass, notice, type NoticeOptions } from "../../src/queue/bounces.ts";
import { settleResults } from "../../src/queue/settle.ts";
import type { QueueEntry, QueueSettlement } from "../../src/store/mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);
const ORIGINAL = enc.encode(
  "Return-Path: <ann@a.test>\r\nReceived: from x by y; date\r\nSubject: hello\r\n\r\nbody\r\n",
);
const OPTIONS: NoticeOptions = { hostname: "mx.a.test", localDomains: new Set(["a.test"]) };

function row(id: number, recipient: string, extra: Partial<QueueEntry> = {}): QueueEntry {
  return {
    id,
    messageRowId: 1,
    messageId: "QID1",
    sender: "ann@a.test",
    recipient,
    domain: recipient.slice(recipient.indexOf("@") + 1),
    attempts: 0,
    nextAttempt: T0,
    lastReply: undefined,
    createdAt: T0,
    warned: false,
    receivedAt: T0,
    ...extra,
  };
}

/** A store that records settlements, or refuses them. */
function recorder(fail = false) {
  const settled: QueueSettlement[] = [];
  return {
    settled,
    settle(s: QueueSettlement) {
      if (fail) throw new Error("database is locked");
      settled.push(s);
    },
  };
}

const reply = (code: number, enhanced: string, text: string) => ({
  code,
  enhanced,
  lines: [text],
});

Deno.test("notice: to a local sender it is stored, to a remote one queued; from <>, with the original's headers", () => {
  const local = notice(OPTIONS, "failure", row(1, "b@remote.test"), [], ORIGINAL, T0);
  assert.deepEqual([local.sender, local.recipients, local.relay], ["", ["ann@a.test"], []]);
  const remote = notice(
    OPTIONS,
    "delay",
    row(1, "b@remote.test", { sender: "zed@Elsewhere.TEST" }),
    [],
    ORIGINAL,
    T0,
  );
  assert.deepEqual([remote.recipients, remote.relay], [[], ["zed@Elsewhere.TEST"]]);
  const text = dec.decode(new Uint8Array(local.chunks.flatMap((c) => [...c])));
  assert.match(text, /^Return-Path: <>\r\nFrom: Mail Delivery System <MAILER-DAEMON@mx\.a\.test>/);
  assert.match(text, new RegExp(`Message-ID: <${local.id}@mx\\.a\\.test>`));
  // The original's header block, as relayed: without our Return-Path.
  assert.match(text, /text\/rfc822-headers\r\n\r\nReceived: from x by y; date\r\nSubject: hello/);
  assert.equal(local.size, text.length);
});

Deno.test("settle: sent rows finish, deferred ones are rescheduled and warned once, refused ones wait for the pass", () => {
  const store = recorder();
  const group = [
    row(1, "sent@remote.test"),
    row(2, "gone@remote.test"),
    row(3, "later@remote.test"),
    row(4, "auth@remote.test"),
  ];
  const results: RecipientResult[] = [
    { recipient: "sent@remote.test", status: "sent", text: "250 ok" },
    {
      recipient: "gone@remote.test",
      status: "refused",
      text: "RCPT: 550 no such user",
      reply: reply(550, "5.1.1", "no such user"),
      hop: "mx.remote.test:25",
    },
    {
      recipient: "later@remote.test",
      status: "deferred",
      text: "RCPT: 451 try later",
      reply: reply(451, "4.3.0", "try later"),
    },
    // A refused login says nothing about the recipient: deferred, not bounced.
    { recipient: "auth@remote.test", status: "refused", text: "AUTH: 535", failure: "auth" },
  ];
  const pass = newPass(group[0]!);
  const schedule = {
    minBackoffMs: HOUR,
    maxBackoffMs: 8 * HOUR,
    lifetimeMs: 100 * HOUR,
    delayWarningMs: 4 * HOUR,
  };
  const now = T0 + 5 * HOUR;
  settleResults(
    { ...OPTIONS, store, schedule, random: () => 0.5 },
    group,
    results,
    ORIGINAL,
    pass,
    now,
  );
  assert.equal(store.settled.length, 1);
  const s = store.settled[0]!;
  assert.deepEqual(s.finished, [1]);
  assert.deepEqual(s.deferred?.map((d) => [d.id, d.nextAttempt - now]), [[3, HOUR], [4, HOUR]]);
  assert.deepEqual(s.warned, [3, 4]);
  assert.equal(s.notices?.length, 1, "one delay warning for the message");
  assert.match(dec.decode(s.notices![0]!.chunks[1]), /Action: delayed\r\nStatus: 4\.3\.0/);
  assert.deepEqual(pass.failedRows, [2]);
  assert.deepEqual(
    pass.failures.map((f) => [f.recipient, f.status, f.reply, f.remoteMta]),
    [["gone@remote.test", "5.1.1", "550 5.1.1 no such user", "mx.remote.test"]],
  );
});

Deno.test("bounce of a pass: failed rows and one bounce in one commit; none from <>; a refusing store leaves them", () => {
  const failures = [{
    recipient: "gone@remote.test",
    action: "failed" as const,
    status: "5.1.1",
    text: "RCPT: 550 no such user",
  }];
  const pass = { ...newPass(row(2, "gone@remote.test")), original: ORIGINAL };
  pass.failedRows.push(2);
  pass.failures.push(...failures);
  const store = recorder();
  assert.equal(bouncePass(store, OPTIONS, pass, T0), true);
  assert.deepEqual(store.settled.map((s) => [s.finished, s.notices?.length]), [[[2], 1]]);
  assert.deepEqual(store.settled[0]!.notices![0]!.recipients, ["ann@a.test"]);

  const fromNull = { ...newPass(row(2, "gone@remote.test", { sender: "" })), original: ORIGINAL };
  fromNull.failedRows.push(2);
  const quiet = recorder();
  assert.equal(bouncePass(quiet, OPTIONS, fromNull, T0), true);
  assert.deepEqual(quiet.settled.map((s) => [s.finished, s.notices]), [[[2], []]]);

  const nothing = recorder();
  assert.equal(bouncePass(nothing, OPTIONS, newPass(row(1, "x@remote.test")), T0), true);
  assert.equal(nothing.settled.length, 0);

  assert.equal(bouncePass(recorder(true), OPTIONS, pass, T0), false);
});
