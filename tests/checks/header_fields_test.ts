import assert from "node:assert/strict";
import fc from "fast-check";
import {
  fieldValue,
  headerFields,
  MAX_FIELDS,
  withInserted,
  withoutFields,
} from "../../src/checks/header_fields.ts";
import { concatBytes } from "../../src/bytes.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function split(text: string, size: number): Uint8Array[] {
  const bytes = enc.encode(text);
  if (size <= 0) return [bytes];
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

const join = (chunks: readonly Uint8Array[]) => dec.decode(concatBytes([...chunks]));

Deno.test("header fields: names, folded values, offsets, in any chunking", () => {
  const text = "Return-Path: <a@b>\r\nAuthentication-Results: x;\r\n\tspf=pass\r\n" +
    "Subject: hi\r\n\r\nbody: not a field\r\n";
  for (const size of [0, 1, 2, 3, 7, 13]) {
    const { fields, header } = headerFields(split(text, size));
    assert.deepEqual(fields.map((f) => f.name), [
      "return-path",
      "authentication-results",
      "subject",
    ]);
    assert.equal(fieldValue(header, fields[1]!), " x;\tspf=pass");
    assert.equal(text.slice(fields[2]!.start, fields[2]!.end), "Subject: hi\r\n");
  }
});

Deno.test("header fields: LF-only lines, a message without a body, a line without a colon", () => {
  assert.deepEqual(
    headerFields([enc.encode("A: 1\nB: 2\n\nbody\n")]).fields.map((f) => f.name),
    ["a", "b"],
  );
  assert.deepEqual(headerFields([enc.encode("A: 1\r\nB: 2\r\n")]).fields.map((f) => f.name), [
    "a",
    "b",
  ]);
  assert.deepEqual(
    headerFields([enc.encode("garbage\r\nA: 1\r\n\r\n")]).fields.map((f) => f.name),
    ["", "a"],
  );
  // A field cut off by the end of the data without its line break is not whole.
  assert.deepEqual(headerFields([enc.encode("A: 1\r\nB: 2")]).fields.map((f) => f.name), ["a"]);
});

Deno.test("header fields: bounded in count and in bytes", () => {
  const many = "X: 1\r\n".repeat(MAX_FIELDS + 50) + "\r\n";
  assert.equal(headerFields([enc.encode(many)]).fields.length, MAX_FIELDS);
  const huge = `X: ${"a".repeat(200_000)}\r\nY: 2\r\n\r\n`;
  assert.deepEqual(headerFields([enc.encode(huge)]).fields, []);
});

Deno.test("removing and inserting fields keeps every other byte, across chunk boundaries", () => {
  const text = "R: 1\r\nA-R: forged;\r\n spf=pass\r\nS: 2\r\nA-R: mine\r\n\r\nbody\r\n";
  for (const size of [0, 1, 2, 5, 9, 64]) {
    const chunks = split(text, size);
    const { fields } = headerFields(chunks);
    const gone = fields.filter((f) => f.name === "a-r");
    assert.equal(join(withoutFields(chunks, gone)), "R: 1\r\nS: 2\r\n\r\nbody\r\n");
    assert.equal(
      join(withInserted(chunks, fields[0]!.end, "N: new\r\n")),
      text.replace("R: 1\r\n", "R: 1\r\nN: new\r\n"),
    );
    assert.equal(join(withInserted(chunks, 0, "N: new\r\n")), "N: new\r\n" + text);
  }
});

Deno.test("property: removing any set of fields leaves exactly the other bytes", () => {
  const field = fc.tuple(
    fc.constantFrom("A", "Authentication-Results", "DKIM-Signature", "x"),
    fc.array(fc.stringMatching(/^[ -~]{0,20}$/), { minLength: 1, maxLength: 3 }),
  ).map(([name, lines]) => `${name}:${lines.join("\r\n ")}\r\n`);
  fc.assert(
    fc.property(
      fc.array(field, { maxLength: 12 }),
      fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
      fc.integer({ min: 0, max: 40 }),
      (fields, drop, size) => {
        const text = fields.join("") + "\r\nbody\r\n";
        const chunks = split(text, size);
        const parsed = headerFields(chunks).fields;
        assert.equal(parsed.length, fields.length);
        const gone = parsed.filter((_, i) => drop[i]);
        const expected = fields.filter((_, i) => !drop[i]).join("") + "\r\nbody\r\n";
        assert.equal(join(withoutFields(chunks, gone)), expected);
      },
    ),
  );
});

Deno.test("fuzz: any bytes in any chunks: fields in order, inside the header, never a throw", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 600 }),
      fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 20 }),
      (bytes, sizes) => {
        const chunks: Uint8Array[] = [];
        let at = 0;
        for (const n of sizes) {
          chunks.push(bytes.subarray(at, at + n));
          at += n;
        }
        chunks.push(bytes.subarray(at));
        const { fields, header } = headerFields(chunks);
        let last = 0;
        for (const f of fields) {
          assert.ok(f.start >= last && f.end > f.start && f.end <= header.length + 2);
          last = f.end;
          fieldValue(header, f);
        }
        const kept = withoutFields(chunks, fields);
        const removed = fields.reduce((n, f) => n + f.end - f.start, 0);
        assert.equal(kept.reduce((n, c) => n + c.length, 0), bytes.length - removed);
      },
    ),
  );
});
