/**
 * The stand-in for libmime folds lines as libmime does, over random header-like input and every
 * length and mode, and hands everything else to libmime. That mailauth gets it in `mail serve`
 * is tested with the other stand-ins (lazy_load_test.ts).
 */
import { realLibmime } from "./_real_libmime.ts";
import assert from "node:assert/strict";
import fc from "fast-check";
import { libmimeStandIn } from "../../src/checks/libmime_stand_in.ts";

const standIn = libmimeStandIn(() => realLibmime) as typeof realLibmime;

/** Pieces of header fields, and of what breaks folding: runs of space, breaks, long words. */
const piece = fc.oneof(
  fc.constantFrom(
    "spf=pass",
    "Received-SPF:",
    "(mx.local.test:",
    "domain",
    "of",
    "a@example.com",
    "designates",
    "192.0.2.1",
    "smtp.mailfrom=a@example.com;",
    "=?UTF-8?Q?caf=C3=A9?=",
    "=?UTF-8?B?5pel5pys6Kqe?=",
    "café",
    "日本語",
    "😀",
    "a",
    ";",
    "x".repeat(80),
    "y".repeat(170),
  ),
  fc.constantFrom(" ", "  ", "   ", "\t", " \t ", "\r\n", "\n", "\r", "\r\n ", "\r\n\t", "\n\n"),
  fc.constantFrom("\u00a0", "\u3000", "\u2028", "\ufeff", "\v", "\f"),
  fc.string({ unit: fc.constantFrom(..."abz=?-_.:;@"), minLength: 1, maxLength: 30 }),
  fc.string({ unit: "grapheme", maxLength: 4 }),
);

/** A header-like string: up to a few hundred characters of the pieces above, or none. */
const header = fc.array(piece, { maxLength: 40 }).map((a) => a.join(""));

/** The lengths mailauth asks for (76, the default, and 160) and others, small ones included. */
const width = fc.oneof(
  fc.constantFrom(undefined, 76, 160),
  fc.integer({ min: 1, max: 200 }),
  fc.constantFrom(0, null, 1, 2, 3),
);
const afterSpace = fc.constantFrom(undefined, false, true, 0, 1);

function same(str: unknown, len?: unknown, after?: unknown) {
  const args = [str, len, after];
  assert.equal(standIn.foldLines(...args), realLibmime.foldLines(...args), JSON.stringify(args));
}

Deno.test("libmime stand-in: foldLines folds as libmime does, on random headers", () => {
  fc.assert(fc.property(header, width, afterSpace, same), { numRuns: 5000 });
  fc.assert(fc.property(header, (s) => same(s)), { numRuns: 1000 });
  fc.assert(fc.property(header, (s) => same(s, 160)), { numRuns: 1000 });
  // Any string at all, with short lines so that every branch is taken.
  fc.assert(
    fc.property(
      fc.string({ unit: "binary", maxLength: 60 }),
      fc.integer({ min: 1, max: 12 }),
      fc.boolean(),
      same,
    ),
    { numRuns: 3000 },
  );
});

Deno.test("libmime stand-in: foldLines edge cases", () => {
  const long = "w".repeat(100);
  const cases = [
    "",
    " ",
    "a",
    "a".repeat(75),
    "a".repeat(76),
    "a".repeat(77),
    `${"a".repeat(76)} b`,
    `${"a ".repeat(38)}b`,
    `${" ".repeat(76)}a`,
    ` ${long} x`,
    `${long}\r\n${long}`,
    `${"a".repeat(75)}\r\nb`,
    `${"a".repeat(75)}\r${"b".repeat(80)}`,
    `a\rb\nc\r\nd ${long}`,
    `${"a".repeat(70)}      `,
    `${"a".repeat(70)} ${long}   \r\n  x`,
    `Received-SPF: pass (mx.local.test: domain of a@example.com designates 192.0.2.1 as ` +
    `permitted sender) client-ip=192.0.2.1; envelope-from="a@example.com"; helo=client.example;`,
  ];
  for (const c of cases) {
    for (const len of [undefined, 76, 160, 1, 2, 10, 75, 77]) {
      for (const after of [false, true]) same(c, len, after);
    }
  }
  for (const nothing of [undefined, null, 0, false, ""]) same(nothing);
});

Deno.test("libmime stand-in: other arguments and members are libmime's own", () => {
  let loads = 0;
  const counted = libmimeStandIn(() => {
    loads++;
    return realLibmime;
  }) as typeof realLibmime;
  assert.equal(
    counted.foldLines(`a ${"b".repeat(100)}`, 160),
    realLibmime.foldLines(`a ${"b".repeat(100)}`, 160),
  );
  assert.equal(loads, 0, "foldLines of a string needs no libmime");
  // Arguments it does not answer: libmime's own coercions.
  for (const args of [[12345678, 3], ["a b c d", "3"], [new String("a b c"), 2], ["a b", 2.5]]) {
    assert.equal(counted.foldLines(...args), realLibmime.foldLines(...args), String(args));
  }
  assert.equal(counted.decodeWords("=?UTF-8?Q?caf=C3=A9?="), "café");
  assert.deepEqual(counted.parseHeaderValue("text/plain; charset=utf-8"), {
    value: "text/plain",
    params: { charset: "utf-8" },
  });
  assert.ok(new counted.Libmime() instanceof realLibmime.Libmime);
  assert.ok(loads > 0);
});
