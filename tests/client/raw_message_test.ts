import assert from "node:assert/strict";
import {
  addressesIn,
  cutAtDotLine,
  fieldValues,
  headerFields,
  prependFields,
  removeFields,
  toCrlf,
} from "../../src/client/raw_message.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("toCrlf: LF becomes CRLF; CRLF input is returned as is", () => {
  assert.equal(dec(toCrlf(enc("a\nb\r\nc\n"))), "a\r\nb\r\nc\r\n");
  const crlf = enc("a\r\nb\r\n");
  assert.equal(toCrlf(crlf), crlf);
});

Deno.test("cutAtDotLine: a lone dot ends sendmail input", () => {
  assert.equal(dec(cutAtDotLine(enc("a\n.\nb\n"))), "a\n");
  assert.equal(dec(cutAtDotLine(enc("a\r\n.\r\nb"))), "a\r\n");
  assert.equal(dec(cutAtDotLine(enc("a\n.b\n..\n"))), "a\n.b\n..\n");
  assert.equal(dec(cutAtDotLine(enc("a\n."))), "a\n");
});

Deno.test("header fields: folded values, removal with continuation lines", () => {
  const m = enc(
    "To: a@x.test,\r\n  b@x.test\r\nBcc: c@x.test,\r\n\td@x.test\r\nSubject: s\r\n\r\nBcc: body\r\n",
  );
  assert.deepEqual(headerFields(m).map((f) => f.name), ["To", "Bcc", "Subject"]);
  assert.deepEqual(fieldValues(m, "to"), ["a@x.test,  b@x.test"]);
  assert.deepEqual(addressesIn(m, ["To", "Bcc"]).map((a) => a.address), [
    "a@x.test",
    "b@x.test",
    "c@x.test",
    "d@x.test",
  ]);
  assert.equal(
    dec(removeFields(m, ["BCC"])),
    "To: a@x.test,\r\n  b@x.test\r\nSubject: s\r\n\r\nBcc: body\r\n",
  );
  assert.equal(dec(prependFields(enc("S: x\r\n\r\n"), ["Date: d"])), "Date: d\r\nS: x\r\n\r\n");
});
