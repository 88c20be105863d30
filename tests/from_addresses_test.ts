/**
 * The From: addresses DMARC is given and the DKIM signer signs for: read as addressparser reads
 * them, the plain forms without it, and exactly as the checks read them before the reader was
 * shared (a copy of that code is kept here to compare with).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import addressparser from "nodemailer/lib/addressparser/index.js";
import { fromLatin1 } from "../src/bytes.ts";
import { fromAddresses, fromFieldValue, MAX_FROM_VALUE } from "../src/from_addresses.ts";
import { fromField, fromValue, rawFromField } from "./_helpers/from_values.ts";

/** What addressparser reads in VALUE, DEL removed first (as it removes the other controls). */
function parsed(value: string): string[] {
  return addressparser(value.replaceAll("\x7f", "")).flatMap((a) =>
    (a.group ?? [a]).map((m) => m.address ?? "")
  )
    .filter((a) => a);
}

// The checks' reader before it was shared (src/checks/verify.ts, ourDkim and fromAddresses).
const ADDR = '[^\\s<>()",;:\\\\@\\[\\]]+@[^\\s<>()",;:\\\\@\\[\\]]+';
const OLD_PLAIN_FROM = new RegExp(`^(?:[A-Za-z0-9 ._-]*<(${ADDR})>|(${ADDR}))$`);
function oldFromAddresses(value: string): string[] {
  const plain = OLD_PLAIN_FROM.exec(value);
  if (plain) return [(plain[1] ?? plain[2])!];
  const out: string[] = [];
  for (const a of addressparser(value)) {
    for (const m of a.group ?? [a]) if (m.address) out.push(m.address);
  }
  return out;
}
function oldHeaderFrom(raw: string): string[] {
  const value = new TextDecoder().decode(fromLatin1(raw.slice(raw.indexOf(":") + 1)));
  return oldFromAddresses(value.trim());
}

// The one change: the old plain form kept control characters addressparser drops.
const CONTROL = /[\x00-\x08\x0e-\x1f\x7f]/;

Deno.test("property: the checks get the From: addresses they got before the reader was shared", async () => {
  await fc.assert(
    fc.asyncProperty(rawFromField, async (raw) => {
      const value = fromFieldValue(raw);
      const now = await fromAddresses(value);
      assert.deepEqual(now, CONTROL.test(value) ? parsed(value) : oldHeaderFrom(raw), raw);
    }),
    { numRuns: 3000 },
  );
});

Deno.test("fromAddresses: a control character does not make a plain address another", async () => {
  for (const value of ["ceo@bank.test\x01", "Ann <ceo@bank.test\x1b>", "ceo\x00@bank.test"]) {
    assert.notDeepEqual(oldFromAddresses(value), parsed(value), "the old reader differed");
    assert.deepEqual(await fromAddresses(value), parsed(value));
  }
  assert.deepEqual(await fromAddresses("ceo@bank.test\x01"), ["ceo@bank.test"]);
  // DEL too, which addressparser alone would keep: DMARC must see bank.test's policy.
  for (const value of ["ceo@bank.test\x7f", "Ann <ceo@bank.test\x7f>", '"x" <ceo@bank.\x7ftest>']) {
    assert.deepEqual(await fromAddresses(value), ["ceo@bank.test"], JSON.stringify(value));
  }
});

Deno.test("fromAddresses: a From: value past MAX_FROM_VALUE is read up to its last comma there", async () => {
  const addresses = Array.from({ length: 20_000 }, (_, i) => `user${i}@d${i}.example`);
  const value = addresses.join(", ");
  assert.ok(value.length > 4 * MAX_FROM_VALUE);
  const got = await fromAddresses(value);
  assert.ok(got.length > 1000 && got.length < addresses.length, `${got.length} addresses`);
  assert.deepEqual(got, addresses.slice(0, got.length), "whole addresses, in order");
  assert.ok(got.join(", ").length <= MAX_FROM_VALUE);
});

Deno.test("property: fromAddresses reads what addressparser reads", async () => {
  const atom = fc.array(fc.constantFrom("a", "B", "0", ".", "-", "_", "+", "é", "!"), {
    minLength: 1,
    maxLength: 6,
  }).map((c) => c.join(""));
  const name = fc.array(
    fc.constantFrom("A", "n", " ", ".", "-", "_", "1", '"', ",", "(", "@", ":"),
    { maxLength: 8 },
  ).map((c) => c.join(""));
  const plainish = fc.tuple(name, atom, atom, fc.constantFrom(0, 1, 2)).map(([n, l, d, form]) =>
    form === 0 ? `${n}<${l}@${d}>` : form === 1 ? `${l}@${d}` : `${n} <${l}@${d}>, x@y.z`
  );
  await fc.assert(
    fc.asyncProperty(fc.oneof(plainish, fromValue), async (v) => {
      const value = fromFieldValue(fromField(v));
      assert.deepEqual(await fromAddresses(value), parsed(value), v);
    }),
    { numRuns: 3000 },
  );
});

Deno.test("fromAddresses: plain forms, groups (RFC 6854), comments, UTF-8", async () => {
  assert.deepEqual(await fromAddresses("Ann <ann@example.com>"), ["ann@example.com"]);
  assert.deepEqual(await fromAddresses("g: a@b.c, d@e.f;"), ["a@b.c", "d@e.f"]);
  assert.deepEqual(await fromAddresses("undisclosed-recipients:;"), []);
  assert.deepEqual(await fromAddresses('"x@evil.test" <ann@a.test> (b@c.test)'), ["ann@a.test"]);
  assert.deepEqual(await fromAddresses(fromFieldValue(fromField(" Zoë\r\n <zoe@bücher.de> "))), [
    "zoe@bücher.de",
  ]);
});
