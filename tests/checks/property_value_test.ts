/**
 * propertyValue reads a value in time linear in its length: its pattern `X*@?Y+` (the local
 * part's characters are among the domain's) tried a run of atom characters followed by any
 * other at every split, so a long From domain or DKIM d= took seconds.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { propertyValue } from "../../src/checks/auth_results.ts";

const MAX_VALUE = 500;
const encoder = new TextEncoder();
// deno-lint-ignore no-control-regex
const ASCII = /^[\x00-\x7f]*$/;
function byteLength(s: string): number {
  return ASCII.test(s) ? s.length : encoder.encode(s).length;
}

/** The propertyValue before the change, verbatim (the reference). */
function oldPropertyValue(value: string): string | undefined {
  // deno-lint-ignore no-control-regex
  const clean = value.replace(/[\x00-\x1f\x7f]/g, "");
  if (clean === "") return undefined;
  const out =
    /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]*@?[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.\[\]:]+$/.test(clean)
      ? clean
      : `"${clean.replace(/["\\]/g, (c) => `\\${c}`)}"`;
  return byteLength(out) > MAX_VALUE ? undefined : out;
}

/** Values of atom characters, `@`, brackets, colons, quotes, controls, UTF-8, near the bound. */
const value = fc.tuple(
  fc.array(
    fc.constantFrom("a", "Z", "9", ".", "+", "@", "[", "]", ":", '"', "\\", " ", "\x01", "é", "€"),
    { maxLength: 30 },
  ),
  fc.constantFrom(0, 240, 470, 490, 499, 500, 501, 520),
  fc.constantFrom("a", "[", '"', "é", "\x7f"),
).map(([parts, pad, fill]) => fill.repeat(pad) + parts.join(""));

Deno.test("propertyValue: gives what the old pattern gave, on any value", () => {
  fc.assert(
    fc.property(value, (v) => assert.equal(propertyValue(v), oldPropertyValue(v))),
    { numRuns: 5000 },
  );
});

Deno.test("propertyValue: 1 MiB of atom characters and a space (minutes with the old pattern)", () => {
  assert.equal(propertyValue("a".repeat(1 << 20) + " "), undefined);
  // Under the bound, where the pattern still runs: a run with a bad character after it.
  assert.equal(propertyValue("a".repeat(400) + " "), `"${"a".repeat(400)} "`);
  assert.equal(
    propertyValue("a".repeat(200) + "@" + "b".repeat(200)),
    "a".repeat(200) + "@" + "b".repeat(200),
  );
});
