/**
 * The shortcuts of ENVELOPE's builder give what the general code gives: the header fields it
 * reads, found without parsing the others, are `parseHeader`'s; the everyday shapes of address
 * fields parse as the general address parser parses them; the encoded ENVELOPE is the same.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  encodeEnvelope,
  encodeEnvelopeOf,
  envelopeFields,
  parseAddressList,
  parseAnyAddressList,
} from "../../src/imap/envelope.ts";
import { headerRaw, parseHeader } from "../../src/imap/message_parts.ts";

const octets = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const NAMES = [
  "Date",
  "Subject",
  "From",
  "Sender",
  "Reply-To",
  "To",
  "Cc",
  "Bcc",
  "In-Reply-To",
  "Message-ID",
];

/** A name as a header may write it: any case, white space around, folded, or another name. */
const name = fc.oneof(
  fc.tuple(
    fc.constantFrom(...NAMES),
    fc.array(fc.boolean(), { minLength: 11, maxLength: 11 }),
  ).map(([n, up]) => [...n].map((c, i) => up[i] ? c.toUpperCase() : c.toLowerCase()).join("")),
  fc.constantFrom("Received", "DKIM-Signature", "X-To", "Subjects", "Fro", "", "Sub ject"),
).chain((n) =>
  fc.tuple(
    fc.constantFrom("", " ", "\t", "\xa0", "\r\n ", "\n\t", "\x0b"),
    fc.constant(n),
    fc.constantFrom("", " ", "\t", "\xa0", "\r\n ", "\n ", "\r"),
  ).map((parts) => parts.join(""))
);

/** A value: text, addresses, white space, folds, line ends, 8-bit octets and colons. */
const value = fc.array(
  fc.constantFrom(
    "a",
    "Ann Lee",
    "<a@b.example>",
    '"Doe, J"',
    " ",
    "\t",
    "\r\n ",
    "\n\t",
    "\r",
    ":",
    "\xe9",
    "\xff",
    "=?UTF-8?B?w6k=?=",
    ",",
    "(c)",
  ),
  { maxLength: 8 },
).map((p) => p.join(""));

const line = fc.oneof(
  fc.tuple(name, value).map(([n, v]) => `${n}:${v}`),
  value,
);

const header = fc.tuple(
  fc.array(line, { maxLength: 14 }),
  fc.constantFrom("\r\n", "\n"),
  fc.constantFrom("\r\n", "\n", "", "\r\n\r\n"),
).map(([lines, eol, last]) => octets(lines.join(eol) + last));

Deno.test("envelope fields: those parseHeader gives, for any header (property)", () => {
  fc.assert(
    fc.property(header, fc.nat(4), (bytes, pad) => {
      // Somewhere within a larger buffer, as a message's header is.
      const whole = new Uint8Array(pad + bytes.length + pad);
      whole.set(bytes, pad);
      const all = parseHeader(whole, pad, pad + bytes.length);
      const some = envelopeFields(whole, pad, pad + bytes.length);
      for (const n of NAMES) assert.equal(headerRaw(some, n), headerRaw(all, n), n);
      assert.deepEqual(encodeEnvelopeOf(whole, pad, pad + bytes.length), encodeEnvelope(all));
    }),
    { numRuns: 3000 },
  );
});

Deno.test("envelope fields: folded before the colon, bare line ends, the last field unended", () => {
  for (
    const text of [
      "Subject\r\n : folded name\r\n\r\n",
      "From: a@b\rTo: c@d\r\n",
      "To: x@y",
      "\xa0Cc\xa0: z@w\n\n",
      "Date: one\r\nDate: two\r\n",
      ": no name\r\nSubject: s\r\n",
    ]
  ) {
    const bytes = octets(text);
    const all = parseHeader(bytes, 0, bytes.length);
    const some = envelopeFields(bytes, 0, bytes.length);
    for (const n of NAMES) assert.equal(headerRaw(some, n), headerRaw(all, n), `${text} ${n}`);
  }
});

/** Address fields, mostly of everyday shapes and near misses of them. */
const addressField = fc.array(
  fc.constantFrom(
    "ann",
    "Ann Lee",
    "a.b",
    "@",
    "example.org",
    ".",
    "<",
    ">",
    '"',
    '"Doe, J"',
    '"q\\"x"',
    " ",
    "\t",
    ",",
    ":",
    ";",
    "(c)",
    "[1.2.3.4]",
    "\xe9",
    "=?UTF-8?Q?x?=",
  ),
  { maxLength: 10 },
).map((p) => p.join(""));

Deno.test("address lists: the everyday shapes' shortcut parses as the general parser (property)", () => {
  fc.assert(
    fc.property(addressField, (v) => {
      assert.deepEqual(parseAddressList(v), parseAnyAddressList(v));
    }),
    { numRuns: 5000 },
  );
  for (
    const v of [
      "a@b.example",
      "Ann Lee <ann@b.example>",
      '"Doe, J" <j@d.example>',
      '  "" <x@y>  ',
      "<a@b>",
      "a@",
      "@b",
      "a@b@c",
      "Ann <a@b> x",
      '"a <b>" <c@d>',
      "Ann\t Lee\t<a..b@c>\t",
    ]
  ) {
    assert.deepEqual(parseAddressList(v), parseAnyAddressList(v), v);
  }
});
