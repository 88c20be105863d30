import assert from "node:assert/strict";
import fc from "fast-check";
import { decide, dmarcResult, type PolicySettings } from "../../src/checks/policy.ts";
import type { DmarcPolicy, Verdicts } from "../../src/checks/policy.ts";

const DEFAULTS: PolicySettings = { dmarc: "enforce", spfFail: "tag", dmarcTemperror: "deliver" };

function verdicts(
  spf: string,
  dkim: string[],
  dmarc?: { result: string; policy?: DmarcPolicy; pct?: number },
): Verdicts {
  return {
    spf,
    spfDomain: "example.com",
    dkim,
    ...(dmarc ? { dmarc: { ...dmarc, domain: "example.com" } } : {}),
  };
}

/** The action and reply code of one decision, `deliver`, `junk` or the code. */
function outcome(settings: Partial<PolicySettings>, v: Verdicts, sample = 0): string {
  const d = decide({ ...DEFAULTS, ...settings }, v, sample);
  return d.action === "refuse" ? `${d.error!.code} ${d.error!.enhanced}` : d.action;
}

Deno.test("policy: the decision table", () => {
  const fail = (policy: DmarcPolicy) => ({ result: "fail", policy });
  const table: [Partial<PolicySettings>, Verdicts, string][] = [
    // DMARC under each policy, enforced.
    [{}, verdicts("pass", [], { result: "pass", policy: "reject" }), "deliver"],
    [{}, verdicts("fail", ["fail"], fail("none")), "deliver"],
    [{}, verdicts("fail", ["fail"], fail("quarantine")), "junk"],
    [{}, verdicts("fail", ["fail"], fail("reject")), "550 5.7.1"],
    [{}, verdicts("none", [], { result: "none" }), "deliver"],
    [{}, verdicts("pass", ["pass"]), "deliver"],
    // tag and off record only.
    [{ dmarc: "tag" }, verdicts("fail", ["fail"], fail("reject")), "deliver"],
    [{ dmarc: "tag" }, verdicts("fail", ["fail"], fail("quarantine")), "deliver"],
    [{ dmarc: "off" }, verdicts("fail", ["fail"]), "deliver"],
    // Our rule: a fail that depends on a temperror is a temperror, never a reject.
    [{}, verdicts("temperror", ["fail"], fail("reject")), "deliver"],
    [{}, verdicts("fail", ["temperror"], fail("reject")), "deliver"],
    [{}, verdicts("fail", ["temperror"], fail("quarantine")), "deliver"],
    [{ dmarcTemperror: "defer" }, verdicts("fail", ["temperror"], fail("reject")), "451 4.7.5"],
    [{ dmarcTemperror: "defer" }, verdicts("pass", [], { result: "temperror" }), "451 4.7.5"],
    // Deferring when the policy is none would change nothing.
    [{ dmarcTemperror: "defer" }, verdicts("temperror", [], fail("none")), "deliver"],
    [
      { dmarcTemperror: "defer", dmarc: "tag" },
      verdicts("temperror", [], fail("reject")),
      "deliver",
    ],
    // SPF fail.
    [{ spfFail: "reject" }, verdicts("fail", []), "550 5.7.23"],
    [{ spfFail: "reject" }, verdicts("fail", [], { result: "none" }), "550 5.7.23"],
    [{ spfFail: "reject" }, verdicts("softfail", []), "deliver"],
    [{ spfFail: "tag" }, verdicts("fail", []), "deliver"],
    // RFC 7489 §10.1: DMARC passing through DKIM keeps SPF's fail from refusing.
    [
      { spfFail: "reject" },
      verdicts("fail", ["pass"], { result: "pass", policy: "reject" }),
      "deliver",
    ],
    [{ spfFail: "reject" }, verdicts("fail", ["fail"], fail("reject")), "550 5.7.1"],
  ];
  for (const [settings, v, expected] of table) {
    assert.equal(outcome(settings, v), expected, JSON.stringify({ settings, v }));
  }
});

Deno.test("policy: pct= applies the policy to that share, the next weaker one to the rest", () => {
  const v = (policy: DmarcPolicy) => verdicts("fail", [], { result: "fail", policy, pct: 20 });
  assert.equal(outcome({}, v("reject"), 0.1), "550 5.7.1");
  assert.equal(outcome({}, v("reject"), 0.5), "junk");
  assert.equal(outcome({}, v("quarantine"), 0.1), "junk");
  assert.equal(outcome({}, v("quarantine"), 0.5), "deliver");
  const zero = verdicts("fail", [], { result: "fail", policy: "reject", pct: 0 });
  assert.equal(outcome({}, zero, 0), "junk");
  assert.equal(decide(DEFAULTS, v("reject"), 0.5).applied, "quarantine");
});

Deno.test("policy: the reason names the domain, made safe for a reply line", () => {
  const v: Verdicts = {
    spf: "fail",
    spfDomain: "evil.example\r\n250 ok",
    dkim: [],
    dmarc: { result: "fail", policy: "reject", domain: "bank.example\n" },
  };
  const d = decide(DEFAULTS, v, 0);
  assert.match(d.error!.message, /DMARC policy of bank\.example\? is reject/);
  assert.doesNotMatch(d.error!.message, /[\r\n]/);
  const s = decide({ ...DEFAULTS, dmarc: "off", spfFail: "reject" }, v, 0);
  assert.doesNotMatch(s.error!.message, /[\r\n]/);
});

Deno.test("property: a temperror anywhere in SPF or DKIM never leads to a 5xx for DMARC", () => {
  const result = fc.constantFrom(
    "pass",
    "fail",
    "softfail",
    "neutral",
    "none",
    "temperror",
    "permerror",
  );
  fc.assert(
    fc.property(
      result,
      fc.array(result, { maxLength: 4 }),
      fc.constantFrom<DmarcPolicy>("none", "quarantine", "reject"),
      fc.constantFrom<PolicySettings["dmarcTemperror"]>("deliver", "defer"),
      fc.double({ min: 0, max: 0.999, noNaN: true }),
      (spf, dkim, policy, dmarcTemperror, sample) => {
        fc.pre(spf === "temperror" || dkim.includes("temperror"));
        const v = verdicts(spf, dkim, { result: "fail", policy });
        assert.equal(dmarcResult(v), "temperror");
        const d = decide({ ...DEFAULTS, dmarcTemperror }, v, sample);
        if (d.action === "refuse") assert.equal(d.error!.code, 451);
        assert.notEqual(d.action, "junk");
      },
    ),
  );
});
