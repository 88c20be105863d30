/** POP3 command parsing (src/pop3/command.ts): a table of lines and what they parse to. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { type Command, parseCommand, Pop3CommandError } from "../../src/pop3/command.ts";

const enc = new TextEncoder();

/** A line and its command, or the text of the error it gets. */
const TABLE: readonly (readonly [string, Command | string])[] = [
  ["USER alice", { name: "USER", user: "alice" }],
  ["user Alice@Example.Test", { name: "USER", user: "Alice@Example.Test" }],
  ["USER  alice ", { name: "USER", user: "alice" }],
  ["USER", "Syntax: USER name"],
  ["USER ", "Syntax: USER name"],
  ["PASS secret", { name: "PASS", password: "secret" }],
  ["PASS two  words ", { name: "PASS", password: "two  words " }],
  ["PASS ", { name: "PASS", password: "" }],
  ["PASS", "Syntax: PASS password"],
  ["PASS Grüße", { name: "PASS", password: "Grüße" }],
  ["PASS a\tb", { name: "PASS", password: "a\tb" }],
  ["AUTH", { name: "AUTH" }],
  ["AUTH plain", { name: "AUTH", mechanism: "PLAIN" }],
  ["AUTH PLAIN AGEAYg==", { name: "AUTH", mechanism: "PLAIN", initial: "AGEAYg==" }],
  ["AUTH PLAIN =", { name: "AUTH", mechanism: "PLAIN", initial: "=" }],
  ["AUTH PLAIN a b", "Syntax: AUTH mechanism [initial-response]"],
  ["STLS", { name: "STLS" }],
  ["stls", { name: "STLS" }],
  ["STLS now", "Syntax: STLS"],
  ["CAPA", { name: "CAPA" }],
  ["STAT", { name: "STAT" }],
  ["STAT ", { name: "STAT" }],
  ["LIST", { name: "LIST" }],
  ["LIST 1", { name: "LIST", message: 1 }],
  ["LIST 0", { name: "LIST", message: 0 }],
  ["LIST 007", { name: "LIST", message: 7 }],
  ["LIST 1 2", "Syntax: LIST [message]"],
  ["LIST -1", "Invalid message number"],
  ["LIST 1.5", "Invalid message number"],
  ["LIST 12345678901", "Invalid message number"],
  ["LIST 4294967295", { name: "LIST", message: 4294967295 }],
  ["UIDL", { name: "UIDL" }],
  ["UIDL 3", { name: "UIDL", message: 3 }],
  ["RETR 1", { name: "RETR", message: 1 }],
  ["RETR  2", { name: "RETR", message: 2 }],
  ["RETR", "Syntax: RETR message"],
  ["RETR one", "Invalid message number"],
  ["RETR ١", "Invalid message number"],
  ["DELE 9", { name: "DELE", message: 9 }],
  ["DELE", "Syntax: DELE message"],
  ["TOP 1 0", { name: "TOP", message: 1, lines: 0 }],
  ["TOP 1 999999999999999", { name: "TOP", message: 1, lines: 999999999999999 }],
  ["TOP 1 9999999999999999", "Invalid number of lines"],
  ["TOP 1", "Syntax: TOP message lines"],
  ["TOP 1 2 3", "Syntax: TOP message lines"],
  ["TOP x 2", "Invalid message number"],
  ["TOP 1 x", "Invalid number of lines"],
  ["RSET", { name: "RSET" }],
  ["NOOP", { name: "NOOP" }],
  ["NOOP x", "Syntax: NOOP"],
  ["QUIT", { name: "QUIT" }],
  ["QuIt", { name: "QUIT" }],
  ["QUIT now", "Syntax: QUIT"],
  ["", "Unknown command"],
  [" QUIT", "Unknown command"],
  ["APOP alice 0123456789abcdef0123456789abcdef", "Unknown command"],
  ["LAST", "Unknown command"],
  ["QUITX", "Unknown command"],
  ["GET / HTTP/1.1", "Unknown command"],
  ["NOOP\0", "Invalid characters in command"],
  ["PASS a\rb", "Invalid characters in command"],
  ["PASS a\x1bb", "Invalid characters in command"],
];

Deno.test("parseCommand: the table", () => {
  for (const [line, want] of TABLE) {
    if (typeof want === "string") {
      assert.throws(() => parseCommand(enc.encode(line)), (e: unknown) => {
        assert.ok(e instanceof Pop3CommandError, `${JSON.stringify(line)}: ${e}`);
        assert.equal(e.message, want, JSON.stringify(line));
        return true;
      });
    } else assert.deepEqual(parseCommand(enc.encode(line)), want, JSON.stringify(line));
  }
});

Deno.test("parseCommand: invalid UTF-8 is a typed error", () => {
  assert.throws(
    () => parseCommand(new Uint8Array([0x55, 0x53, 0x45, 0x52, 0x20, 0xff])),
    (e: unknown) => e instanceof Pop3CommandError && e.message === "Invalid UTF-8 in command",
  );
});

Deno.test("parseCommand: any bytes give a command or a Pop3CommandError, never another throw", () => {
  const words = ["USER", "PASS", "AUTH", "TOP", "RETR", "LIST", "UIDL", "DELE", "STAT", "QUIT"];
  const line = fc.oneof(
    fc.uint8Array({ maxLength: 600 }),
    fc.tuple(
      fc.constantFrom(...words, "stls", "capa", "x"),
      fc.array(fc.oneof(fc.nat().map(String), fc.string(), fc.constant("")), { maxLength: 4 }),
    ).map(([w, args]) => enc.encode([w, ...args].join(" "))),
  );
  fc.assert(
    fc.property(line, (bytes) => {
      try {
        const c = parseCommand(bytes);
        assert.ok(typeof c.name === "string");
        if ("message" in c && c.message !== undefined) {
          assert.ok(Number.isSafeInteger(c.message) && c.message >= 0);
        }
      } catch (e) {
        if (!(e instanceof Pop3CommandError)) throw e;
        // Nothing the client sent is echoed back in the error.
        assert.match(e.message, /^[A-Z][ -~]*$/);
      }
    }),
    { numRuns: 3000 },
  );
});
