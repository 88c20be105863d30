/**
 * parseHeader trims a field's value in one pass: the regex it used (`[ \t\r\n]+$`) rescanned a
 * run of white space from each of its characters, so one long blank field took seconds.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { type HeaderField, parseHeader, parseStructure } from "../../src/imap/message_parts.ts";
import { latin1 } from "../../src/bytes.ts";

/** The parseHeader before the change, verbatim (the reference). */
function oldParseHeader(bytes: Uint8Array, start: number, end: number): HeaderField[] {
  const text = latin1(bytes.subarray(start, end));
  const fields: HeaderField[] = [];
  for (const line of text.split(/\r?\n(?![ \t])/)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) continue;
    fields.push([name, line.slice(colon + 1).replace(/^[ \t]+|[ \t\r\n]+$/g, "")]);
  }
  return fields;
}

const octets = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

/** Header text made mostly of what the trimming is about: blanks, line ends and colons. */
const headerText = fc.array(
  fc.constantFrom(" ", "\t", "\r", "\n", "\r\n", "\r\n ", ":", "a", "X-Y", "\xa0", "\v", "\f", "é"),
  { maxLength: 60 },
).map((parts) => parts.join(""));

Deno.test("parseHeader: gives what the regex-trimming parse gave, on any header", () => {
  fc.assert(
    fc.property(headerText, fc.nat(5), fc.nat(5), (text, cutStart, cutEnd) => {
      const bytes = octets(text);
      const start = Math.min(cutStart, bytes.length);
      const end = Math.max(start, bytes.length - cutEnd);
      assert.deepStrictEqual(parseHeader(bytes, start, end), oldParseHeader(bytes, start, end));
    }),
    { numRuns: 2000 },
  );
});

Deno.test("parseHeader: a field of 256 KiB of white space (a minute with the old regex)", () => {
  const blanks = "X: a" + " ".repeat(1 << 17) + "\r\n ".repeat(1 << 15) + "b\r\n";
  const fields = parseHeader(octets(blanks), 0, blanks.length);
  assert.deepStrictEqual(fields.length, 1);
  assert.deepStrictEqual(fields[0]![1].length, blanks.length - 5);
  const trailing = "Content-Type: text/plain" + " \r\n".repeat(1 << 16) + "x: y\r\n\r\nbody";
  assert.deepStrictEqual(parseStructure(octets(trailing)).subtype, "plain");
});
