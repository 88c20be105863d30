/** The response encoder: every way a string can go out, codes, and lines that cannot break. */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  astr,
  atom,
  continuation,
  type Item,
  list,
  NIL,
  nstr,
  num,
  ResponseWriter,
  str,
  tagged,
  untagged,
  untaggedStatus,
  validUtf8,
} from "../../src/imap/response.ts";
import { concatBytes } from "../../src/bytes.ts";
import { parseCommand } from "../../src/imap/command.ts";

const text = (chunks: Uint8Array[]) => new TextDecoder().decode(concatBytes(chunks));

Deno.test("response: status lines with and without codes", () => {
  assert.equal(text(tagged("a1", "OK", "LOGIN completed")), "a1 OK LOGIN completed\r\n");
  assert.equal(
    text(tagged("a2", "NO", "No such mailbox", { name: "TRYCREATE" })),
    "a2 NO [TRYCREATE] No such mailbox\r\n",
  );
  assert.equal(
    text(untaggedStatus("OK", "UIDs valid", { name: "UIDVALIDITY", args: [num(3857529045)] })),
    "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n",
  );
  assert.equal(
    text(untaggedStatus("OK", "Flags permitted", {
      name: "PERMANENTFLAGS",
      args: [list([atom("\\Seen"), atom("\\*")])],
    })),
    "* OK [PERMANENTFLAGS (\\Seen \\*)] Flags permitted\r\n",
  );
  // Text never breaks the line, nor reads as a response code.
  assert.equal(text(tagged("a3", "BAD", "oops\r\n* 1 EXISTS")), "a3 BAD oops * 1 EXISTS\r\n");
  assert.equal(text(tagged("a4", "BAD", "[ALERT] fake")), "a4 BAD  [ALERT] fake\r\n");
  assert.equal(text(continuation("")), "+ \r\n");
});

Deno.test("response: strings go out as atoms, quoted strings or literals, decided here", () => {
  const line = (items: Item[], utf8 = false) => text(untagged(items, { utf8 }));
  assert.equal(
    line([atom("LIST"), list([atom("\\HasNoChildren")]), str("/"), astr("INBOX")]),
    '* LIST (\\HasNoChildren) "/" INBOX\r\n',
  );
  assert.equal(line([astr("Sent Items")]), '* "Sent Items"\r\n');
  assert.equal(line([astr("NIL")]), '* "NIL"\r\n');
  assert.equal(line([str('say "hi" \\o/')]), '* "say \\"hi\\" \\\\o/"\r\n');
  assert.equal(line([str("two\r\nlines")]), "* {10}\r\ntwo\r\nlines\r\n");
  // Non-ASCII: a literal in IMAP4rev1, quoted once UTF-8 is allowed.
  assert.equal(line([astr("Entwürfe")]), "* {9}\r\nEntwürfe\r\n");
  assert.equal(line([astr("Entwürfe")], true), '* "Entwürfe"\r\n');
  // Bytes that are not UTF-8 always go as a literal, byte for byte.
  assert.equal(
    concatBytes(untagged([str(new Uint8Array([0xff]))], { utf8: true })).join(","),
    [...new TextEncoder().encode("* {1}\r\n"), 0xff, 13, 10].join(","),
  );
  assert.equal(line([NIL, nstr("x"), nstr(undefined), num(0)]), '* NIL "x" NIL 0\r\n');
  assert.equal(
    text(
      untagged([
        num(12),
        atom("FETCH"),
        list([atom("BODY[]"), {
          literal: [new TextEncoder().encode("ab"), new TextEncoder().encode("c")],
        }]),
      ]),
    ),
    "* 12 FETCH (BODY[] {3}\r\nabc)\r\n",
  );
  assert.equal(
    text(untagged([{ literal: new Uint8Array([0]), binary: true }])),
    "* ~{1}\r\n\0\r\n",
  );
  assert.throws(() => untagged([atom("two words")]));
  assert.throws(() => untagged([num(-1)]));
});

Deno.test("response: any string the encoder writes reads back as the same string (property)", () => {
  fc.assert(
    fc.property(
      fc.string({ unit: "binary", maxLength: 60 }).filter((s) => !s.includes("\0")),
      fc.boolean(),
      (s, utf8) => {
        const bytes = concatBytes([
          new TextEncoder().encode("t SELECT "),
          concatBytes(untagged([astr(s)], { utf8 })).subarray(2),
        ]);
        // untagged() wrote "* " + item + CRLF: parse the item back as a command argument.
        const cmd = parseCommand(bytes.subarray(0, bytes.length - 2)).command;
        assert.deepEqual(cmd, { name: "SELECT", mailbox: s, condstore: false });
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("response: UTF-8 is told valid exactly as a fatal TextDecoder tells it (property)", () => {
  const fatal = new TextDecoder("utf-8", { fatal: true });
  const valid = (b: Uint8Array) => {
    try {
      fatal.decode(b);
      return true;
    } catch {
      return false;
    }
  };
  // Random octets, and octets near the edges: overlong forms, surrogates, past U+10FFFF.
  const edges = fc.array(
    fc.constantFrom(
      0x41,
      0x7f,
      0x80,
      0x8f,
      0x90,
      0x9f,
      0xa0,
      0xbf,
      0xc0,
      0xc1,
      0xc2,
      0xdf,
      0xe0,
      0xed,
      0xee,
      0xef,
      0xf0,
      0xf4,
      0xf5,
      0xff,
    ),
    { maxLength: 12 },
  ).map((a) => new Uint8Array(a));
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 16 }), edges), (b) => {
      assert.equal(validUtf8(b), valid(b), [...b].join(","));
    }),
    { numRuns: 5000 },
  );
  fc.assert(
    fc.property(fc.string({ unit: "grapheme", maxLength: 20 }), (s) => {
      assert.ok(validUtf8(new TextEncoder().encode(s)));
    }),
  );
});

Deno.test("response: many lines share a chunk; large literals are chunks of their own", () => {
  const w = new ResponseWriter({ utf8: false }, 16);
  const big = new Uint8Array(64 * 1024).fill(0x61);
  w.untagged([num(1), atom("FETCH"), list([atom("UID"), num(7)])]);
  w.untagged([num(2), atom("FETCH"), list([atom("BODY[]"), { literal: big }])]);
  const first = w.take();
  // The line before the literal and its `{n}` in one chunk, the literal as it was given.
  assert.equal(first.length, 3);
  assert.equal(first[1], big);
  const before = text(first);
  // Later writes never touch what was taken.
  for (let i = 0; i < 1000; i++) w.untagged([num(i), atom("EXISTS")]);
  assert.equal(text(first), before);
  assert.equal(
    before,
    `* 1 FETCH (UID 7)\r\n* 2 FETCH (BODY[] {65536}\r\n${"a".repeat(65536)})\r\n`,
  );
  const rest = w.take();
  assert.equal(rest.length, 1);
  assert.match(text(rest), /^\* 0 EXISTS\r\n[^]*\* 999 EXISTS\r\n$/);
  assert.equal(w.size, 0);
  assert.deepEqual(w.take(), []);
});
