import assert from "node:assert/strict";
import fc from "fast-check";
import { AddressError } from "../../src/smtp/address.ts";
import {
  helloCommand,
  mailFromCommand,
  messageNeeds,
  rcptToCommand,
} from "../../src/smtp/client_commands.ts";
import { parseMail, parseRcpt } from "../../src/smtp/command.ts";

const enc = new TextEncoder();

Deno.test("client commands: MAIL with parameters, RCPT, EHLO", () => {
  assert.equal(mailFromCommand("a@b.test"), "MAIL FROM:<a@b.test>");
  assert.equal(mailFromCommand(""), "MAIL FROM:<>");
  assert.equal(
    mailFromCommand("a@b.test", { size: 1234, body: "8BITMIME", smtputf8: true }),
    "MAIL FROM:<a@b.test> SIZE=1234 BODY=8BITMIME SMTPUTF8",
  );
  assert.equal(rcptToCommand('"odd name"@b.test'), 'RCPT TO:<"odd name"@b.test>');
  assert.equal(helloCommand("EHLO", "client.test"), "EHLO client.test");
  assert.throws(() => rcptToCommand(""), AddressError);
  assert.throws(() => rcptToCommand("a@b.test>\r\nRSET"), AddressError);
  assert.throws(() => mailFromCommand("a@b.test\r\nDATA"), AddressError);
  assert.throws(() => helloCommand("EHLO", "a b"), AddressError);
});

Deno.test("client commands: what the client formats, the server parses back", () => {
  const local = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+\/=?^_`{|}~-]{1,20}$/);
  const domain = fc.stringMatching(/^[a-z][a-z0-9]{0,10}\.test$/);
  fc.assert(fc.property(local, domain, fc.nat(1e9), (l, d, size) => {
    const addr = `${l}@${d}`;
    const mail = parseMail(mailFromCommand(addr, { size }).slice(5), true, 2e9);
    assert.equal(`${mail.sender?.local}@${mail.sender?.domain}`, addr);
    assert.equal(mail.params.size, size);
    const rcpt = parseRcpt(rcptToCommand(addr).slice(5), false);
    assert.equal(`${rcpt.recipient?.local}@${rcpt.recipient?.domain}`, addr);
  }));
});

Deno.test("client commands: no input puts a line break into a command", () => {
  fc.assert(fc.property(fc.string(), (s) => {
    try {
      const line = rcptToCommand(s);
      assert.doesNotMatch(line, /[\r\n]/);
    } catch (err) {
      assert.ok(err instanceof AddressError);
    }
  }));
});

Deno.test("messageNeeds: 8-bit, UTF-8 headers, long lines, bare line endings", () => {
  assert.deepEqual(messageNeeds(enc.encode("Subject: a\r\n\r\nb\r\n")), {
    eightBit: false,
    utf8Headers: false,
    longLine: 0,
    bareLineEnding: false,
  });
  const body8 = messageNeeds(enc.encode("Subject: a\r\n\r\nGrüße\r\n"));
  assert.equal(body8.eightBit, true);
  assert.equal(body8.utf8Headers, false);
  assert.equal(messageNeeds(enc.encode("Subject: ü\r\n\r\nb\r\n")).utf8Headers, true);
  assert.equal(messageNeeds(enc.encode(`a: b\r\n\r\n${"x".repeat(998)}\r\n`)).longLine, 0);
  assert.equal(messageNeeds(enc.encode(`a: b\r\n\r\n${"x".repeat(999)}\r\n`)).longLine, 3);
  assert.equal(messageNeeds(enc.encode("a: b\n\nc\r\n")).bareLineEnding, true);
  assert.equal(messageNeeds(enc.encode("a: b\r\n\r\nc\rd\r\n")).bareLineEnding, true);
});
