/** The MTA-STS policy file (RFC 8461 §3.2), the TXT record (§3.1) and MX matching (§4.1). */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  MAX_AGE_LIMIT,
  MAX_MX_PATTERNS,
  MAX_POLICY_BYTES,
  mxAllowed,
  mxMatches,
  parsePolicy,
  parseStsRecord,
  PolicySyntaxError,
  stsRecordId,
} from "../../src/mta_sts/mod.ts";

const GOOD = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\n" +
  "mx: backupmx.example.com\r\nmax_age: 604800\r\n";

Deno.test("policy: RFC 8461 §3.2's example parses", () => {
  assert.deepEqual(parsePolicy(GOOD), {
    mode: "enforce",
    mx: ["mail.example.com", "*.example.net", "backupmx.example.com"],
    maxAge: 604800,
  });
  // As bytes, with LF line ends, with no final line end.
  assert.deepEqual(
    parsePolicy(new TextEncoder().encode(GOOD.replaceAll("\r\n", "\n").trimEnd())),
    parsePolicy(GOOD),
  );
});

Deno.test("policy: accepted variants", () => {
  const cases: [string, object][] = [
    // Unknown keys are ignored; keys are case-insensitive (ABNF literals), white space after
    // the colon and at the end is not part of the value.
    [
      "version: STSv1\nMode:   testing\t\nmx: MX.Example.COM.\nx-ext: anything at all\nmax_age: 0\n",
      { mode: "testing", mx: ["mx.example.com"], maxAge: 0 },
    ],
    // mode none needs no mx.
    ["version: STSv1\nmode: none\nmax_age: 86400\n", { mode: "none", mx: [], maxAge: 86400 }],
    // The first of a repeated key counts.
    [
      "version: STSv1\nmode: enforce\nmode: none\nmx: a.test\nmax_age: 10\nmax_age: 20\n",
      { mode: "enforce", mx: ["a.test"], maxAge: 10 },
    ],
    // A max_age past the limit is cut to it.
    [
      "version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 9999999999\n",
      { mode: "enforce", mx: ["a.test"], maxAge: MAX_AGE_LIMIT },
    ],
  ];
  for (const [text, want] of cases) assert.deepEqual(parsePolicy(text), want, text);
});

Deno.test("policy: refused with a typed error", () => {
  const cases: [string | Uint8Array, RegExp][] = [
    ["", /no version/],
    ["mode: enforce\nmx: a.test\nmax_age: 1\n", /no version/],
    ["version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 1\n", /not STSv1/],
    ["version: stsv1\nmode: enforce\nmx: a.test\nmax_age: 1\n", /not STSv1/],
    ["version: STSv1\nmode: ENFORCE\nmx: a.test\nmax_age: 1\n", /unknown mode/],
    ["version: STSv1\nmx: a.test\nmax_age: 1\n", /no mode/],
    ["version: STSv1\nmode: enforce\nmx: a.test\n", /max_age/],
    ["version: STSv1\nmode: enforce\nmx: a.test\nmax_age: -1\n", /max_age/],
    ["version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 12345678901\n", /max_age/],
    ["version: STSv1\nmode: enforce\nmax_age: 1\n", /no mx/],
    ["version: STSv1\nmode: testing\nmax_age: 1\n", /no mx/],
    ["version: STSv1\nmode: enforce\nmx: a..test\nmax_age: 1\n", /mx pattern/],
    ["version: STSv1\nmode: enforce\nmx: *.*.test\nmax_age: 1\n", /mx pattern/],
    ["version: STSv1\nmode: enforce\nmx: mx.test:25\nmax_age: 1\n", /mx pattern/],
    ["version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 1\ngarbage\n", /not key: value/],
    [new Uint8Array([0x76, 0xff, 0x3a]), /not UTF-8/],
    [new Uint8Array(MAX_POLICY_BYTES + 1).fill(0x0a), /larger than/],
    [
      "version: STSv1\nmode: enforce\nmax_age: 1\n" +
      Array.from({ length: MAX_MX_PATTERNS + 1 }, (_, i) => `mx: mx${i}.test\n`).join(""),
      /more than 100 mx/,
    ],
  ];
  for (const [input, why] of cases) {
    assert.throws(() => parsePolicy(input), (err: unknown) => {
      assert.ok(err instanceof PolicySyntaxError, String(err));
      assert.equal(err.result, "sts-policy-invalid");
      assert.match(err.message, why);
      return true;
    }, JSON.stringify(typeof input === "string" ? input : "bytes"));
  }
  // 100 patterns are fine.
  const hundred = "version: STSv1\nmode: enforce\nmax_age: 1\n" +
    Array.from({ length: MAX_MX_PATTERNS }, (_, i) => `mx: mx${i}.test\n`).join("");
  assert.equal(parsePolicy(hundred).mx.length, MAX_MX_PATTERNS);
});

Deno.test("policy: any bytes give a policy or a PolicySyntaxError (property)", () => {
  const line = fc.oneof(
    fc.constantFrom(
      "version: STSv1",
      "mode: enforce",
      "mode: testing",
      "mode: none",
      "mx: a.test",
      "mx: *.b.test",
      "max_age: 86400",
      "",
      "x: y",
    ),
    fc.string({ maxLength: 40 }),
  );
  const text = fc.array(line, { maxLength: 12 }).map((ls) => ls.join("\n"));
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    text.map((t) => new TextEncoder().encode(t)),
  );
  fc.assert(
    fc.property(bytes, (b) => {
      try {
        const p = parsePolicy(b);
        assert.ok(["enforce", "testing", "none"].includes(p.mode));
        assert.ok(p.mode === "none" || p.mx.length > 0);
        assert.ok(p.maxAge >= 0 && p.maxAge <= MAX_AGE_LIMIT);
        assert.ok(p.mx.length <= MAX_MX_PATTERNS);
      } catch (err) {
        if (!(err instanceof PolicySyntaxError)) throw err;
      }
    }),
    { numRuns: 2000 },
  );
});

Deno.test("TXT record: ids and refusals (RFC 8461 §3.1)", () => {
  assert.equal(parseStsRecord("v=STSv1; id=20160831085700Z;"), "20160831085700Z");
  assert.equal(parseStsRecord("v=STSv1;id=abc"), "abc");
  assert.equal(parseStsRecord("v=STSv1; id=abc; ext=value;"), "abc");
  assert.equal(parseStsRecord("v=STSv1 ;\tid=abc ; "), "abc");
  for (
    const bad of [
      "v=STSv1",
      "v=STSv1;",
      "v=STSv1; id=",
      "v=STSv1; id=abc-def",
      `v=STSv1; id=${"a".repeat(33)}`,
      "v=STSv1; id=abc;; x=y",
      "v=STSv1; =abc",
      "v=STSv2; id=abc",
      "v=STSv1; id=abc; bad name=x",
    ]
  ) {
    assert.throws(() => parseStsRecord(bad), PolicySyntaxError, bad);
  }
});

Deno.test("TXT record: exactly one record starting with v=STSv1", () => {
  assert.equal(stsRecordId([]), undefined);
  assert.equal(stsRecordId([["v=spf1 -all"]]), undefined);
  // Strings of one record are joined; other records are ignored.
  assert.equal(stsRecordId([["v=spf1 -all"], ["v=STSv1; ", "id=x1"]]), "x1");
  assert.throws(() => stsRecordId([["v=STSv1; id=a"], ["v=STSv1; id=b"]]), /More than one/);
  assert.throws(() => stsRecordId([["v=STSv1; id=a"], ["v=STSv1; nonsense"]]), /More than one/);
  assert.throws(() => stsRecordId([["v=STSv1; id=a; x=" + "y".repeat(3000)]]), /longer than/);
  // Only the first 32 records are looked at.
  const many = Array.from({ length: 40 }, () => ["v=spf1"]);
  many.push(["v=STSv1; id=late"]);
  assert.equal(stsRecordId(many), undefined);
});

Deno.test("TXT record: any text gives an id or a PolicySyntaxError (property)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.oneof(fc.string(), fc.constant("v=STSv1; id=abc")), { maxLength: 3 }), {
        maxLength: 4,
      }),
      (records) => {
        try {
          const id = stsRecordId(records);
          assert.ok(id === undefined || /^[A-Za-z0-9]{1,32}$/.test(id));
        } catch (err) {
          if (!(err instanceof PolicySyntaxError)) throw err;
        }
      },
    ),
    { numRuns: 2000 },
  );
});

Deno.test("MX patterns: exact names and one-label wildcards (RFC 8461 §4.1)", () => {
  const table: [string, string, boolean][] = [
    ["mail.example.com", "mail.example.com", true],
    ["mail.example.com", "MAIL.Example.com.", true],
    ["mail.example.com", "mail2.example.com", false],
    ["*.example.com", "mx1.example.com", true],
    ["*.example.com", "example.com", false],
    ["*.example.com", "a.b.example.com", false],
    ["*.example.com", "mx1.example.community", false],
    ["*.example.com", "mx1.notexample.com", false],
    ["*.example.com", ".example.com", false],
    ["example.com", "mx.example.com", false],
    ["", "", false],
  ];
  for (const [pattern, host, want] of table) {
    assert.equal(mxMatches(pattern, host), want, `${pattern} ~ ${host}`);
  }
  assert.equal(mxAllowed(["a.test", "*.b.test"], "x.b.test"), true);
  assert.equal(mxAllowed(["a.test", "*.b.test"], "b.test"), false);
  assert.equal(mxAllowed([], "a.test"), false);
});
