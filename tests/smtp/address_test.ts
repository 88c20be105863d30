/** RFC 5321 §4.1.2 paths and mailboxes, RFC 6531 UTF-8 addresses. */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  AddressError,
  canonicalAddress,
  canonicalFromInput,
  domainOf,
  mailboxToString,
  MAX_DOMAIN,
  MAX_LOCAL_PART,
  MAX_PATH,
  parseAddressLiteral,
  parseDomain,
  parseMailbox,
  parsePath,
} from "../../src/smtp/address.ts";

const enc = new TextEncoder();
const octets = (s: string) => enc.encode(s).length;

function rejects(fn: () => unknown, reason: RegExp | string, what: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof AddressError, `${what}: ${String(e)}`);
    if (typeof reason === "string") assert.equal(e.message, reason, what);
    else assert.match(e.message, reason, what);
    return true;
  });
}

Deno.test("parseMailbox: valid dot-atoms and quoted strings", () => {
  const ok: [string, string, string][] = [
    ["a@b.c", "a", "b.c"],
    ["first.last@example.test", "first.last", "example.test"],
    ["x!#$%&'*+-/=?^_`{|}~y@example.test", "x!#$%&'*+-/=?^_`{|}~y", "example.test"],
    ["UPPER@Example.TEST", "UPPER", "Example.TEST"],
    ["1@2.3", "1", "2.3"],
    ["a@localhost", "a", "localhost"],
    ["a@x-y.z0", "a", "x-y.z0"],
    ['"a b"@example.test', '"a b"', "example.test"],
    ['"a@b"@example.test', '"a@b"', "example.test"],
    ['""@example.test', '""', "example.test"],
    ['"a\\"b"@example.test', '"a\\"b"', "example.test"],
    ['"a\\\\b"@example.test', '"a\\\\b"', "example.test"],
    ['"a\\ b"@example.test', '"a\\ b"', "example.test"],
    ['".a..b."@example.test', '".a..b."', "example.test"],
    ["a@[127.0.0.1]", "a", "[127.0.0.1]"],
  ];
  for (const [input, local, domain] of ok) {
    const m = parseMailbox(input, false);
    assert.deepEqual(m, { local, domain, utf8: false }, input);
    assert.equal(mailboxToString(m), input);
  }
});

Deno.test("parseMailbox: invalid local parts", () => {
  const bad: [string, RegExp][] = [
    ["", /local-part@domain/],
    ["a", /local-part@domain/],
    ["@b.c", /local-part@domain/],
    ["a.@b.c", /Invalid local part syntax/],
    [".a@b.c", /Invalid local part syntax/],
    ["a..b@b.c", /Invalid local part syntax/],
    ["a b@b.c", /Invalid local part syntax/],
    ["a(b)@b.c", /Invalid local part syntax/],
    ["a,b@b.c", /Invalid local part syntax/],
    ["a@b@c.d", /Invalid local part syntax/],
    ['a"b"@c.d', /Invalid local part syntax/],
    ['"abc@d.e', /Unterminated quoted local part/],
    ['"a"b@c.d', /local-part@domain/],
    ['"a\\"@c.d', /Unterminated quoted local part/],
    ['"a\x00b"@c.d', /Invalid quoted local part/],
    ['"a\tb"@c.d', /Invalid quoted local part/],
    ['"a\x7fb"@c.d', /Invalid quoted local part/],
    ['"a\\\x01"@c.d', /Invalid quoted local part/],
  ];
  for (const [input, reason] of bad) rejects(() => parseMailbox(input, true), reason, input);
});

Deno.test("parseMailbox: domain label rules", () => {
  const ok = ["a.b", "a-b.c", "a--b.c", "0.c", "9a.b", `${"a".repeat(63)}.test`, "x"];
  for (const d of ok) assert.equal(parseMailbox(`u@${d}`, false).domain, d);
  const bad: [string, RegExp][] = [
    ["", /Empty domain/],
    ["-a.b", /Invalid domain syntax/],
    ["a-.b", /Invalid domain syntax/],
    ["a..b", /Invalid domain syntax/],
    [".a.b", /Invalid domain syntax/],
    ["a.b.", /Invalid domain syntax/],
    ["a_b.c", /Invalid domain syntax/],
    ["a b.c", /Invalid domain syntax/],
    [`${"a".repeat(64)}.test`, /Domain label too long/],
    ["[127.0.0.1", /Invalid domain syntax/],
    ["127.0.0.1]", /Invalid domain syntax/],
  ];
  for (const [d, reason] of bad) rejects(() => parseMailbox(`u@${d}`, true), reason, d);
});

Deno.test("address literals: IPv4", () => {
  for (const ip of ["0.0.0.0", "127.0.0.1", "255.255.255.255", "10.20.30.40", "1.2.3.4"]) {
    assert.equal(parseAddressLiteral(`[${ip}]`), `[${ip}]`);
  }
  const bad = ["256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.04", "1..2.3", "a.b.c.d", ""];
  for (const ip of bad) {
    rejects(() => parseAddressLiteral(`[${ip}]`), "Invalid address literal", ip);
  }
});

Deno.test("address literals: IPv6 full, compressed, with embedded IPv4", () => {
  const ok = [
    "1:2:3:4:5:6:7:8",
    "2001:db8:0:0:0:0:2:1",
    "ABCD:ef01:2345:6789:abcd:EF01:2345:6789",
    "::",
    "::1",
    "1::",
    "2001:db8::1",
    "2001:db8::2:1",
    "1:2:3::6:7:8",
    "::ffff:192.0.2.1",
    "::192.0.2.1",
    "1:2:3:4:5:6:1.2.3.4",
    "1::6:1.2.3.4",
    "64:ff9b::10.0.0.1",
  ];
  for (const ip of ok) {
    assert.equal(parseAddressLiteral(`[IPv6:${ip}]`), `[IPv6:${ip}]`, ip);
    assert.equal(parseMailbox(`u@[IPv6:${ip}]`, false).domain, `[IPv6:${ip}]`);
  }
  // The tag is case-insensitive, as every ABNF string is.
  assert.equal(parseAddressLiteral("[ipv6:::1]"), "[ipv6:::1]");
  const bad = [
    "",
    ":",
    ":::",
    "1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:8:9",
    "1::2::3",
    "12345::1",
    "g::1",
    ":1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:",
    "::ffff:256.0.0.1",
    "::ffff:1.2.3",
    "1:2:3:4:5:6:7:1.2.3.4",
    "1.2.3.4",
    "::1.2.3.4:5",
    " ::1",
  ];
  for (const ip of bad) {
    rejects(() => parseAddressLiteral(`[IPv6:${ip}]`), "Invalid address literal", ip);
  }
  // Bare IPv6 without the tag, and general (unregistered) tags, cannot be routed to.
  for (const lit of ["[::1]", "[IPv7:::1]", "[x400:foo]", "[]", "[IPv6]"]) {
    rejects(() => parseAddressLiteral(lit), "Invalid address literal", lit);
    rejects(() => parseMailbox(`u@${lit}`, false), "Invalid address literal", lit);
  }
});

Deno.test("parsePath: null path, brackets, source routes", () => {
  assert.deepEqual(parsePath("<>", false, true), { mailbox: undefined });
  rejects(() => parsePath("<>", false, false), "Null path not allowed here", "<> forward");
  assert.deepEqual(parsePath("<a@b.c>", false, false).mailbox, {
    local: "a",
    domain: "b.c",
    utf8: false,
  });
  for (const s of ["a@b.c", "<a@b.c", "a@b.c>", "", "<", ">", " <a@b.c>", "<a@b.c> "]) {
    rejects(() => parsePath(s, false, true), "Path must be in <>", JSON.stringify(s));
  }
  // RFC 5321 §3.3 / Appendix C: source routes are accepted and ignored.
  for (const s of ["<@a.b:u@c.d>", "<@a.b,@e.f:u@c.d>", "<@x:u@c.d>"]) {
    assert.equal(parsePath(s, false, false).mailbox?.domain, "c.d", s);
  }
  const badRoutes = [
    "<@a.b>",
    "<@a.b,e.f:u@c.d>",
    "<@:u@c.d>",
    "<@a..b:u@c.d>",
    "<@a.b:>",
    // RFC 5321 At-domain is a Domain, never an address literal.
    "<@[1.2.3.4]:u@c.d>",
  ];
  for (const s of badRoutes) rejects(() => parsePath(s, false, false), /./, s);
  rejects(() => parsePath("<@a.b>", false, false), "Invalid source route", "no colon");
  rejects(() => parsePath("<@a.b,e.f:u@c.d>", false, false), "Invalid source route", "no @");
  rejects(() => parsePath("<@bücher.test:u@c.d>", false, false), /SMTPUTF8/, "utf8 route");
  assert.equal(parsePath("<@bücher.test:u@c.d>", true, false).mailbox?.local, "u");
});

Deno.test("length limits: local part 64, domain 255, path 256 octets", () => {
  const dom = "example.test";
  assert.equal(MAX_LOCAL_PART, 64);
  assert.equal(MAX_DOMAIN, 255);
  assert.equal(MAX_PATH, 256);
  assert.equal(parseMailbox(`${"a".repeat(64)}@${dom}`, false).local.length, 64);
  rejects(() => parseMailbox(`${"a".repeat(65)}@${dom}`, false), "Local part too long", "65");
  // Quoted local parts count their quotes.
  assert.equal(parseMailbox(`"${"a".repeat(62)}"@${dom}`, false).local.length, 64);
  rejects(() => parseMailbox(`"${"a".repeat(63)}"@${dom}`, false), "Local part too long", "q65");
  // Octets, not characters: 32 two-octet characters are 64 octets, 33 are 66.
  assert.equal(octets("ö".repeat(32)), 64);
  assert.equal(parseMailbox(`${"ö".repeat(32)}@${dom}`, true).local, "ö".repeat(32));
  rejects(() => parseMailbox(`${"ö".repeat(33)}@${dom}`, true), "Local part too long", "ö33");

  // A 255-octet domain of 63-octet labels, and one octet more.
  const d255 = ["a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(63)].join(".");
  assert.equal(d255.length, 255);
  assert.equal(parseDomain(d255, false), d255);
  rejects(() => parseDomain(`e${d255}`, false), "Domain too long", "256");

  // Path: 256 octets including the angle brackets is the maximum.
  const local = "l".repeat(64);
  const d189 = ["a".repeat(63), "b".repeat(63), "c".repeat(61)].join(".");
  const p256 = `<${local}@${d189}>`;
  assert.equal(octets(p256), 256);
  assert.equal(parsePath(p256, false, false).mailbox?.domain, d189);
  const p257 = `<${local}@x${d189}>`;
  assert.equal(octets(p257), 257);
  rejects(() => parsePath(p257, false, false), "Path too long", "257");
  // The path limit counts octets too.
  const u257 = `<${"ö".repeat(32)}@${d189}>`;
  assert.equal(octets(u257), 256);
  assert.ok(parsePath(u257, true, false).mailbox?.utf8);
  rejects(() => parsePath(`<${"ö".repeat(32)}@x${d189}>`, true, false), "Path too long", "ö");
});

Deno.test("UTF-8 only with the SMTPUTF8 flag (RFC 6531)", () => {
  const cases: [string, string][] = [
    ["jörg@remote.test", "Non-ASCII address requires SMTPUTF8"],
    ["user@bücher.test", "Non-ASCII domain requires SMTPUTF8"],
    ['"jörg"@remote.test', "Non-ASCII address requires SMTPUTF8"],
    ["日本@例え.テスト", "Non-ASCII address requires SMTPUTF8"],
  ];
  for (const [input, reason] of cases) {
    rejects(() => parseMailbox(input, false), reason, input);
    rejects(() => parsePath(`<${input}>`, false, false), reason, input);
    const m = parseMailbox(input, true);
    assert.equal(m.utf8, true, input);
    assert.equal(mailboxToString(m), input);
  }
  assert.equal(parseMailbox("ascii@example.test", true).utf8, false);
  // U-labels follow the letter/digit rules too.
  rejects(() => parseMailbox("u@-ü.test", true), "Invalid domain syntax", "-ü");
  rejects(() => parseMailbox("u@ü-.test", true), "Invalid domain syntax", "ü-");
  rejects(() => parseMailbox("u@ü☃.test", true), "Invalid domain syntax", "symbol");
  // Non-ASCII never makes ASCII-invalid syntax valid.
  rejects(() => parseMailbox("a..ö@x.test", true), "Invalid local part syntax", "a..ö");
});

Deno.test("canonicalAddress: lower-cased, NFC, needless quotes removed", () => {
  const cases: [string, string][] = [
    ["Alice@Example.TEST", "alice@example.test"],
    ['"alice"@example.test', "alice@example.test"],
    ['"Alice.Smith"@example.test', "alice.smith@example.test"],
    ['"a\\.b"@example.test', "a.b@example.test"],
    ['"a b"@example.test', '"a b"@example.test'],
    ['"a..b"@example.test', '"a..b"@example.test'],
    ['".a"@example.test', '".a"@example.test'],
    ['"a\\"b"@example.test', '"a\\"b"@example.test'],
    ['""@example.test', '""@example.test'],
    ["u@[IPv6:::1]", "u@[ipv6:::1]"],
    // "o" + COMBINING DIAERESIS becomes the precomposed "ö".
    ["jo\u0308rg@example.test", "j\u00f6rg@example.test"],
    ["JÖRG@BÜCHER.TEST", "jörg@bücher.test"],
  ];
  for (const [input, want] of cases) {
    assert.equal(canonicalAddress(parseMailbox(input, true)), want, input);
  }
});

Deno.test("canonicalFromInput: trims, strips <>, allows UTF-8, rejects bad input", () => {
  assert.equal(canonicalFromInput("  Bob@Example.Test \n"), "bob@example.test");
  assert.equal(canonicalFromInput("<Bob@Example.Test>"), "bob@example.test");
  assert.equal(canonicalFromInput("jörg@bücher.test"), "jörg@bücher.test");
  for (const bad of ["", "<>", "bob", "bob@", "@x.test", "a b@c.d", "<a@b.c", "a@b..c"]) {
    rejects(() => canonicalFromInput(bad), /./, JSON.stringify(bad));
  }
  assert.equal(domainOf(canonicalFromInput("a@B.test")), "b.test");
  assert.equal(domainOf('"a@b"@c.test'), "c.test");
});

Deno.test("property: parsePath throws nothing but AddressError", () => {
  const alphabet = fc.constantFrom(
    ...'<>@.:,"\\[]-_ aZ09ö日\x00\t\r\n!#IPv6'.split(""),
    "IPv6:",
    "::",
    "127.0.0.1",
    "@a.b:",
  );
  const pathish = fc.array(alphabet, { maxLength: 40 }).map((a) => a.join(""));
  const anyString = fc.oneof(pathish, fc.string({ maxLength: 60 }), fc.string({ unit: "binary" }));
  fc.assert(
    fc.property(anyString, fc.boolean(), fc.boolean(), (s, utf8, allowNull) => {
      for (const input of [s, `<${s}>`]) {
        try {
          const p = parsePath(input, utf8, allowNull);
          if (p.mailbox) {
            assert.ok(p.mailbox.local.length > 0 && p.mailbox.domain.length > 0);
            if (!utf8) assert.equal(p.mailbox.utf8, false);
            // A parsed mailbox prints back to something that parses the same way.
            assert.deepEqual(parsePath(`<${mailboxToString(p.mailbox)}>`, utf8, false), p);
          } else {
            assert.ok(allowNull);
          }
        } catch (e) {
          if (!(e instanceof AddressError)) throw e;
        }
      }
    }),
    { seed: 6531, numRuns: 2000 },
  );
});

Deno.test("property: valid dot-atom addresses parse and canonicalise idempotently", () => {
  const atom = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]{1,8}$/);
  const label = fc.stringMatching(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,6}[A-Za-z0-9])?$/);
  fc.assert(
    fc.property(
      fc.array(atom, { minLength: 1, maxLength: 4 }),
      fc.array(label, { minLength: 1, maxLength: 4 }),
      (atoms, labels) => {
        const input = `${atoms.join(".")}@${labels.join(".")}`;
        const m = parseMailbox(input, false);
        assert.equal(mailboxToString(m), input);
        const c = canonicalAddress(m);
        assert.equal(c, input.toLowerCase());
        assert.equal(canonicalFromInput(c), c);
      },
    ),
    { seed: 5322, numRuns: 500 },
  );
});
