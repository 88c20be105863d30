/**
 * The From: addresses DMARC evaluates, end to end through the checks: a control character after
 * the domain does not take a message out of its domain's policy.
 */
import assert from "node:assert/strict";
import { checkMessage } from "../../src/checks/verify.ts";
import type { Resolve } from "../../src/checks/lookups.ts";

Deno.test("DMARC: a From: domain followed by a control character is still that domain", async () => {
  const asked: string[] = [];
  const resolve: Resolve = (name, rrtype) => {
    asked.push(`${rrtype} ${name}`);
    if (rrtype === "TXT" && name === "_dmarc.bank.test") {
      return Promise.resolve([["v=DMARC1; p=reject"]]);
    }
    return Promise.reject(Object.assign(new Error("No such name"), { code: "ENOTFOUND" }));
  };
  for (const from of ["ceo@bank.test", "ceo@bank.test\x01", "Ceo <ceo@bank.test\x1b>"]) {
    asked.length = 0;
    const message = new TextEncoder().encode(
      `From: ${from}\r\nTo: bob@local.test\r\nSubject: x\r\n\r\nHi\r\n`,
    );
    const outcome = await checkMessage([message], {
      resolve,
      ip: "192.0.2.1",
      spf: Promise.resolve({
        mailfrom: {
          result: "none",
          domain: "other.test",
          row: { method: "spf", result: "none", props: [] },
        },
      }),
      dmarc: true,
    });
    assert.equal(outcome.dmarc?.from, "bank.test", JSON.stringify(from));
    assert.equal(outcome.dmarc?.result, "fail", JSON.stringify(from));
    assert.equal(outcome.dmarc?.policy, "reject", JSON.stringify(from));
    assert.ok(asked.includes("TXT _dmarc.bank.test"), asked.join(", "));
  }
});
