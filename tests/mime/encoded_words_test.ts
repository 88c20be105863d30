import assert from "node:assert/strict";
import { decodeWords } from "postal-mime";

// RFC 2047 encoded words are decoded by postal-mime's decodeWords (for the list and the reader
// alike). These cases pin the behaviour the display relies on, so that an upgrade that changes
// it shows up here.
const CASES: [string, string, string][] = [
  ["plain ASCII", "Lunch on Friday?", "Lunch on Friday?"],
  ["B, UTF-8", "=?UTF-8?B?5Lya6K2w44Gu6K2w5LqL6Yyy?=", "会議の議事録"],
  [
    "B, lower case",
    "=?utf-8?b?SsO8cmdlbiBNw7xsbGVy?= <j@example.test>",
    "Jürgen Müller <j@example.test>",
  ],
  [
    "Q, ISO-8859-1, underscores are spaces",
    "=?ISO-8859-1?Q?R=E9union_d=E9plac=E9e?=",
    "Réunion déplacée",
  ],
  ["Q, literal characters", "=?utf-8?q?a+b=3Dc?=", "a+b=c"],
  [
    "adjacent words: white space between them dropped (§6.2)",
    "=?UTF-8?Q?Gr=C3=BC?= \r\n =?UTF-8?Q?=C3=9Fe?=",
    "Grüße",
  ],
  ["adjacent words split inside a character (B)", "=?UTF-8?B?5Lya?= =?UTF-8?B?6K2w?=", "会議"],
  ["adjacent words split inside a character (Q)", "=?UTF-8?Q?=E2=82?= =?UTF-8?Q?=AC?=", "€"],
  ["adjacent words without white space", "=?utf-8?B?5Lya6K2w?==?utf-8?B?44Gu?=", "会議の"],
  [
    "adjacent words, different charsets",
    "=?ISO-8859-1?Q?caf=E9?= =?UTF-8?Q?_=E2=82=AC?=",
    "café €",
  ],
  ["white space to plain text kept", "=?UTF-8?Q?Hello?= world", "Hello world"],
  ["text between words kept", "=?UTF-8?Q?a?= b =?UTF-8?Q?c?=", "a b c"],
  ["text before and after", "Re: =?UTF-8?Q?caf=C3=A9?= ok", "Re: café ok"],
  ["RFC 2231 language suffix", "=?UTF-8*de?Q?Gr=C3=BC=C3=9Fe?=", "Grüße"],
  ["unknown charset, ASCII bytes", "=?x-unknown?Q?Odd_charset?=", "Odd charset"],
  ["unknown charset, other bytes as windows-1252", "=?x-unknown?Q?caf=E9?=", "café"],
  ["other charsets TextDecoder knows", "=?windows-1251?B?z/Do4uXy?=", "Привет"],
  ["ISO-2022-JP", "=?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=", "こんにちは"],
  ["charset aliases TextDecoder does not know (cp932)", "=?cp932?B?k/qWe4zq?=", "日本語"],
  ["unknown encoding letter is not a word", "=?UTF-8?X?abc?=", "=?UTF-8?X?abc?="],
  ["unterminated", "=?UTF-8?Q?abc", "=?UTF-8?Q?abc"],
  ["raw UTF-8 passes through (RFC 6532)", "Grüße aus Köln", "Grüße aus Köln"],
  ["missing base64 padding tolerated", "=?UTF-8?B?w6k?=", "é"],
  ["bad Q escape kept as text", "=?UTF-8?Q?a=ZZ?=", "a=ZZ"],
  ["empty", "", ""],
];

for (const [name, input, expected] of CASES) {
  Deno.test(`decodeWords: ${name}`, () => {
    assert.equal(decodeWords(input), expected);
  });
}

Deno.test("decodeWords: never throws on junk, and is quick on long junk", () => {
  const junk = [
    "=?",
    "=??=",
    "=?a?b?c?=",
    "=?UTF-8?B?====?=",
    "=?UTF-8?B?!!!?=",
    "=?\u0000?Q?\u0000?=",
    "=?".repeat(1000),
    "=?UTF-8?Q?".repeat(10_000),
    "=?UTF-8?B?" + "A".repeat(64 * 1024),
  ];
  for (const j of junk) assert.equal(typeof decodeWords(j), "string");
});

Deno.test("decodeWords: control characters come through, for the sanitizer to remove", () => {
  // The list and the reader pass every decoded value through sanitize.ts.
  assert.equal(decodeWords("=?UTF-8?Q?x=1B]0;t=07?="), "x\x1b]0;t\x07");
});
