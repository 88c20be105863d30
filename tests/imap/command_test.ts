/**
 * The command parser: the commands of RFC 9051 and its extensions as clients send them, bad
 * input as typed errors, and properties (format then parse round-trips; any bytes give a
 * command or a CommandError, never another throw).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { type Command, CommandError, parseCommand } from "../../src/imap/command.ts";
import { encodeItem } from "../../src/imap/response.ts";
import { concatBytes } from "../../src/bytes.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const parse = (s: string) => parseCommand(enc(s));
const cmd = (s: string): Command => parse(s).command;

Deno.test("command: commands without arguments, any case", () => {
  for (
    const name of [
      "CAPABILITY",
      "NOOP",
      "LOGOUT",
      "STARTTLS",
      "NAMESPACE",
      "IDLE",
      "CLOSE",
      "UNSELECT",
      "CHECK",
    ]
  ) {
    assert.deepEqual(parse(`a1 ${name.toLowerCase()}`), { tag: "a1", command: { name } });
  }
});

Deno.test("command: LOGIN with atoms, quoted strings and literals", () => {
  assert.deepEqual(cmd("a LOGIN alice@example.org s3cret"), {
    name: "LOGIN",
    user: "alice@example.org",
    password: "s3cret",
  });
  assert.deepEqual(cmd('a LOGIN "alice" "p\\"w\\\\d"'), {
    name: "LOGIN",
    user: "alice",
    password: 'p"w\\d',
  });
  assert.deepEqual(cmd("a LOGIN {5}\r\nalice {6+}\r\nse cr3"), {
    name: "LOGIN",
    user: "alice",
    password: "se cr3",
  });
});

Deno.test("command: AUTHENTICATE with and without an initial response (SASL-IR)", () => {
  assert.deepEqual(cmd("a AUTHENTICATE PLAIN"), { name: "AUTHENTICATE", mechanism: "PLAIN" });
  assert.deepEqual(cmd("a authenticate plain AGFsaWNlAHB3"), {
    name: "AUTHENTICATE",
    mechanism: "PLAIN",
    initial: "AGFsaWNlAHB3",
  });
  assert.deepEqual(cmd("a AUTHENTICATE PLAIN ="), {
    name: "AUTHENTICATE",
    mechanism: "PLAIN",
    initial: "=",
  });
});

Deno.test("command: ID and ENABLE", () => {
  assert.deepEqual(cmd('a ID ("name" "Thunderbird" "version" NIL)'), {
    name: "ID",
    params: [["name", "Thunderbird"], ["version", null]],
  });
  assert.deepEqual(cmd("a ID NIL"), { name: "ID", params: null });
  assert.deepEqual(cmd("a ENABLE IMAP4rev2 condstore"), {
    name: "ENABLE",
    capabilities: ["IMAP4REV2", "CONDSTORE"],
  });
});

Deno.test("command: SELECT and EXAMINE, with CONDSTORE and QRESYNC", () => {
  assert.deepEqual(cmd("a SELECT INBOX"), { name: "SELECT", mailbox: "INBOX", condstore: false });
  assert.deepEqual(cmd('a EXAMINE "Sent Items" (CONDSTORE)'), {
    name: "EXAMINE",
    mailbox: "Sent Items",
    condstore: true,
  });
  assert.deepEqual(cmd("a SELECT INBOX (QRESYNC (67890007 20050715194045 41,43:211,214:541))"), {
    name: "SELECT",
    mailbox: "INBOX",
    condstore: true,
    qresync: {
      uidValidity: 67890007,
      modseq: 20050715194045,
      knownUids: {
        kind: "ranges",
        ranges: [{ from: 41, to: 41 }, { from: 43, to: 211 }, { from: 214, to: 541 }],
      },
    },
  });
  const q = cmd("a SELECT INBOX (QRESYNC (1 2 1:9 (1,5 10,50)))");
  assert.equal(q.name, "SELECT");
  assert.ok(q.name === "SELECT" && q.qresync?.seqMatch !== undefined);
});

Deno.test("command: mailbox commands", () => {
  assert.deepEqual(cmd("a CREATE Archive/2026"), {
    name: "CREATE",
    mailbox: "Archive/2026",
    specialUse: [],
  });
  assert.deepEqual(cmd("a CREATE MyDrafts (USE (\\Drafts))"), {
    name: "CREATE",
    mailbox: "MyDrafts",
    specialUse: ["\\Drafts"],
  });
  assert.deepEqual(cmd('a RENAME "Old" "New/Name"'), {
    name: "RENAME",
    from: "Old",
    to: "New/Name",
  });
  assert.deepEqual(cmd("a DELETE Junk"), { name: "DELETE", mailbox: "Junk" });
  assert.deepEqual(cmd("a SUBSCRIBE Junk"), { name: "SUBSCRIBE", mailbox: "Junk" });
  assert.deepEqual(cmd("a STATUS INBOX (MESSAGES UIDNEXT unseen SIZE HIGHESTMODSEQ)"), {
    name: "STATUS",
    mailbox: "INBOX",
    items: ["MESSAGES", "UIDNEXT", "UNSEEN", "SIZE", "HIGHESTMODSEQ"],
  });
  // UTF-8 names (IMAP4rev2) arrive as they are.
  assert.deepEqual(cmd('a SELECT "Entwürfe"'), {
    name: "SELECT",
    mailbox: "Entwürfe",
    condstore: false,
  });
});

Deno.test("command: LIST, basic and extended (RFC 5258, LIST-STATUS, SPECIAL-USE)", () => {
  assert.deepEqual(cmd('a LIST "" *'), {
    name: "LIST",
    reference: "",
    patterns: ["*"],
    selection: [],
    returns: { subscribed: false, children: false, specialUse: false },
    extended: false,
  });
  assert.deepEqual(cmd('a LIST "" %/%'), {
    name: "LIST",
    reference: "",
    patterns: ["%/%"],
    selection: [],
    returns: { subscribed: false, children: false, specialUse: false },
    extended: false,
  });
  assert.deepEqual(
    cmd(
      'a LIST (SUBSCRIBED RECURSIVEMATCH) "" ("INBOX" "Arch*") RETURN (CHILDREN STATUS (MESSAGES UNSEEN) SPECIAL-USE)',
    ),
    {
      name: "LIST",
      reference: "",
      patterns: ["INBOX", "Arch*"],
      selection: ["SUBSCRIBED", "RECURSIVEMATCH"],
      returns: {
        subscribed: false,
        children: true,
        specialUse: true,
        status: ["MESSAGES", "UNSEEN"],
      },
      extended: true,
    },
  );
  assert.throws(() => parse('a LIST (RECURSIVEMATCH) "" *'), CommandError);
  assert.deepEqual(cmd('a LSUB "" *'), { name: "LSUB", reference: "", pattern: "*" });
});

Deno.test("command: APPEND with flags, a date and the message as a literal (or literal8)", () => {
  const c = cmd(
    'a APPEND Sent (\\Seen $Forwarded) " 7-Feb-1994 21:52:25 -0800" {12}\r\nSubject: x\r\n',
  );
  assert.equal(c.name, "APPEND");
  if (c.name !== "APPEND") return;
  assert.equal(c.mailbox, "Sent");
  assert.deepEqual(c.message.flags, ["\\Seen", "$Forwarded"]);
  assert.equal(c.message.date?.toISOString(), "1994-02-08T05:52:25.000Z");
  assert.equal(new TextDecoder().decode(c.message.bytes), "Subject: x\r\n");
  assert.equal(c.message.binary, false);
  const b = cmd("a APPEND INBOX ~{3}\r\na\x00b");
  assert.ok(b.name === "APPEND" && b.message.binary && b.message.bytes[1] === 0);
  // NUL is allowed only in literal8.
  assert.throws(() => parse("a APPEND INBOX {3}\r\na\x00b"), CommandError);
  assert.throws(() => parse('a APPEND INBOX "31-Feb-2026 10:00:00 +0000" {1}\r\nx'), CommandError);
});

Deno.test("command: FETCH items, macros, sections and partials", () => {
  const c = cmd(
    "a UID FETCH 1:* (UID FLAGS RFC822.SIZE ENVELOPE BODY.PEEK[HEADER.FIELDS (From Subject)] BODY[1.2.MIME] BODY[]<0.2048> BINARY.PEEK[1] BINARY.SIZE[2] MODSEQ) (CHANGEDSINCE 12345 VANISHED)",
  );
  assert.deepEqual(c, {
    name: "FETCH",
    uid: true,
    set: { kind: "ranges", ranges: [{ from: 1, to: "*" }] },
    items: [
      { kind: "UID" },
      { kind: "FLAGS" },
      { kind: "RFC822.SIZE" },
      { kind: "ENVELOPE" },
      {
        kind: "BODY[]",
        section: { part: [], text: "HEADER.FIELDS", fields: ["FROM", "SUBJECT"] },
        peek: true,
      },
      { kind: "BODY[]", section: { part: [1, 2], text: "MIME" }, peek: false },
      { kind: "BODY[]", section: { part: [] }, peek: false, partial: { start: 0, count: 2048 } },
      { kind: "BINARY[]", part: [1], peek: true },
      { kind: "BINARY.SIZE", part: [2] },
      { kind: "MODSEQ" },
    ],
    changedSince: 12345,
    vanished: true,
  });
  const fast = cmd("a FETCH 2,4 FAST");
  assert.ok(fast.name === "FETCH" && fast.items.length === 3);
  const body = cmd("a FETCH 1 body[text]");
  assert.ok(body.name === "FETCH" && body.items[0]!.kind === "BODY[]");
  for (
    const bad of [
      "a FETCH 1 (ALL)", // a macro only alone
      "a FETCH 1 BODY[MIME]", // MIME needs a part
      "a FETCH 1 BODY[0]",
      "a FETCH 1 BODY[HEADER.FIELDS ()]",
      "a FETCH 1 BODY[]<0.0>",
      "a FETCH 1 (FLAGS) (VANISHED)", // VANISHED needs UID FETCH and CHANGEDSINCE
      "a FETCH 0 FLAGS",
      "a FETCH 1 NOSUCH",
      "a FETCH 1 ()",
    ]
  ) assert.throws(() => parse(bad), CommandError, bad);
});

Deno.test("command: STORE, COPY, MOVE and UID EXPUNGE", () => {
  assert.deepEqual(cmd("a STORE 2:4 +FLAGS.SILENT (\\Deleted $Junk)"), {
    name: "STORE",
    uid: false,
    set: { kind: "ranges", ranges: [{ from: 2, to: 4 }] },
    mode: "add",
    silent: true,
    flags: ["\\Deleted", "$Junk"],
  });
  assert.deepEqual(cmd("a UID STORE 7 (UNCHANGEDSINCE 320162338) -FLAGS \\Seen"), {
    name: "STORE",
    uid: true,
    set: { kind: "ranges", ranges: [{ from: 7, to: 7 }] },
    mode: "remove",
    silent: false,
    flags: ["\\Seen"],
    unchangedSince: 320162338,
  });
  assert.deepEqual(cmd("a UID MOVE 42:69 Trash"), {
    name: "MOVE",
    uid: true,
    set: { kind: "ranges", ranges: [{ from: 42, to: 69 }] },
    mailbox: "Trash",
  });
  assert.deepEqual(cmd("a COPY $ Archive"), {
    name: "COPY",
    uid: false,
    set: { kind: "saved" },
    mailbox: "Archive",
  });
  assert.deepEqual(cmd("a UID EXPUNGE 3000:3002"), {
    name: "EXPUNGE",
    uid: true,
    uids: { kind: "ranges", ranges: [{ from: 3000, to: 3002 }] },
  });
  assert.deepEqual(cmd("a EXPUNGE"), { name: "EXPUNGE", uid: false });
  assert.throws(() => parse("a UID LOGIN x y"), CommandError);
});

Deno.test("command: SEARCH with every kind of key, RETURN and CHARSET", () => {
  const c = cmd(
    'a UID SEARCH RETURN (MIN COUNT SAVE) CHARSET UTF-8 OR (FROM "smith" SINCE 1-Feb-1994) NOT SEEN 1:5,7 UID 10:* LARGER 1000 HEADER X-Mailer "" TEXT {7}\r\nstraße KEYWORD $Junk MODSEQ 5 SENTON "3-Mar-2026"',
  );
  assert.equal(c.name, "SEARCH");
  if (c.name !== "SEARCH") return;
  assert.deepEqual(c.returns, ["MIN", "COUNT", "SAVE"]);
  assert.equal(c.charset, "UTF-8");
  assert.equal(c.key.op, "and");
  if (c.key.op !== "and") return;
  // OR takes two keys: the parenthesised group and NOT SEEN.
  assert.deepEqual(c.key.keys.map((k) => k.op), [
    "or",
    "seq",
    "uid",
    "size",
    "header",
    "text",
    "flag",
    "modseq",
    "date",
  ]);
  assert.equal(c.key.keys[0]!.op === "or" && c.key.keys[0]!.b.op, "not");
  assert.deepEqual(c.key.keys[5], { op: "text", value: "straße" });
  assert.deepEqual(c.key.keys[4], { op: "header", field: "X-MAILER", value: "" });
  assert.deepEqual(cmd("a SEARCH ALL"), { name: "SEARCH", uid: false, key: { op: "all" } });
  assert.deepEqual(cmd("a SEARCH RETURN () ALL"), {
    name: "SEARCH",
    uid: false,
    returns: [],
    key: { op: "all" },
  });
  for (
    const bad of [
      "a SEARCH",
      "a SEARCH FOO",
      "a SEARCH SINCE 32-Jan-2026",
      "a SEARCH (ALL",
      "a SEARCH OR ALL",
    ]
  ) {
    assert.throws(() => parse(bad), CommandError, bad);
  }
});

Deno.test("command: nesting and counts are bounded", () => {
  assert.throws(() => parse(`a SEARCH ${"NOT ".repeat(100)}ALL`), /nested too deeply/);
  assert.throws(() => parse(`a SEARCH ${"(".repeat(100)}ALL${")".repeat(100)}`), /nested/i);
  assert.throws(() => parse(`a SEARCH ${"ALL ".repeat(2000)}ALL`), /Too many/);
});

Deno.test("command: errors carry the tag when it was readable", () => {
  for (
    const [line, tag] of [
      ["a1 FROB", "a1"],
      ["a2 LOGIN onlyone", "a2"],
      ["a3 SELECT", "a3"],
      ["a4 LOGIN x y extra", "a4"],
      ["a5  NOOP", "a5"],
      ["+ NOOP", undefined],
      ["", undefined],
      ['a6 LOGIN "unterminated', "a6"],
      ["a7 LOGIN {10}\r\nshort", "a7"],
    ] as const
  ) {
    try {
      parse(line);
      assert.fail(`parsed: ${JSON.stringify(line)}`);
    } catch (e) {
      assert.ok(e instanceof CommandError, String(e));
      assert.equal(e.tag, tag, line);
    }
  }
  // Octets that are not UTF-8 are refused, not decoded into something else.
  assert.throws(
    () =>
      parseCommand(new Uint8Array([0x61, 0x20, 0x53, 0x45, 0x4c, 0x45, 0x43, 0x54, 0x20, 0xff])),
    (e) => e instanceof CommandError && e.tag === "a" && /UTF-8/.test(e.message),
  );
  // A mod-sequence beyond what we can count exactly is refused rather than rounded.
  assert.throws(() => parse("a FETCH 1 FLAGS (CHANGEDSINCE 20050715194045000)"), CommandError);
});

Deno.test("command: a string formatted by the response encoder parses back to itself (property)", () => {
  // Mailbox names, passwords and search strings: any Unicode text without NUL.
  const text = fc.string({ unit: "binary", maxLength: 80 }).filter((s) => !s.includes("\0"));
  fc.assert(
    fc.property(text, text, fc.boolean(), (user, password, utf8) => {
      const out: Uint8Array[] = [enc("t LOGIN ")];
      encodeItem({ astring: user }, { utf8 }, out);
      out.push(enc(" "));
      encodeItem({ string: password }, { utf8 }, out);
      const parsed = parseCommand(concatBytes(out));
      assert.deepEqual(parsed.command, { name: "LOGIN", user, password });
    }),
    { numRuns: 500 },
  );
});

Deno.test("command: any bytes give a command or a CommandError, never another throw (fuzz)", () => {
  const pieces = [
    "a ",
    "UID ",
    "FETCH ",
    "SEARCH ",
    "STORE ",
    "LIST ",
    "SELECT ",
    "APPEND ",
    "(",
    ")",
    "[",
    "]",
    "<",
    ">",
    "{3}\r\n",
    "{2+}\r\n",
    "~{1}\r\n",
    '"',
    "\\",
    "*",
    ":",
    ",",
    "$",
    "1",
    "0",
    " ",
    "BODY[",
    "HEADER.FIELDS",
    "NOT ",
    "OR ",
    "RETURN ",
    "\xff",
    "\x00",
    "\r\n",
  ];
  const arb = fc.oneof(
    fc.uint8Array({ maxLength: 100 }),
    fc.array(fc.constantFrom(...pieces), { maxLength: 30 }).map((p) => enc(p.join(""))),
  );
  fc.assert(
    fc.property(arb, (bytes) => {
      try {
        parseCommand(bytes);
      } catch (e) {
        if (!(e instanceof CommandError)) throw e;
      }
    }),
    { numRuns: 3000 },
  );
});
