/** Trace headers (RFC 5321 §4.4, RFC 3848, RFC 6531 §4.3) and loop detection (RFC 5321 §6.3). */
import assert from "node:assert/strict";
import {
  countReceived,
  isLooping,
  MAX_RECEIVED,
  receivedHeader,
  returnPathHeader,
  rfc5322Date,
  withProtocol,
} from "../../src/smtp/trace.ts";

const DATE = new Date(Date.UTC(2026, 10, 28, 11, 46, 5));

Deno.test("rfc5322Date: UTC, two-digit time fields", () => {
  assert.equal(rfc5322Date(DATE), "Sat, 28 Nov 2026 11:46:05 +0000");
  assert.equal(
    rfc5322Date(new Date(Date.UTC(2027, 0, 3, 0, 0, 0))),
    "Sun, 3 Jan 2027 00:00:00 +0000",
  );
});

Deno.test("withProtocol: SMTP, ESMTP, S, A, UTF8", () => {
  const o = { esmtp: true, tls: false, auth: false, utf8: false };
  assert.equal(withProtocol({ ...o, esmtp: false }), "SMTP");
  assert.equal(withProtocol(o), "ESMTP");
  assert.equal(withProtocol({ ...o, tls: true }), "ESMTPS");
  assert.equal(withProtocol({ ...o, tls: true, auth: true }), "ESMTPSA");
  assert.equal(withProtocol({ ...o, utf8: true }), "UTF8SMTP");
  assert.equal(withProtocol({ ...o, utf8: true, tls: true, auth: true }), "UTF8SMTPSA");
});

Deno.test("receivedHeader: folded, with for-clause and TLS comment", () => {
  const h = receivedHeader({
    helo: "client.test",
    clientAddress: "2001:db8::1",
    by: "mx.test",
    with: "ESMTPS",
    id: "ABC123",
    for: "alice@example.test",
    tls: "TLSv1.3 TLS_AES_256_GCM_SHA384",
    date: DATE,
  });
  assert.equal(
    h,
    "Received: from client.test ([IPv6:2001:db8::1])\r\n" +
      "\tby mx.test with ESMTPS (TLSv1.3 TLS_AES_256_GCM_SHA384) id ABC123\r\n" +
      "\tfor <alice@example.test>;\r\n\tSat, 28 Nov 2026 11:46:05 +0000\r\n",
  );
});

Deno.test("receivedHeader: client text cannot break the header", () => {
  const h = receivedHeader({
    helo: "evil\r\nX-Injected: yes (comment) \\",
    clientAddress: "192.0.2.1",
    by: "mx.test",
    with: "SMTP",
    id: "ID",
    for: "a\r\nBcc: x@y.z",
    date: DATE,
  });
  assert.ok(!h.includes("\r\nX-Injected"), h);
  assert.ok(!h.includes("\r\nBcc"), h);
  assert.match(
    h,
    /^Received: from evil\?\?X-Injected:\?yes\?\?comment\?\?\? \(\[192\.0\.2\.1\]\)\r\n/,
  );
  // Every line break in the header is a fold (CRLF TAB) or the final CRLF.
  assert.deepEqual(h.split("\r\n").slice(1).map((l) => l === "" || l.startsWith("\t")), [
    true,
    true,
    true,
    true,
  ]);
  assert.equal(h.split("\r\n").length, 5);
  const long = receivedHeader({
    helo: "a".repeat(1000),
    clientAddress: "1.2.3.4",
    by: "m",
    with: "SMTP",
    id: "I",
    date: DATE,
  });
  assert.ok(long.length < 400);
});

Deno.test("returnPathHeader: the envelope sender, <> for the null path", () => {
  assert.equal(returnPathHeader("a@b.c"), "Return-Path: <a@b.c>\r\n");
  assert.equal(returnPathHeader(""), "Return-Path: <>\r\n");
  assert.equal(returnPathHeader("a\r\nX: y@b.c"), "Return-Path: <aX: y@b.c>\r\n");
});

const enc = new TextEncoder();
const received = (n: number) =>
  "Received: from x by y; Sat, 28 Nov 2026 12:00:00 +0000\r\n".repeat(n);

Deno.test("Received fields are counted in the header only, case-insensitively, across chunks", () => {
  const text = received(3) + "RECEIVED: from z\r\n\tby w\r\nSubject: x\r\n\r\n" + received(5);
  const bytes = enc.encode(text);
  assert.equal(countReceived([bytes]), 4);
  // Split at every offset: the count does not depend on where chunks end.
  for (let i = 0; i <= bytes.length; i += 7) {
    assert.equal(countReceived([bytes.subarray(0, i), bytes.subarray(i)]), 4);
  }
  assert.equal(countReceived([enc.encode("X-Received: a\r\n Received: b\r\n\r\n")]), 0);
});

Deno.test("more than 100 Received fields is a loop (RFC 5321 §6.3)", () => {
  assert.equal(isLooping([enc.encode(received(MAX_RECEIVED) + "\r\nbody")]), false);
  assert.equal(isLooping([enc.encode(received(MAX_RECEIVED + 1) + "\r\nbody")]), true);
});
