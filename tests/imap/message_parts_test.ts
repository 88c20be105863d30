/**
 * The structure parser on hostile input: any bytes give a tree whose offsets stay inside the
 * message, nesting and part counts are capped, and building every response from it never throws.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { concatBytes } from "../../src/bytes.ts";
import { bodyStructure } from "../../src/imap/body_structure.ts";
import { contentItem } from "../../src/imap/fetch_data.ts";
import {
  findPart,
  MAX_DEPTH,
  MAX_PARTS,
  parseParameterized,
  parseStructure,
  type Part,
} from "../../src/imap/message_parts.ts";
import { encodeItem } from "../../src/imap/response.ts";
import { decodeQuotedPrintable, headerFields } from "../../src/imap/sections.ts";

const enc = (s: string) => new TextEncoder().encode(s);

function walk(p: Part, size: number, depth = 0): number {
  assert.ok(p.headerStart <= p.bodyStart && p.bodyStart <= p.bodyEnd && p.bodyEnd <= size);
  let deepest = depth;
  for (const c of p.children ?? []) deepest = Math.max(deepest, walk(c, size, depth + 1));
  if (p.message) deepest = Math.max(deepest, walk(p.message, size, depth + 1));
  return deepest;
}

function count(p: Part): number {
  return 1 + (p.children ?? []).reduce((n, c) => n + count(c), 0) +
    (p.message ? count(p.message) : 0);
}

Deno.test("structure: nesting is capped, however deep the message goes", () => {
  const levels = 10_000;
  const open = Array.from(
    { length: levels },
    (_, i) => `Content-Type: multipart/mixed; boundary=b${i}\r\n\r\n--b${i}\r\n`,
  ).join("");
  const message = enc(`Subject: deep\r\n${open}Content-Type: text/plain\r\n\r\nbottom\r\n`);
  const root = parseStructure(message);
  assert.ok(walk(root, message.length) <= MAX_DEPTH);
  // And every response built from it is finite and well-formed.
  const out: Uint8Array[] = [];
  encodeItem(bodyStructure(message, root, true), { utf8: false }, out);
  assert.ok(concatBytes(out).length < 100_000);
});

Deno.test("structure: the number of parts is capped", () => {
  const parts = Array.from({ length: 5000 }, () => "--b\r\n\r\nx\r\n").join("");
  const message = enc(`Content-Type: multipart/mixed; boundary=b\r\n\r\n${parts}--b--\r\n`);
  const root = parseStructure(message);
  assert.ok(count(root) <= MAX_PARTS + 1);
});

Deno.test("structure: part numbers as RFC 9051 §6.4.5 defines them", () => {
  const message = enc(
    "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\nContent-Type: text/plain\r\n\r\none\r\n--o\r\nContent-Type: message/rfc822\r\n\r\nSubject: in\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n--i\r\n\r\nA\r\n--i\r\n\r\nB\r\n--i--\r\n--o--\r\n",
  );
  const root = parseStructure(message);
  const body = (n: number[]) => {
    const p = findPart(root, n);
    return p ? new TextDecoder().decode(message.subarray(p.bodyStart, p.bodyEnd)) : undefined;
  };
  assert.equal(body([1]), "one");
  assert.equal(body([1, 1]), "one");
  assert.equal(body([1, 1, 1]), undefined);
  assert.equal(body([2, 1]), "A");
  assert.equal(body([2, 2]), "B");
  assert.equal(body([2, 3]), undefined);
  assert.equal(body([3]), undefined);
  // A single-part message is its own part 1, once.
  const single = parseStructure(enc("Subject: s\r\n\r\nbody\r\n"));
  assert.equal(findPart(single, [1]), single);
  assert.equal(findPart(single, [1, 1]), undefined);
});

Deno.test("structure: parameters, quoting, comments and RFC 2231 continuations", () => {
  assert.deepEqual(parseParameterized('text/plain; charset="utf-8" (comment); format=flowed'), {
    value: "text/plain",
    params: [["charset", "utf-8"], ["format", "flowed"]],
  });
  assert.deepEqual(parseParameterized('application/x; name*0="long "; name*1="name.bin"').params, [[
    "name",
    "long name.bin",
  ]]);
  assert.deepEqual(parseParameterized("attachment; filename*=UTF-8''%C3%BC.png").params, [[
    "filename*",
    "UTF-8''%C3%BC.png",
  ]]);
  assert.deepEqual(parseParameterized('x; a="q\\"uote"').params, [["a", 'q"uote']]);
});

Deno.test("sections: header fields keep their folding; quoted-printable decodes per RFC 2045", () => {
  const header = enc("From: a\r\nSubject: one\r\n two\r\nTo: b\r\n\r\n");
  assert.equal(
    new TextDecoder().decode(headerFields(header, ["SUBJECT"], false)),
    "Subject: one\r\n two\r\n\r\n",
  );
  assert.equal(new TextDecoder().decode(headerFields(header, ["FROM", "TO", "SUBJECT"], true)), "");
  assert.equal(
    new TextDecoder().decode(decodeQuotedPrintable(enc("caf=C3=A9 =\r\nsoft  \r\n=3D=xx=\n"))),
    "café soft\r\n==xx",
  );
});

Deno.test("structure: any bytes give a sane tree and responses, never a throw (fuzz)", () => {
  const pieces = [
    "Content-Type: multipart/mixed; boundary=b\r\n",
    "Content-Type: message/rfc822\r\n",
    "Content-Type: text/plain\r\n",
    "Content-Transfer-Encoding: base64\r\n",
    "Content-Transfer-Encoding: quoted-printable\r\n",
    "Content-Disposition: attachment; filename=x\r\n",
    "--b\r\n",
    "--b--\r\n",
    "\r\n",
    "\n",
    "From: a <b@c>, (x) d@e, g: h@i;\r\n",
    "x",
    "=\r\n",
    "AAEC",
    "Subject: \x80\xff\r\n",
    " folded\r\n",
    ":",
    "\r",
  ];
  const arb = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.array(fc.constantFrom(...pieces), { maxLength: 40 }).map((p) => enc(p.join(""))),
  );
  fc.assert(
    fc.property(arb, (message) => {
      const root = parseStructure(message);
      walk(root, message.length);
      const content = { bytes: message, structure: root };
      for (
        const item of [
          { kind: "ENVELOPE" },
          { kind: "BODYSTRUCTURE" },
          { kind: "BODY" },
          { kind: "BODY[]", section: { part: [] }, peek: true },
          { kind: "BODY[]", section: { part: [1] }, peek: true },
          { kind: "BODY[]", section: { part: [1], text: "MIME" }, peek: true },
          { kind: "BODY[]", section: { part: [2], text: "HEADER" }, peek: true },
          { kind: "BODY[]", section: { part: [1, 2], text: "TEXT" }, peek: true },
          {
            kind: "BODY[]",
            section: { part: [], text: "HEADER.FIELDS", fields: ["FROM"] },
            peek: true,
          },
          { kind: "BINARY.SIZE", part: [2] },
        ] as const
      ) {
        const pair = contentItem(content, item);
        const out: Uint8Array[] = [];
        encodeItem(pair![0], { utf8: false }, out);
        encodeItem(pair![1], { utf8: false }, out);
      }
    }),
    { numRuns: 1000 },
  );
});

Deno.test("structure: an empty part between two delimiters stays inside its bounds (fuzz regression)", () => {
  const message = new TextEncoder().encode(
    "Content-Type: multipart/mixed; boundary=b\r\n\n--b\r\n\n--b\r\n",
  );
  const root = parseStructure(message);
  walk(root, message.length);
  for (const c of root.children ?? []) assert.ok(c.bodyStart <= c.bodyEnd);
});
