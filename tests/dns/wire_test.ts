/**
 * Compression pointers in replies (RFC 1035 §4.1.4): names that follow a sane number of them
 * decode as before; a reply built to make every name walk a long chain of them is refused
 * (dns-packet would walk the chain again for each name: quadratic in the reply's size).
 */
import assert from "node:assert/strict";
import { matchReply, type Question } from "../../src/dns/wire.ts";

const Q: Question = { name: "victim.test", type: "A" };
const ID = 0x1234;

/**
 * A reply to Q whose first answer (type NULL) holds CHAIN pointers, each to the one before and
 * the first to the question's name, and then NAMES answers of type A whose names point at the
 * last pointer of the chain.
 */
function chained(chain: number, names: number): Uint8Array {
  const out: number[] = [];
  const u16 = (n: number) => out.push(n >> 8, n & 0xff);
  u16(ID);
  u16(0x8180); // a response, recursion desired and available, NOERROR
  u16(1);
  u16(1 + names);
  u16(0);
  u16(0);
  const question = out.length; // 12
  for (const label of Q.name.split(".")) out.push(label.length, ...new TextEncoder().encode(label));
  out.push(0);
  u16(1); // A
  u16(1); // IN
  // The NULL record: its owner is the question's name; its data the chain.
  u16(0xc000 | question);
  u16(10); // NULL
  u16(1);
  u16(0);
  u16(60);
  u16(2 * chain);
  const first = out.length;
  for (let i = 0; i < chain; i++) u16(0xc000 | (i === 0 ? question : first + 2 * (i - 1)));
  const last = first + 2 * (chain - 1);
  for (let n = 0; n < names; n++) {
    u16(0xc000 | last);
    u16(1);
    u16(1);
    u16(0);
    u16(60);
    u16(4);
    out.push(192, 0, 2, n & 0xff);
  }
  return new Uint8Array(out);
}

Deno.test("compression: a few pointers in a row decode as before", () => {
  const reply = matchReply(chained(3, 4), ID, Q);
  assert.ok(reply);
  const names = reply.answers.filter((a) => a.type === "A").map((a) => a.name);
  assert.deepEqual(names, Array(4).fill("victim.test"));
});

Deno.test("compression: a reply whose names walk a long chain of pointers is refused", () => {
  // 3,000 names each walking 8,000 pointers (24 million steps), in 63 KiB.
  const hostile = chained(8000, 3000);
  assert.ok(hostile.length <= 65535);
  assert.equal(matchReply(hostile, ID, Q), undefined);
  // A name's own pointer and the chain's: 16 in a row pass, 17 do not.
  assert.ok(matchReply(chained(15, 1), ID, Q));
  assert.equal(matchReply(chained(16, 1), ID, Q), undefined);
});
