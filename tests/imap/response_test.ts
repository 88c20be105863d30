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
  str,
  tagged,
  untagged,
  untaggedStatus,
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
          ...untagged([astr(s)], { utf8 }).slice(2),
        ]);
        // untagged() wrote "* " + item + CRLF: parse the item back as a command argument.
        const cmd = parseCommand(bytes.subarray(0, bytes.length - 2)).command;
        assert.deepEqual(cmd, { name: "SELECT", mailbox: s, condstore: false });
      },
    ),
    { numRuns: 500 },
  );
});
