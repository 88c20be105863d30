/** The From: addresses DMARC is given: the plain forms read without addressparser, alike. */
import assert from "node:assert/strict";
import fc from "fast-check";
import addressparser from "nodemailer/lib/addressparser/index.js";
import { fromAddresses } from "../../src/checks/verify.ts";

function parsed(value: string): string[] {
  return addressparser(value).flatMap((a) => (a.group ?? [a]).map((m) => m.address ?? ""))
    .filter((a) => a);
}

Deno.test("property: fromAddresses reads what addressparser reads", () => {
  const atom = fc.array(fc.constantFrom("a", "B", "0", ".", "-", "_", "+", "é", "!"), {
    minLength: 1,
    maxLength: 6,
  }).map((c) => c.join(""));
  const name = fc.array(
    fc.constantFrom("A", "n", " ", ".", "-", "_", "1", '"', ",", "(", "@", ":"),
    {
      maxLength: 8,
    },
  ).map((c) => c.join(""));
  const value = fc.tuple(name, atom, atom, fc.constantFrom(0, 1, 2)).map(([n, l, d, form]) =>
    form === 0 ? `${n}<${l}@${d}>` : form === 1 ? `${l}@${d}` : `${n} <${l}@${d}>, x@y.z`
  );
  fc.assert(
    fc.property(value, (v) => {
      assert.deepEqual(fromAddresses(v), parsed(v), v);
    }),
    { numRuns: 3000 },
  );
  assert.deepEqual(fromAddresses("Ann <ann@example.com>"), ["ann@example.com"]);
  assert.deepEqual(fromAddresses("g: a@b.c, d@e.f;"), ["a@b.c", "d@e.f"]);
});
