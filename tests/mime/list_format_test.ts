import assert from "node:assert/strict";
import type { MailboxEntry } from "../../src/store/mod.ts";
import { decodeEntry, formatListRow, splitNameAddress } from "../../src/mime/list_format.ts";
import { humanSize } from "../../src/mime/human_size.ts";
import { textWidth, truncate } from "../../src/mime/text_width.ts";

const entry = (over: Partial<MailboxEntry> = {}): MailboxEntry => ({
  id: 7,
  messageId: "Q1",
  sender: "a@example.test",
  from: "=?utf-8?b?SsO8cmdlbiBNw7xsbGVy?= <juergen@example.test>",
  subject: "=?UTF-8?B?5Lya6K2w44Gu6K2w5LqL6Yyy?=",
  date: "Tue, 03 Nov 2026 09:15:00 +0000",
  size: 2048,
  seen: false,
  receivedAt: Date.UTC(2026, 10, 3, 10, 0, 0),
  ...over,
});

Deno.test("humanSize", () => {
  assert.equal(humanSize(0), "0 B");
  assert.equal(humanSize(1023), "1023 B");
  assert.equal(humanSize(2048), "2.0 KiB");
  assert.equal(humanSize(15 * 1024 + 100), "15 KiB");
  assert.equal(humanSize(1024 * 1024 - 1), "1.0 MiB");
  assert.equal(humanSize(26214400), "25 MiB");
});

Deno.test("splitNameAddress", () => {
  assert.deepEqual(splitNameAddress('"Lee, Ann (Sales)" <ann@example.test>'), {
    name: "Lee, Ann (Sales)",
    address: "ann@example.test",
  });
  assert.deepEqual(splitNameAddress("ann@example.test"), { name: "", address: "ann@example.test" });
});

Deno.test("decodeEntry: decoded names, Date header or received time", () => {
  const d = decodeEntry(entry());
  assert.equal(d.from, "Jürgen Müller <juergen@example.test>");
  assert.equal(d.fromShort, "Jürgen Müller");
  assert.equal(d.subject, "会議の議事録");
  assert.equal(d.date.toISOString(), "2026-11-03T09:15:00.000Z");
  assert.equal(decodeEntry(entry({ date: "" })).date.toISOString(), "2026-11-03T10:00:00.000Z");
  assert.equal(
    decodeEntry(entry({ date: "garbage" })).date.toISOString(),
    "2026-11-03T10:00:00.000Z",
  );
});

Deno.test("formatListRow: fits the width, wide characters counted as two columns", () => {
  for (const width of [40, 60, 80, 120]) {
    const row = formatListRow(entry({ subject: "x".repeat(200) }), { width, idWidth: 3 });
    assert.ok(textWidth(row) <= width, `${width}: ${row}`);
    const cjk = formatListRow(entry(), { width, idWidth: 3 });
    assert.ok(textWidth(cjk) <= width, `${width}: ${cjk}`);
  }
  const row = formatListRow(entry(), { idWidth: 3 });
  assert.match(
    row,
    /^N {3}7 {2}\d{4}-\d\d-\d\d \d\d:\d\d {2}Jürgen Müller +会議の議事録 +2\.0 KiB$/,
  );
  assert.match(formatListRow(entry({ seen: true }), { idWidth: 1 }), /^ {2}7/);
});

Deno.test("formatListRow: control characters in headers do not reach the terminal", () => {
  const row = formatListRow(
    entry({ subject: "a\x1b[2Jb\r\nc", from: "=?UTF-8?Q?x=1B]0;t=07?= <e@x.test>" }),
    {
      idWidth: 1,
    },
  );
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(row, /[\x00-\x1f\x7f-\x9f]/);
});

Deno.test("truncate", () => {
  assert.equal(truncate("hello", 10), "hello");
  assert.equal(truncate("hello world", 6), "hello…");
  assert.equal(truncate("会議の議事録", 5), "会議…");
});
