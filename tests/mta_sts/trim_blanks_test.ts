/**
 * The MTA-STS record's fields and the policy's values lose their blanks in one pass: the regex
 * they used (`^[ \t]+|[ \t]+$`) rescanned a run of blanks from each of them, so a TXT record
 * (up to 64 KiB over TCP) or a policy with a long run of blanks took seconds.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { parsePolicy } from "../../src/mta_sts/policy.ts";
import { isWsp, trimmed } from "../../src/trim.ts";
import { parseStsRecord } from "../../src/mta_sts/record.ts";

/** The trimming before the change, verbatim (the reference). */
const oldTrim = (s: string) => s.replace(/^[ \t]+|[ \t]+$/g, "");

Deno.test("blanks trimmed: what the regex gave, on any text", () => {
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(" ", "\t", "a", "=", ";", "\r", "\n", "\xa0", "\v"), {
        maxLength: 30,
      }).map((p) => p.join("")),
      (s) => assert.equal(trimmed(s, isWsp), oldTrim(s)),
    ),
    { numRuns: 5000 },
  );
});

Deno.test("blanks trimmed: 64 KiB of blanks in a record and a policy (seconds with the old regex)", () => {
  const blanks = " \t".repeat(1 << 15);
  assert.throws(() => parseStsRecord(`v=STSv1; id=${blanks}x`), /bad id/);
  assert.equal(parseStsRecord(`v=STSv1; id=abc${blanks};`), "abc");
  assert.throws(
    () => parsePolicy(`version: STSv1\nmode: a${blanks}x\nmax_age: 1\n`),
    /MTA-STS policy/,
  );
});
