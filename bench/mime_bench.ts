/**
 * Showing a message as `mail inbox ADDRESS ID` does: MIME parsing, HTML to text and the terminal
 * layout, for ordinary mail and for hostile HTML (4 MiB of `<a<a<a`, 100,000 nested tags, links
 * inside links) that must still show in about a second.
 */
import { Buffer } from "node:buffer";
import { loadReader } from "../src/mime/mod.ts";
import { htmlToText } from "../src/mime/html_to_text.ts";

const { formatForTerminal, parseForDisplay, formatListRow } = await loadReader();

const enc = new TextEncoder();
const MiB = 1024 * 1024;

/** A message whose only body is HTML, base64-encoded as a sender would for 8-bit text. */
function htmlMessage(html: string): Uint8Array {
  const b64 = Buffer.from(html).toString("base64").replace(/.{76}/g, "$&\r\n");
  return enc.encode(
    "From: =?UTF-8?Q?J=C3=BCrgen?= <j@example.test>\r\nTo: b@example.test\r\n" +
      "Subject: bench\r\nDate: Tue, 03 Nov 2026 09:15:00 +0000\r\nMIME-Version: 1.0\r\n" +
      "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
      b64 + "\r\n",
  );
}

const PARAGRAPH =
  '<p>Dear customer, your order <b>#12345</b> has shipped &amp; will arrive <a href="https://example.test/track?id=1">soon</a>.</p>\n';
const repeatTo = (unit: string, size: number) => unit.repeat(Math.ceil(size / unit.length));

const PLAIN = enc.encode(
  "From: Ann <ann@example.test>\r\nTo: b@example.test\r\nSubject: =?UTF-8?B?5Lya6K2w?=\r\n" +
    "Date: Tue, 03 Nov 2026 09:15:00 +0000\r\n\r\n" +
    "A line of an ordinary message.\r\n".repeat(100),
);
const NEWSLETTER_50K = htmlMessage(repeatTo(PARAGRAPH, 50 * 1024));
const A_LT_4M = htmlMessage("<a".repeat(2 * MiB));
const NESTED_100K = htmlMessage("<div>".repeat(100_000) + "deep" + "</div>".repeat(100_000));
const UNCLOSED_100K = htmlMessage("<div><b>".repeat(50_000) + "deep");

async function show(bytes: Uint8Array): Promise<void> {
  const out = formatForTerminal(await parseForDisplay(bytes), { color: true, width: 100 });
  if (out.length === 0) throw new Error("Nothing shown");
}

// The slow ones run a few times each: they are about a second, and the point is the order.
const FEW = { n: 5, warmup: 1 };

// Deno measures a bench as asynchronous only when its function is an async function.
Deno.bench("show: text/plain message, 3 KiB", { group: "show" }, async () => {
  await show(PLAIN);
});
Deno.bench("show: HTML newsletter, 50 KiB", { group: "show" }, async () => {
  await show(NEWSLETTER_50K);
});
Deno.bench("show: HTML of 4 MiB of '<a<a<a'", { group: "show", ...FEW }, async () => {
  await show(A_LT_4M);
});
Deno.bench("show: HTML of 100,000 nested divs", { group: "show", ...FEW }, async () => {
  await show(NESTED_100K);
});
Deno.bench("show: HTML of 100,000 unclosed tags", { group: "show", ...FEW }, async () => {
  await show(UNCLOSED_100K);
});

// Longer than the bound (512 KiB), so each converts as much as any message can make it.
const NEWSLETTER_1M = repeatTo(PARAGRAPH, MiB);
const PARAGRAPHS_1M = repeatTo("<p>x", MiB);
const LINKS_IN_LINKS = repeatTo('<a href="x">y ', MiB);

Deno.bench("htmlToText: newsletter, 1 MiB", { group: "html", ...FEW }, () => {
  htmlToText(NEWSLETTER_1M);
});
Deno.bench(
  "htmlToText: 1 MiB of '<p>x' (the bound's worst case)",
  { group: "html", ...FEW },
  () => {
    htmlToText(PARAGRAPHS_1M);
  },
);
Deno.bench("htmlToText: links inside links, 1 MiB", { group: "html", ...FEW }, () => {
  htmlToText(LINKS_IN_LINKS);
});

const ENTRY = {
  id: 812,
  from: "=?utf-8?b?SsO8cmdlbiBNw7xsbGVy?= <juergen@example.test>",
  subject: "=?UTF-8?B?5Lya6K2w44Gu6K2w5LqL6Yyy?= ☕ 👨‍👩‍👧 quarterly report",
  date: "Tue, 03 Nov 2026 09:15:00 +0000",
  size: 2048,
  seen: false,
  receivedAt: 0,
};

Deno.bench("formatListRow: 50 rows (a page of the list)", { group: "list" }, () => {
  for (let i = 0; i < 50; i++) formatListRow(ENTRY, { width: 100, idWidth: 3 });
});
