/**
 * Relaxed canonicalization (RFC 6376 §3.4.2, §3.4.4): the one-pass byte version against a
 * plain reading of the RFC's rules (the regular expressions dkimpy applies), by property; the
 * simple body (§3.4.3) the same way; the header parser and the From field's domains by example.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { splitAt } from "../_helpers/bytes.ts";
import { fromLatin1, latin1 } from "../../src/bytes.ts";
import {
  parseHeader,
  RelaxedBody,
  relaxedBody,
  relaxedHeader,
  SimpleBody,
  splitChunks,
  splitMessage,
} from "../../src/dkim/canon.ts";
import { fromDomains, insertFields } from "../../src/dkim/signer.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => latin1(b);

/** The RFC's rules, one after the other, on text. */
function referenceBody(body: string): string {
  let s = body;
  if (s !== "" && !s.endsWith("\r\n")) s += "\r\n";
  s = s.replace(/[\t ]+\r\n/g, "\r\n").replace(/[\t ]+/g, " ");
  while (s.endsWith("\r\n\r\n")) s = s.slice(0, -2);
  return s === "\r\n" ? "" : s;
}

// Runs of text of every length: a word is copied octet by octet, a long run at once.
const LONG = "x".repeat(33);

Deno.test("relaxed body: equal to the RFC's rules applied one by one", () => {
  const piece = fc.constantFrom("a", "é", " ", "\t", "\r", "\n", "\r\n", "\r\n\r\n", "  \t", LONG);
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 60 }), (pieces) => {
      const body = pieces.join("");
      assert.equal(dec(relaxedBody(fromLatin1(body))), referenceBody(body));
    }),
    { numRuns: 3000 },
  );
});

Deno.test("relaxed body in pieces: the same whatever the cuts and the buffer size", () => {
  const piece = fc.constantFrom("a", " ", "\t", "\r", "\n", "\r\n", "\r\n\r\n", LONG, LONG + LONG);
  fc.assert(
    fc.property(
      fc.array(piece, { maxLength: 60 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      fc.integer({ min: 16, max: 40 }),
      (pieces, cuts, size) => {
        const body = fromLatin1(pieces.join(""));
        const out: string[] = [];
        const c = new RelaxedBody((b) => out.push(dec(b)), size);
        for (const part of splitAt(body, cuts)) c.update(part);
        c.end();
        assert.equal(out.join(""), dec(relaxedBody(body)));
      },
    ),
    { numRuns: 2000 },
  );
});

/** RFC 6376 §3.4.3 on text: empty lines at the end removed, then a CRLF where none ends it. */
function referenceSimpleBody(body: string): string {
  let s = body;
  while (s.endsWith("\r\n\r\n")) s = s.slice(0, -2);
  if (s === "\r\n") s = "";
  return s.endsWith("\r\n") ? s : `${s}\r\n`;
}

/** The simple canonical form of BODY fed in PARTS, as the sink saw it. */
function simpleInParts(parts: Uint8Array[]): string {
  const out: string[] = [];
  const c = new SimpleBody((b) => out.push(dec(b)));
  for (const part of parts) c.update(part);
  c.end();
  return out.join("");
}

Deno.test("simple body in pieces: the RFC's rule whatever the cuts", () => {
  const piece = fc.constantFrom("a", " ", "\r", "\n", "\r\n", "\r\n\r\n", "\r\r", LONG);
  fc.assert(
    fc.property(
      fc.array(piece, { maxLength: 60 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      (pieces, cuts) => {
        const body = pieces.join("");
        assert.equal(simpleInParts(splitAt(fromLatin1(body), cuts)), referenceSimpleBody(body));
      },
    ),
    { numRuns: 3000 },
  );
});

Deno.test("simple body: the edges, and many empty lines held back then given out", () => {
  for (const body of ["", "\r\n", "\r\n\r\n", "a", "a\r", "a\r\n\r", "\r", "\n", "a\n\r\n"]) {
    assert.equal(
      simpleInParts([fromLatin1(body)]),
      referenceSimpleBody(body),
      JSON.stringify(body),
    );
  }
  const many = "a\r\n" + "\r\n".repeat(5000);
  const bytes = fromLatin1(`${many}b`);
  // One CRLF at a time: every one is held back until the text after them comes.
  const parts = Array.from(
    { length: bytes.length / 2 },
    (_, i) => bytes.subarray(2 * i, 2 * i + 2),
  );
  parts.push(bytes.subarray(parts.length * 2));
  assert.equal(simpleInParts(parts), `${many}b\r\n`);
  assert.equal(simpleInParts([fromLatin1(many)]), "a\r\n");
});

Deno.test("split in chunks: the same header and body whatever the cuts", () => {
  const piece = fc.constantFrom("F: a", "\r\n", "\n", "\r", " x", "\r\n\r\n", "\n\n", "b");
  fc.assert(
    fc.property(
      fc.array(piece, { maxLength: 30 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      (pieces, cuts) => {
        const m = fromLatin1(pieces.join(""));
        const whole = splitMessage(m);
        const split = splitChunks(splitAt(m, cuts));
        assert.equal(dec(split.header), dec(whole.header));
        assert.equal(split.body.map(dec).join(""), dec(whole.body));
      },
    ),
    { numRuns: 2000 },
  );
});

Deno.test("relaxed body: examples of RFC 6376 §3.4.5 and the edges", () => {
  assert.equal(dec(relaxedBody(enc(" C \r\nD \t E\r\n\r\n\r\n"))), " C\r\nD E\r\n");
  assert.equal(dec(relaxedBody(enc(""))), "");
  assert.equal(dec(relaxedBody(enc("\r\n\r\n"))), "");
  assert.equal(dec(relaxedBody(enc("no final newline  "))), "no final newline\r\n");
  assert.equal(dec(relaxedBody(enc("a\r\n  \r\n\r\nb\r\n \r\n"))), "a\r\n\r\n\r\nb\r\n");
});

Deno.test("relaxed header: RFC 6376 §3.4.5's example", () => {
  assert.equal(relaxedHeader("A: X"), "a:X\r\n");
  assert.equal(relaxedHeader("B : Y\t\r\n\tZ  "), "b:Y Z\r\n");
  assert.equal(relaxedHeader("Subject:  a  b ", true), "subject:a b");
});

Deno.test("property: relaxed header canonicalization is RFC 6376 §3.4.2's, fast path or not", () => {
  // §3.4.2 step by step: lower-case name, unfold, WSP runs to one space, no WSP at the ends.
  const reference = (raw: string, last: boolean) => {
    const colon = raw.indexOf(":");
    const name = raw.slice(0, colon).replace(/[ \t]+$/, "").toLowerCase();
    const value = raw.slice(colon + 1).replace(/\r?\n/g, "").replace(/[ \t]+/g, " ")
      .replace(/^ | $/g, "");
    return `${name}:${value}${last ? "" : "\r\n"}`;
  };
  const text = fc.string({
    unit: fc.constantFrom("a", "B", " ", "  ", "\t", "\r\n ", "\n", "\r", "\u00a0", "\u00c3"),
  });
  fc.assert(
    fc.property(text, text, fc.boolean(), (name, value, last) => {
      const raw = `${name.replace(/:/g, "")}:${value}`;
      assert.equal(relaxedHeader(raw, last), reference(raw, last), JSON.stringify(raw));
    }),
    { numRuns: 3000 },
  );
});

Deno.test("header parsing: folds, the empty line, a header without a body", () => {
  const m = enc("From: a@b.c\r\nSubject: one\r\n two\r\nB : x\r\n\r\nbody\r\n\r\n");
  const { header, body } = splitMessage(m);
  assert.equal(dec(body), "body\r\n\r\n");
  const fields = parseHeader(header);
  assert.deepEqual(fields.map((f) => f.key), ["from", "subject", "b"]);
  assert.equal(fields[1]!.raw, "Subject: one\r\n two");
  const onlyHeader = splitMessage(enc("From: a@b.c\r\n"));
  assert.equal(onlyHeader.body.length, 0);
  assert.equal(parseHeader(onlyHeader.header).length, 1);
});

Deno.test("From domains: display names, comments, groups of mailboxes, UTF-8 domains", async () => {
  assert.deepEqual(await fromDomains("From: Ann <ann@A.Test>"), ["a.test"]);
  assert.deepEqual(await fromDomains('From: "x@evil.test" <ann@a.test>'), ["a.test"]);
  assert.deepEqual(await fromDomains("From: ann@a.test (from x@evil.test)"), ["a.test"]);
  assert.deepEqual(await fromDomains("From: a@one.test, b@two.test, c@one.test"), [
    "one.test",
    "two.test",
  ]);
  assert.deepEqual(await fromDomains(latin1(enc("From: Zoë <zoe@bücher.de>"))), [
    "xn--bcher-kva.de",
  ]);
  assert.deepEqual(await fromDomains("From: undisclosed"), []);
  assert.deepEqual(await fromDomains("From: <a@>"), []);
});

Deno.test("signature fields go below Return-Path, or first", () => {
  const sig = enc("DKIM-Signature: x\r\n");
  const withPath = insertFields(
    [enc("Return-Path: <a@b.c>\r\nReceived: x\r\n"), enc("B\r\n")],
    sig,
  );
  assert.equal(
    dec(fromLatin1(withPath.map(dec).join(""))),
    "Return-Path: <a@b.c>\r\nDKIM-Signature: x\r\nReceived: x\r\nB\r\n",
  );
  assert.equal(
    insertFields([enc("From: a\r\n")], sig).map(dec).join(""),
    "DKIM-Signature: x\r\nFrom: a\r\n",
  );
});
