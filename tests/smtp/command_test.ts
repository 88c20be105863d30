/** Command parsing: verbs, MAIL/RCPT arguments, ESMTP parameters, HELO names. */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  parseCommand,
  parseHeloName,
  parseMail,
  parseRcpt,
  syntaxError,
} from "../../src/smtp/command.ts";
import { SmtpError } from "../../src/smtp/reply.ts";

const MAX = 10000;

/** Asserts that `fn` throws an SmtpError with this code and enhanced code (and text, if given). */
function refuses(
  fn: () => unknown,
  code: number,
  enhanced: string,
  text: RegExp | undefined,
  what: string,
): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SmtpError, `${what}: threw ${String(e)}`);
    assert.equal(`${e.code} ${e.enhanced}`, `${code} ${enhanced}`, `${what}: ${e.message}`);
    if (text) assert.match(e.message, text, what);
    return true;
  });
}

Deno.test("parseCommand: verb upper-cased, args trimmed", () => {
  assert.deepEqual(parseCommand("mail FROM:<a@b.c>"), { verb: "MAIL", args: "FROM:<a@b.c>" });
  assert.deepEqual(parseCommand("QUIT"), { verb: "QUIT", args: "" });
  assert.deepEqual(parseCommand("rset   "), { verb: "RSET", args: "" });
  assert.deepEqual(parseCommand("EHLO   a.b  "), { verb: "EHLO", args: "a.b" });
  assert.deepEqual(parseCommand(""), { verb: "", args: "" });
  assert.deepEqual(parseCommand(" NOOP"), { verb: "", args: "NOOP" });
});

Deno.test("syntaxError: 501 5.5.4", () => {
  const e = syntaxError("Bad");
  assert.equal(e.toString(), "501 5.5.4 Bad");
});

Deno.test("parseMail: valid arguments", () => {
  const ok: [string, boolean, { local?: string; size?: number; body?: string; utf8?: boolean }][] =
    [
      ["FROM:<a@b.c>", true, { local: "a" }],
      ["from:<a@b.c>", true, { local: "a" }],
      ["FROM: <a@b.c>", true, { local: "a" }],
      ["FROM:   <a@b.c>", true, { local: "a" }],
      ["FROM:<>", true, {}],
      ["FROM:<> SIZE=0", true, { size: 0 }],
      ["FROM:<a@b.c> SIZE=10000", true, { local: "a", size: 10000 }],
      ["FROM:<a@b.c> size=12 body=7bit", true, { local: "a", size: 12, body: "7BIT" }],
      ["FROM:<a@b.c>  BODY=8BITMIME  ", true, { local: "a", body: "8BITMIME" }],
      ["FROM:<jörg@b.c> SMTPUTF8", true, { local: "jörg", utf8: true }],
      ["FROM:<a@b.c> smtputf8 BODY=8BITMIME SIZE=1", true, {
        local: "a",
        utf8: true,
        body: "8BITMIME",
        size: 1,
      }],
      ['FROM:<"a>b"@b.c>', true, { local: '"a>b"' }],
      ['FROM:<"a\\">"@b.c> SIZE=5', true, { local: '"a\\">"', size: 5 }],
      ["FROM:<@r.test:a@b.c>", true, { local: "a" }],
      ["FROM:<a@b.c>", false, { local: "a" }],
    ];
  for (const [args, esmtp, want] of ok) {
    const m = parseMail(args, esmtp, MAX);
    assert.equal(m.sender?.local, want.local, args);
    assert.equal(m.params.size, want.size, args);
    assert.equal(m.params.body, want.body, args);
    assert.equal(m.params.smtputf8, want.utf8 ?? false, args);
  }
  assert.equal(parseMail("FROM:<>", true, MAX).sender, undefined);
});

Deno.test("parseMail: each refusal has its reply code", () => {
  const cases: [string, boolean, number, string, RegExp][] = [
    // 501 5.5.4: command syntax and parameter syntax.
    ["", true, 501, "5.5.4", /^Syntax: MAIL FROM:<address>$/],
    ["TO:<a@b.c>", true, 501, "5.5.4", /^Syntax: MAIL FROM:/],
    ["FROM<a@b.c>", true, 501, "5.5.4", /^Syntax: MAIL FROM:/],
    ["FROM:a@b.c", true, 501, "5.5.4", /enclosed in <>/],
    ["FROM:", true, 501, "5.5.4", /enclosed in <>/],
    ["FROM:<a@b.c", true, 501, "5.5.4", /missing >/],
    ['FROM:<"a>@b.c', true, 501, "5.5.4", /missing >/],
    ["FROM:<a@b.c>SIZE=1", true, 501, "5.5.4", /Space expected/],
    ["FROM:<a@b.c>\tSIZE=1", true, 501, "5.5.4", /Space expected/],
    ["FROM:<a@b.c> =1", true, 501, "5.5.4", /Invalid parameter =1/],
    ["FROM:<a@b.c> -X", true, 501, "5.5.4", /Invalid parameter/],
    ["FROM:<a@b.c> X_Y=1", true, 501, "5.5.4", /Invalid parameter/],
    ["FROM:<a@b.c> SIZE", true, 501, "5.5.4", /Bad SIZE value/],
    ["FROM:<a@b.c> SIZE=", true, 501, "5.5.4", /Bad SIZE value/],
    ["FROM:<a@b.c> SIZE=-1", true, 501, "5.5.4", /Bad SIZE value/],
    ["FROM:<a@b.c> SIZE=1e3", true, 501, "5.5.4", /Bad SIZE value/],
    ["FROM:<a@b.c> SIZE=123456789012345678901", true, 501, "5.5.4", /Bad SIZE value/],
    ["FROM:<a@b.c> SIZE=1 size=2", true, 501, "5.5.4", /Duplicate parameter SIZE/],
    ["FROM:<a@b.c> SMTPUTF8=yes", true, 501, "5.5.4", /takes no value/],
    // 501 5.1.7: bad sender mailbox syntax (RFC 3463).
    ["FROM:<a>", true, 501, "5.1.7", /^Bad address syntax: /],
    ["FROM:<a@@b.c>", true, 501, "5.1.7", /^Bad address syntax: /],
    ["FROM:<a b@b.c>", true, 501, "5.1.7", /^Bad address syntax: /],
    ["FROM:<jörg@b.c>", true, 501, "5.1.7", /requires SMTPUTF8/],
    ["FROM:<jörg@b.c>", false, 501, "5.1.7", /requires SMTPUTF8/],
    [`FROM:<${"a".repeat(65)}@b.c>`, true, 501, "5.1.7", /Local part too long/],
    ["FROM:<a@[1.2.3]>", true, 501, "5.1.7", /Invalid address literal/],
    // 555 5.5.4: parameters not recognised or not implemented.
    ["FROM:<a@b.c> FOO=bar", true, 555, "5.5.4", /^Unsupported parameter FOO$/],
    ["FROM:<a@b.c> RET=HDRS", true, 555, "5.5.4", /Unsupported parameter RET/],
    ["FROM:<a@b.c> AUTH=<>", true, 555, "5.5.4", /Unsupported parameter AUTH/],
    ["FROM:<a@b.c> BODY=BINARYMIME", true, 555, "5.5.4", /Unsupported BODY value BINARYMIME/],
    ["FROM:<a@b.c> BODY", true, 501, "5.5.4", /BODY needs a value/],
    // Without EHLO there are no parameters at all.
    ["FROM:<a@b.c> SIZE=1", false, 555, "5.5.4", /Unsupported parameter SIZE/],
    ["FROM:<a@b.c> SMTPUTF8", false, 555, "5.5.4", /Unsupported parameter SMTPUTF8/],
    // 552 5.3.4: declared size over the fixed maximum (RFC 1870 §6.2).
    ["FROM:<a@b.c> SIZE=10001", true, 552, "5.3.4", /exceeds fixed maximum of 10000/],
    ["FROM:<a@b.c> SIZE=99999999999999999999", true, 552, "5.3.4", /fixed maximum/],
  ];
  for (const [args, esmtp, code, enhanced, text] of cases) {
    refuses(() => parseMail(args, esmtp, MAX), code, enhanced, text, args);
  }
});

Deno.test("parseRcpt: valid arguments and the domain-less Postmaster", () => {
  assert.deepEqual(parseRcpt("TO:<alice@example.test>", false), {
    recipient: { local: "alice", domain: "example.test", utf8: false },
    postmaster: false,
  });
  assert.equal(parseRcpt("to: <alice@example.test>", false).recipient?.local, "alice");
  assert.equal(parseRcpt('TO:<"a b"@example.test>', false).recipient?.local, '"a b"');
  assert.equal(parseRcpt("TO:<@r.test,@s.test:u@example.test>", false).recipient?.local, "u");
  assert.equal(parseRcpt("TO:<jörg@bücher.test>", true).recipient?.utf8, true);
  for (const pm of ["<Postmaster>", "<postmaster>", "<POSTMASTER>"]) {
    assert.deepEqual(parseRcpt(`TO:${pm}`, false), { recipient: undefined, postmaster: true });
  }
  assert.deepEqual(parseRcpt("TO:<postmaster@example.test>", false), {
    recipient: { local: "postmaster", domain: "example.test", utf8: false },
    postmaster: false,
  });
});

Deno.test("parseRcpt: each refusal has its reply code", () => {
  const cases: [string, boolean, number, string, RegExp][] = [
    ["", false, 501, "5.5.4", /^Syntax: RCPT TO:<address>$/],
    ["FROM:<a@b.c>", false, 501, "5.5.4", /Syntax: RCPT TO:/],
    ["TO:a@b.c", false, 501, "5.5.4", /enclosed in <>/],
    ["TO:<a@b.c", false, 501, "5.5.4", /missing >/],
    ["TO:<a@b.c>x", false, 501, "5.5.4", /Space expected/],
    ["TO:<a@b.c> =x", false, 501, "5.5.4", /Invalid parameter/],
    ["TO:<>", false, 501, "5.1.3", /Null path not allowed here/],
    ["TO:<alice>", false, 501, "5.1.3", /^Bad address syntax: /],
    ["TO:<a..b@c.d>", false, 501, "5.1.3", /^Bad address syntax: /],
    ["TO:<jörg@example.test>", false, 501, "5.1.3", /requires SMTPUTF8/],
    ["TO:<u@bücher.test>", false, 501, "5.1.3", /requires SMTPUTF8/],
    ["TO:<Postmaster@>", false, 501, "5.1.3", /Empty domain/],
    // DSN is not offered: NOTIFY and ORCPT are unknown parameters, checked before the address.
    ["TO:<a@b.c> NOTIFY=NEVER", false, 555, "5.5.4", /^Unsupported parameter NOTIFY$/],
    ["TO:<a@b.c> ORCPT=rfc822;a@b.c", false, 555, "5.5.4", /Unsupported parameter ORCPT/],
    ["TO:<bad> NOTIFY=NEVER", false, 555, "5.5.4", /Unsupported parameter NOTIFY/],
    ["TO:<Postmaster> X", false, 555, "5.5.4", /Unsupported parameter X/],
  ];
  for (const [args, utf8, code, enhanced, text] of cases) {
    refuses(() => parseRcpt(args, utf8), code, enhanced, text, args);
  }
});

Deno.test("parseHeloName: domains, literals, tolerated underscores", () => {
  const ok: [string, string][] = [
    ["client.test", "client.test"],
    ["client.test.", "client.test."],
    ["CLIENT", "CLIENT"],
    ["WIN_PC", "WIN_PC"],
    ["my_host.corp.test", "my_host.corp.test"],
    ["bücher.test", "bücher.test"],
    ["[127.0.0.1]", "[127.0.0.1]"],
    ["[IPv6:::1]", "[IPv6:::1]"],
    ["client.test extra words", "client.test"],
  ];
  for (const [args, want] of ok) assert.equal(parseHeloName(args), want, args);
  const bad: [string, RegExp][] = [
    ["", /Domain name required/],
    [" client.test", /Domain name required/],
    ["bad..name", /Invalid domain name/],
    ["-bad.test", /Invalid domain name/],
    ["bad-.test", /Invalid domain name/],
    ["bad!.test", /Invalid domain name/],
    [".", /Invalid domain name/],
    ["[]", /Invalid address literal/],
    ["[1.2.3.4 ]", /Invalid domain name/], // the name ends at the space
    ["[a;b]", /Invalid address literal/],
    ["<client.test>", /Invalid domain name/],
    [`${"a".repeat(64)}.test`, /Invalid domain name/],
  ];
  for (const [args, text] of bad) refuses(() => parseHeloName(args), 501, "5.5.4", text, args);
});

const argAlphabet = fc.constantFrom(
  ...'<>@.:=,"\\[]- _aZ09ö\x00\t'.split(""),
  "FROM:",
  "TO:",
  "from:",
  "SIZE=",
  "BODY=",
  "8BITMIME",
  "SMTPUTF8",
  "99999999999999999999",
  "<>",
  "<Postmaster>",
  "IPv6:",
  "@a.b:",
);
const argString = fc.oneof(
  fc.array(argAlphabet, { maxLength: 30 }).map((a) => a.join("")),
  fc.string({ maxLength: 80 }),
  fc.string({ unit: "binary", maxLength: 80 }),
);

Deno.test("property: MAIL, RCPT and HELO arguments give a result or an SmtpError", () => {
  const codes = new Set(["501 5.5.4", "501 5.1.7", "501 5.1.3", "555 5.5.4", "552 5.3.4"]);
  const check = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      if (!(e instanceof SmtpError)) throw e;
      assert.ok(codes.has(`${e.code} ${e.enhanced}`), e.toString());
    }
  };
  fc.assert(
    fc.property(argString, fc.boolean(), fc.boolean(), (args, esmtp, utf8) => {
      check(() => parseMail(args, esmtp, MAX));
      check(() => parseRcpt(args, utf8));
      check(() => parseHeloName(args));
      check(() => parseMail(`FROM:${args}`, esmtp, MAX));
      check(() => parseRcpt(`TO:${args}`, utf8));
      check(() => parseMail(`FROM:<a@b.c> ${args}`, esmtp, MAX));
    }),
    { seed: 1870, numRuns: 2000 },
  );
});
