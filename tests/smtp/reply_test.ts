/** Reply formatting and parsing (RFC 5321 §4.2, RFC 2034, RFC 3463). */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  errorToReply,
  formatReply,
  type ParsedReply,
  reply,
  ReplyParser,
  ReplySyntaxError,
  replyToString,
  SmtpError,
} from "../../src/smtp/reply.ts";

/** Feeds formatted wire text to a fresh parser, line by line; returns every reply. */
function parseWire(wire: string): ParsedReply[] {
  assert.ok(wire.endsWith("\r\n"), "wire text ends with CRLF");
  const p = new ReplyParser();
  const out: ParsedReply[] = [];
  for (const line of wire.slice(0, -2).split("\r\n")) {
    const r = p.push(line);
    if (r) out.push(r);
  }
  return out;
}

Deno.test("formatReply: single line with and without the enhanced code", () => {
  const r = reply(250, "2.1.0", "Sender OK");
  assert.equal(formatReply(r), "250 2.1.0 Sender OK\r\n");
  assert.equal(formatReply(r, true), "250 2.1.0 Sender OK\r\n");
  assert.equal(formatReply(r, false), "250 Sender OK\r\n");
  assert.equal(formatReply(reply(220, undefined, "mx ESMTP ready")), "220 mx ESMTP ready\r\n");
});

Deno.test("formatReply: multi-line puts '-' on all lines but the last", () => {
  const r = reply(250, undefined, "mx Hello\nPIPELINING\nHELP");
  assert.equal(formatReply(r), "250-mx Hello\r\n250-PIPELINING\r\n250 HELP\r\n");
  const e = reply(214, "2.0.0", "Commands: HELO\nSee RFC 5321");
  assert.equal(formatReply(e), "214-2.0.0 Commands: HELO\r\n214 2.0.0 See RFC 5321\r\n");
  assert.equal(formatReply(e, false), "214-Commands: HELO\r\n214 See RFC 5321\r\n");
});

Deno.test('formatReply: empty text keeps the space after the code (RFC 4954 §4 "334 ")', () => {
  assert.equal(formatReply(reply(334, undefined, "")), "334 \r\n");
  assert.equal(formatReply(reply(250, "2.0.0", "")), "250 2.0.0 \r\n");
  assert.equal(formatReply(reply(250, undefined, "a\n")), "250-a\r\n250 \r\n");
  // Regression: a reply without lines used to format to nothing at all.
  assert.equal(formatReply({ code: 250, enhanced: undefined, lines: [] }), "250 \r\n");
});

Deno.test("formatReply: CR or LF in a line cannot forge another reply line", () => {
  const hostile = ["x\r\n250 2.0.0 forged", "x\rQUIT", "x\n354 go", "\r\n\r\n"];
  for (const text of hostile) {
    const wire = formatReply({ code: 501, enhanced: "5.5.4", lines: [text] });
    assert.equal(wire.split("\r\n").length, 2, JSON.stringify(wire));
    assert.equal(wire.indexOf("\r"), wire.length - 2);
    assert.equal(wire.indexOf("\n"), wire.length - 1);
    assert.ok(wire.startsWith("501 5.5.4 "));
  }
});

Deno.test("SmtpError: fields, temporary, toReply, toString", () => {
  const cause = new Error("disk");
  const e = new SmtpError(452, "4.3.1", "Insufficient storage", { cause });
  assert.equal(e.code, 452);
  assert.equal(e.enhanced, "4.3.1");
  assert.equal(e.message, "Insufficient storage");
  assert.equal(e.cause, cause);
  assert.equal(e.name, "SmtpError");
  assert.equal(e.temporary, true);
  assert.equal(new SmtpError(550, "5.1.1", "x").temporary, false);
  assert.equal(new SmtpError(354, "2.0.0", "x").temporary, false);
  assert.deepEqual(e.toReply(), { code: 452, enhanced: "4.3.1", lines: ["Insufficient storage"] });
  assert.equal(e.toString(), "452 4.3.1 Insufficient storage");
});

Deno.test("errorToReply: SmtpError as itself, anything else 451 4.3.0", () => {
  assert.deepEqual(errorToReply(new SmtpError(550, "5.7.1", "Relaying denied")), {
    code: 550,
    enhanced: "5.7.1",
    lines: ["Relaying denied"],
  });
  for (const thrown of [new Error("secret detail"), "string", undefined, null, 42]) {
    const r = errorToReply(thrown);
    assert.equal(r.code, 451);
    assert.equal(r.enhanced, "4.3.0");
    assert.ok(!r.lines.join(" ").includes("secret"));
  }
});

Deno.test("replyToString: one line for logs", () => {
  assert.equal(replyToString(reply(550, "5.1.1", "No such user")), "550 5.1.1 No such user");
  assert.equal(replyToString(reply(250, undefined, "a\nb")), "250 a b");
});

Deno.test("ReplyParser: single line, with and without enhanced code", () => {
  const p = new ReplyParser();
  assert.deepEqual(p.push("250 2.1.0 Sender OK"), {
    code: 250,
    enhanced: "2.1.0",
    lines: ["Sender OK"],
  });
  assert.deepEqual(p.push("220 mx.test ESMTP ready"), {
    code: 220,
    enhanced: undefined,
    lines: ["mx.test ESMTP ready"],
  });
  assert.deepEqual(p.push("250"), { code: 250, enhanced: undefined, lines: [""] });
  assert.deepEqual(p.push("550 5.1.1"), { code: 550, enhanced: "5.1.1", lines: [""] });
  assert.deepEqual(p.push("552 5.3.4 "), { code: 552, enhanced: "5.3.4", lines: [""] });
});

Deno.test("ReplyParser: multi-line reply, returned only at its last line", () => {
  const p = new ReplyParser();
  assert.equal(p.push("250-mx.test Hello"), undefined);
  assert.equal(p.push("250-PIPELINING"), undefined);
  assert.equal(p.push("250-"), undefined);
  assert.deepEqual(p.push("250 HELP"), {
    code: 250,
    enhanced: undefined,
    lines: ["mx.test Hello", "PIPELINING", "", "HELP"],
  });
  // The parser is ready for the next reply.
  assert.deepEqual(p.push("221 2.0.0 Bye"), { code: 221, enhanced: "2.0.0", lines: ["Bye"] });
});

Deno.test("ReplyParser: enhanced code stripped from every line that has it", () => {
  const p = new ReplyParser();
  p.push("214-2.0.0 Commands: HELO");
  p.push("214-2.0.0");
  p.push("214-no status here");
  assert.deepEqual(p.push("214 2.0.0 See RFC 5321"), {
    code: 214,
    enhanced: "2.0.0",
    lines: ["Commands: HELO", "", "no status here", "See RFC 5321"],
  });
});

Deno.test("ReplyParser: only a whole status word is stripped (regression)", () => {
  const p = new ReplyParser();
  p.push("250-2.0.0 first");
  assert.deepEqual(p.push("250 2.0.0xyz"), {
    code: 250,
    enhanced: "2.0.0",
    lines: ["first", "2.0.0xyz"],
  });
});

Deno.test("ReplyParser: an enhanced code whose class differs from the reply is text", () => {
  const p = new ReplyParser();
  assert.deepEqual(p.push("250 5.1.1 odd"), {
    code: 250,
    enhanced: undefined,
    lines: ["5.1.1 odd"],
  });
  assert.deepEqual(p.push("550 5.1.1234 x"), {
    code: 550,
    enhanced: undefined,
    lines: ["5.1.1234 x"],
  });
  assert.deepEqual(p.push("550 1.1.1 x"), { code: 550, enhanced: undefined, lines: ["1.1.1 x"] });
});

Deno.test("ReplyParser: malformed lines throw ReplySyntaxError", () => {
  const bad = [
    "",
    "25",
    "2500 x",
    "250abc", // regression: no separator after the code
    "250\tx",
    "abc def",
    " 250 x",
    "150 x",
    "650 x",
    "099 x",
    "25O x",
  ];
  for (const line of bad) {
    assert.throws(() => new ReplyParser().push(line), ReplySyntaxError, JSON.stringify(line));
  }
});

Deno.test("ReplyParser: a code change inside a multi-line reply throws", () => {
  const p = new ReplyParser();
  p.push("250-first");
  assert.throws(() => p.push("251 second"), (e: unknown) => {
    assert.ok(e instanceof ReplySyntaxError);
    assert.match(e.message, /^Reply code changed inside a multi-line reply: 251/);
    return true;
  });
});

// Text that survives the wire: no CR/LF (those are replaced), printable-ish content.
const lineText = fc.string({ unit: "grapheme", maxLength: 40 }).map((s) =>
  s.replace(/[\r\n]/g, "")
);
const enhancedFor = (code: number) =>
  fc.tuple(fc.integer({ min: 0, max: 999 }), fc.integer({ min: 0, max: 999 })).map(([a, b]) =>
    `${String(code)[0]}.${a}.${b}`
  );

Deno.test("property: formatReply then ReplyParser round-trips code, enhanced, lines", () => {
  const arb = fc.integer({ min: 200, max: 599 }).chain((code) =>
    fc.record({
      code: fc.constant(code),
      // RFC 3463 classes are 2, 4 and 5 only: a 3xx reply has no enhanced code.
      enhanced: code >= 300 && code < 400
        ? fc.constant(undefined)
        : fc.option(enhancedFor(code), { nil: undefined }),
      lines: fc.array(lineText, { minLength: 1, maxLength: 6 }),
    })
  ).filter((r) =>
    // Without an enhanced code, a first line that looks like one is read as one.
    r.enhanced !== undefined ||
    !/^[245]\.\d{1,3}\.\d{1,3}(?: |$)/.test(r.lines[0] ?? "")
  );
  fc.assert(
    fc.property(arb, (r) => {
      const parsed = parseWire(formatReply(r, true));
      assert.equal(parsed.length, 1);
      assert.deepEqual(parsed[0], { code: r.code, enhanced: r.enhanced, lines: r.lines });
    }),
    { seed: 5321, numRuns: 500 },
  );
});

Deno.test("property: any text formats to exactly one reply, one wire line per text line", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 200, max: 599 }),
      fc.array(fc.string({ maxLength: 30 }), { maxLength: 5 }),
      (code, lines) => {
        const wire = formatReply({ code, enhanced: undefined, lines });
        assert.equal(wire.split("\r\n").length - 1, Math.max(1, lines.length));
        const parsed = parseWire(wire);
        assert.equal(parsed.length, 1);
        assert.equal(parsed[0]?.code, code);
      },
    ),
    { seed: 2034, numRuns: 300 },
  );
});

Deno.test("property: ReplyParser on arbitrary lines returns or throws ReplySyntaxError", () => {
  fc.assert(
    fc.property(fc.array(fc.string({ maxLength: 20 }), { maxLength: 8 }), (lines) => {
      const p = new ReplyParser();
      for (const l of lines) {
        try {
          p.push(l);
        } catch (e) {
          assert.ok(e instanceof ReplySyntaxError, String(e));
        }
      }
    }),
    { seed: 3463, numRuns: 300 },
  );
});
