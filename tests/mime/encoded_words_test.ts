import assert from "node:assert/strict";
import { decodeHeaderValue } from "../../src/mime/encoded_words.ts";

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
  ["adjacent words split inside a character", "=?UTF-8?B?5Lya?= =?UTF-8?B?6K2w?=", "会議"],
  [
    "adjacent words, different charsets",
    "=?ISO-8859-1?Q?caf=E9?= =?UTF-8?Q?_=E2=82=AC?=",
    "café €",
  ],
  ["white space to plain text kept", "=?UTF-8?Q?Hello?= world", "Hello world"],
  ["text before and after", "Re: =?UTF-8?Q?caf=C3=A9?= ok", "Re: café ok"],
  ["RFC 2231 language suffix", "=?UTF-8*de?Q?Gr=C3=BC=C3=9Fe?=", "Grüße"],
  ["unknown charset, ASCII bytes", "=?x-unknown?Q?Odd_charset?=", "Odd charset"],
  ["unknown charset, UTF-8 bytes", "=?x-unknown?Q?caf=C3=A9?=", "café"],
  ["unknown charset, other bytes as Latin-1", "=?x-unknown?Q?caf=E9?=", "café"],
  ["other charsets TextDecoder knows", "=?windows-1251?B?z/Do4uXy?=", "Привет"],
  ["ISO-2022-JP", "=?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=", "こんにちは"],
  ["malformed base64 shown as is", "=?UTF-8?B?!!!?=", "=?UTF-8?B?!!!?="],
  ["malformed Q escape shown as is", "=?UTF-8?Q?a=ZZ?=", "=?UTF-8?Q?a=ZZ?="],
  [
    "malformed next to good keeps the space",
    "=?UTF-8?B?!!!?= =?UTF-8?Q?ok?=",
    "=?UTF-8?B?!!!?= ok",
  ],
  ["unknown encoding letter is not a word", "=?UTF-8?X?abc?=", "=?UTF-8?X?abc?="],
  ["unterminated", "=?UTF-8?Q?abc", "=?UTF-8?Q?abc"],
  ["raw UTF-8 passes through (RFC 6532)", "Grüße aus Köln", "Grüße aus Köln"],
  ["missing base64 padding tolerated", "=?UTF-8?B?w6k?=", "é"],
  ["empty", "", ""],
];

for (const [name, input, expected] of CASES) {
  Deno.test(`decodeHeaderValue: ${name}`, () => {
    assert.equal(decodeHeaderValue(input), expected);
  });
}

Deno.test("decodeHeaderValue: never throws on junk", () => {
  const junk = [
    "=?",
    "=??=",
    "=?a?b?c?=",
    "=?UTF-8?B?====?=",
    "=?\u0000?Q?\u0000?=",
    "=?".repeat(1000),
  ];
  for (const j of junk) assert.equal(typeof decodeHeaderValue(j), "string");
});
