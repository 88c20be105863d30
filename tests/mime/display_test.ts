import assert from "node:assert/strict";
import { loadReader } from "../../src/mime/mod.ts";
import { FLATTENED_NOTE } from "../../src/mime/html_to_text.ts";

const { formatForTerminal, parseForDisplay } = await loadReader();

const FIXTURES = new URL("../fixtures/mime/", import.meta.url);
const enc = (s: string) => new TextEncoder().encode(s);
/** Runs of white space folded to one space, as the fixtures' README says to compare. */
const fold = (s: string) => s.replace(/\s+/g, " ").trim();

interface Expect {
  subject: string;
  from: string;
  text: string;
  attachments: { name: string; size: number | null }[] | null;
}

const names = [...Deno.readDirSync(FIXTURES)]
  .map((e) => e.name)
  .filter((n) => n.endsWith(".eml"))
  .sort();

Deno.test("display: the fixture directory is there", () => {
  assert.ok(names.length >= 14, `found ${names.length} fixtures in ${FIXTURES.pathname}`);
});

for (const name of names) {
  Deno.test(`display: fixture ${name}`, async () => {
    const bytes = await Deno.readFile(new URL(name, FIXTURES));
    const expect: Expect = JSON.parse(
      await Deno.readTextFile(new URL(name.replace(/\.eml$/, ".expect.json"), FIXTURES)),
    );
    const msg = await parseForDisplay(bytes);
    assert.equal(fold(msg.subject), fold(expect.subject), "subject");
    assert.equal(msg.from[0]?.address ?? "", expect.from, "from");
    // "text" is a fragment that the shown text must contain (white space folded).
    assert.ok(fold(msg.text).includes(fold(expect.text)), `text ${JSON.stringify(msg.text)}`);
    if (expect.attachments !== null) {
      assert.equal(msg.attachments.length, expect.attachments.length, "attachment count");
      expect.attachments.forEach((want, i) => {
        const got = msg.attachments[i]!;
        assert.equal(got.name, want.name, "attachment name");
        if (want.size !== null) assert.equal(got.size, want.size, "attachment size");
      });
    }
    // And the terminal rendering shows the same things.
    const shown = formatForTerminal(msg, { color: false });
    assert.ok(fold(shown).includes(fold(expect.text)));
    assert.ok(fold(shown).includes(fold(expect.subject) || "(no subject)"));
  });
}

Deno.test("display: HTML-only is reduced to text without tags, script or style", async () => {
  const bytes = await Deno.readFile(new URL("06-html-only.eml", FIXTURES));
  const msg = await parseForDisplay(bytes);
  assert.equal(msg.textSource, "html");
  assert.doesNotMatch(msg.text, /[<>]|track\(\)|color:red/);
});

Deno.test("display: broken input never throws and shows the raw body", async () => {
  const inputs = [
    new Uint8Array(0),
    Uint8Array.from([0, 1, 2, 0xff, 0xfe, 0x0a]),
    enc("just some text without headers\r\nsecond line\r\n"),
    enc('Content-Type: multipart/mixed; boundary=""\r\n\r\n--\r\n--\r\n'),
    enc("Content-Type: multipart/mixed\r\n\r\nno boundary parameter at all\r\n"),
    enc("Content-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n"),
    enc("Subject: =?UTF-8?B?broken\r\nContent-Type: text/plain; charset=nonsense\r\n\r\nbody\r\n"),
  ];
  for (const bytes of inputs) {
    const msg = await parseForDisplay(bytes);
    assert.equal(typeof msg.text, "string");
    formatForTerminal(msg, { color: true, width: 40 });
  }
  const noHeaders = await parseForDisplay(inputs[2]!);
  assert.match(noHeaders.text, /second line/);
});

Deno.test("display: deeply nested multiparts fall back to the raw body instead of failing", async () => {
  let body = "innermost text\r\n";
  for (let i = 0; i < 300; i++) {
    body = `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n${body}--b${i}--\r\n`;
  }
  const msg = await parseForDisplay(enc(`From: deep@example.test\r\nSubject: deep\r\n${body}`));
  assert.equal(msg.subject, "deep");
  assert.equal(msg.from[0]?.address, "deep@example.test");
  assert.match(msg.text, /innermost text/);
});

Deno.test("terminal: a hostile message cannot drive the terminal", async () => {
  const ESC = "\x1b";
  const hostile = [
    `From: =?UTF-8?B?${btoa(`Evil${ESC}]0;pwned\x07`)}?= <evil@example.test>`,
    `To: victim@example.test`,
    `Subject: =?UTF-8?Q?hi=1B[2J=1B[31mred=9B?= ${ESC}[1A\u202e`,
    `Date: Tue, 03 Nov 2026 09:15:00 +0000${ESC}c`,
    `MIME-Version: 1.0`,
    `Content-Type: multipart/mixed; boundary="x"`,
    ``,
    `--x`,
    `Content-Type: text/plain; charset=utf-8`,
    ``,
    `body ${ESC}[2J cleared? \u009b31m and \x07 bell\r`,
    `--x`,
    `Content-Type: application/octet-stream`,
    `Content-Disposition: attachment; filename="=?UTF-8?Q?a=1B[5mb.txt?="`,
    ``,
    `data`,
    `--x--`,
    ``,
  ].join("\r\n");
  const msg = await parseForDisplay(enc(hostile));
  for (const color of [false, true]) {
    const out = formatForTerminal(msg, { color });
    // deno-lint-ignore no-control-regex
    const controls = color ? out.replace(/\x1b\[[0-9;]*m/g, "") : out;
    // deno-lint-ignore no-control-regex
    assert.doesNotMatch(controls, /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]/, JSON.stringify(out));
    if (!color) assert.ok(!out.includes(ESC));
    assert.match(out, /cleared\?/);
    assert.match(out, /b\.txt/);
  }
});

Deno.test("terminal: layout, colour only when asked, human sizes", async () => {
  const bytes = await Deno.readFile(new URL("07-attachments.eml", FIXTURES));
  const msg = await parseForDisplay(bytes);
  const plain = formatForTerminal(msg, { color: false });
  assert.match(plain, /^From: {4}ann@example\.test\nTo: {6}bob@example\.test\nDate: /);
  assert.match(plain, /\nSubject: Report and photo\n\nReport and photo attached\./);
  assert.match(plain, /report\.pdf {2}application\/pdf, 2\.0 KiB/);
  assert.match(plain, /über uns\.png {2}image\/png, 1008 B/);
  assert.ok(!plain.includes("\x1b"));
  assert.ok(formatForTerminal(msg, { color: true }).includes("\x1b["));
});

Deno.test("terminal: long header values wrap to the width", async () => {
  const bytes = await Deno.readFile(new URL("09-folded-headers.eml", FIXTURES));
  const out = formatForTerminal(await parseForDisplay(bytes), { color: false, width: 50 });
  for (const line of out.split("\n").slice(0, 6)) assert.ok(line.length <= 50, line);
});

/** A message whose only body is HTML (8bit). */
function htmlMessage(html: string): Uint8Array {
  return enc(
    "From: html@example.test\r\nSubject: hostile HTML\r\nMIME-Version: 1.0\r\n" +
      "Content-Type: text/html; charset=utf-8\r\n\r\n" + html + "\r\n",
  );
}

Deno.test("display: an HTML part of 4 MiB of '<a<a<a' is shown, cut with a note", async () => {
  const msg = await parseForDisplay(htmlMessage("<a".repeat(2 * 1024 * 1024)));
  assert.equal(msg.textSource, "html");
  assert.equal(msg.subject, "hostile HTML");
  const out = formatForTerminal(msg, { color: false, width: 80 });
  assert.match(out, /the rest is not shown/);
  assert.ok(out.length < 1000, `${out.length} characters`);
});

Deno.test("display: 100,000 nested tags are shown flattened, with their text", async () => {
  for (
    const html of [
      "<div>".repeat(100_000) + "deep text" + "</div>".repeat(100_000),
      "<div><b>".repeat(50_000) + "deep text",
    ]
  ) {
    const msg = await parseForDisplay(htmlMessage(html));
    const out = formatForTerminal(msg, { color: false });
    assert.match(out, /deep text/);
    assert.ok(out.includes(FLATTENED_NOTE));
  }
});

Deno.test("display: named references and controls in HTML; controls never reach the terminal", async () => {
  const msg = await parseForDisplay(
    htmlMessage("<p>Caf&eacute; &hellip; &Zcaron;&nbsp;ok &#x1b;[2J&#27;]0;t&#7; \x1b[31m</p>"),
  );
  assert.match(msg.text, /Café … Ž ok/);
  const out = formatForTerminal(msg, { color: false });
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(out, /[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
});
