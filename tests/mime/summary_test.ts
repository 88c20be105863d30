import assert from "node:assert/strict";
import { MAX_HEADER_BYTES, summarize } from "../../src/mime/summary.ts";

const enc = (s: string) => new TextEncoder().encode(s);

/** Splits BYTES into chunks of SIZE (every boundary position gets exercised by the callers). */
function chunked(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

const MESSAGE = [
  "Received: from x by y; Tue, 03 Nov 2026 09:15:00 +0000",
  "From: Ann Lee <ann@example.test>",
  "Subject: A subject line that is long enough",
  "\tthat it has been folded",
  "Date: Tue, 03 Nov 2026 09:15:00 +0000",
  "Message-ID: <m1@example.test>",
  "",
  "Subject: not a header, the body",
  "",
].join("\r\n");

const EXPECTED = {
  from: "Ann Lee <ann@example.test>",
  subject: "A subject line that is long enough\tthat it has been folded",
  date: "Tue, 03 Nov 2026 09:15:00 +0000",
  messageId: "<m1@example.test>",
};

Deno.test("summarize: CRLF message, folded subject unfolded (RFC 5322 §2.2.3)", () => {
  assert.deepEqual(summarize([enc(MESSAGE)]), EXPECTED);
});

Deno.test("summarize: LF line endings", () => {
  assert.deepEqual(summarize([enc(MESSAGE.replaceAll("\r\n", "\n"))]), EXPECTED);
});

Deno.test("summarize: header block split at every chunk size", () => {
  for (const text of [MESSAGE, MESSAGE.replaceAll("\r\n", "\n")]) {
    const bytes = enc(text);
    for (let size = 1; size <= 40; size++) {
      assert.deepEqual(summarize(chunked(bytes, size)), EXPECTED, `chunk size ${size}`);
    }
  }
});

Deno.test("summarize: the empty line split between chunks ends the header block", () => {
  const head = enc("From: a@example.test\r\n\r");
  const tail = enc("\nSubject: body text\r\n");
  assert.deepEqual(summarize([head, tail]), {
    from: "a@example.test",
    subject: "",
    date: "",
    messageId: "",
  });
});

Deno.test("summarize: missing headers are empty strings; empty message", () => {
  assert.deepEqual(summarize([enc("To: b@example.test\r\n\r\nhello\r\n")]), {
    from: "",
    subject: "",
    date: "",
    messageId: "",
  });
  assert.deepEqual(summarize([]), { from: "", subject: "", date: "", messageId: "" });
  assert.deepEqual(summarize([enc("\r\nFrom: body@example.test\r\n")]).from, "");
});

Deno.test("summarize: first occurrence wins, names are case-insensitive, raw values kept", () => {
  const s = summarize([enc(
    "SUBJECT: =?UTF-8?Q?caf=C3=A9?=\r\nsubject: second\r\nfrom : x@example.test\r\n\r\n",
  )]);
  assert.equal(s.subject, "=?UTF-8?Q?caf=C3=A9?=");
  assert.equal(s.from, "x@example.test");
});

Deno.test("summarize: UTF-8 headers (RFC 6532) and Latin-1 bytes", () => {
  assert.equal(summarize([enc("Subject: Grüße\r\n\r\n")]).subject, "Grüße");
  const latin1 = Uint8Array.from([...enc("Subject: R"), 0xe9, ...enc("union\r\n\r\n")]);
  assert.equal(summarize([latin1]).subject, "Réunion");
});

Deno.test("summarize: no header block end within the cap; only headers, no body", () => {
  const huge = enc("X-Filler: " + "a".repeat(MAX_HEADER_BYTES * 2) + "\r\nSubject: late\r\n\r\n");
  assert.equal(summarize([huge]).subject, "");
  assert.equal(summarize([enc("Subject: only\r\n")]).subject, "only");
});

Deno.test("summarize: mbox From_ line and garbage lines are skipped", () => {
  const s = summarize([
    enc("From sender Tue Nov  3 09:15:00 2026\nno colon here\nFrom: a@example.test\n\n"),
  ]);
  assert.equal(s.from, "a@example.test");
});
