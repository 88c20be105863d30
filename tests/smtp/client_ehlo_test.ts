import assert from "node:assert/strict";
import { parseEhlo } from "../../src/smtp/ehlo.ts";
import { ReplyParser } from "../../src/smtp/reply.ts";

function ehlo(lines: string[]) {
  const p = new ReplyParser();
  for (const l of lines) {
    const r = p.push(l);
    if (r) return parseEhlo(r);
  }
  throw new Error("incomplete reply");
}

Deno.test("parseEhlo: typed capabilities", () => {
  const c = ehlo([
    "250-mx.test Hello",
    "250-PIPELINING",
    "250-SIZE 1000",
    "250-8BITMIME",
    "250-auth plain login",
    "250-STARTTLS",
    "250-ENHANCEDSTATUSCODES",
    "250-X-UNKNOWN a b",
    "250 SMTPUTF8",
  ]);
  assert.equal(c.esmtp, true);
  assert.equal(c.pipelining, true);
  assert.equal(c.size, 1000);
  assert.equal(c.eightBitMime, true);
  assert.equal(c.smtputf8, true);
  assert.equal(c.startTls, true);
  assert.equal(c.enhancedStatusCodes, true);
  assert.deepEqual(c.auth, ["PLAIN", "LOGIN"]);
  assert.deepEqual(c.keywords.get("X-UNKNOWN"), ["a", "b"]);
});

Deno.test("parseEhlo: SIZE without a limit, old AUTH= syntax, bare greeting", () => {
  const c = ehlo(["250-mx.test", "250-SIZE", "250 AUTH=LOGIN"]);
  assert.equal(c.size, 0);
  assert.deepEqual(c.auth, ["LOGIN"]);
  const bare = ehlo(["250 mx.test"]);
  assert.equal(bare.size, undefined);
  assert.equal(bare.pipelining, false);
  assert.deepEqual(bare.auth, []);
});
