/**
 * What happens to a message once its checks are done: the policy settings of `mail serve`
 * (docs/behaviour.md) applied to the results. Pure: results in, a decision out.
 *
 * @module
 */
import { SmtpError } from "../smtp/reply.ts";

/** The settings that decide (ServeConfig's `dmarc`, `spfFail`, `dmarcTemperror`). */
export interface PolicySettings {
  readonly dmarc: "off" | "tag" | "enforce";
  readonly spfFail: "tag" | "reject";
  readonly dmarcTemperror: "deliver" | "defer";
}

/** A DMARC policy (RFC 7489 §6.3 p=). */
export type DmarcPolicy = "none" | "quarantine" | "reject";

/** DMARC as mailauth evaluated it for the From: domain. */
export interface DmarcVerdict {
  /** `pass`, `fail`, `none`, `temperror`, `permerror`. */
  readonly result: string;
  /** The policy that applies to the author domain (p=, sp= or np=, after t=y). */
  readonly policy?: DmarcPolicy | undefined;
  /** The record's pct= (RFC 7489 §6.6.4), 100 when absent. */
  readonly pct?: number | undefined;
  /** The From: domain. */
  readonly domain: string;
}

/** The results the policy looks at. */
export interface Verdicts {
  /** SPF of the MAIL FROM identity (of HELO for the null sender). */
  readonly spf: string;
  /** The MAIL FROM domain (or HELO name) SPF was checked for. */
  readonly spfDomain: string;
  /** Each DKIM signature's result. */
  readonly dkim: readonly string[];
  /** Absent when DMARC was not evaluated (`dmarc off`, or no single From: domain). */
  readonly dmarc?: DmarcVerdict | undefined;
}

/** What to do with the message. */
export interface Decision {
  /** Deliver (to INBOX or, for `junk`, to the Junk folder), or refuse with ERROR. */
  readonly action: "deliver" | "junk" | "refuse";
  readonly error?: SmtpError;
  /** The DMARC result to record: mailauth's, or `temperror` by our rule. */
  readonly dmarcResult?: string | undefined;
  /** The policy applied (after pct=), for the `policy.dmarc` property. */
  readonly applied?: DmarcPolicy | undefined;
}

/** A domain from the message, safe in a reply line. */
function shown(domain: string): string {
  return domain.replace(/[^\x21-\x7e]/g, "?").slice(0, 255);
}

/** RFC 7489 §6.6.4: a message outside pct= gets the next weaker policy. */
const WEAKER: Record<DmarcPolicy, DmarcPolicy> = {
  reject: "quarantine",
  quarantine: "none",
  none: "none",
};

/**
 * Our rule: a DMARC `fail` that depends on a temporary error (an SPF or DKIM `temperror`,
 * which could have been a pass) is a `temperror`, never a fail to enforce.
 */
export function dmarcResult(v: Verdicts): string | undefined {
  if (v.dmarc === undefined) return undefined;
  const r = v.dmarc.result;
  if (r === "fail" && (v.spf === "temperror" || v.dkim.includes("temperror"))) return "temperror";
  return r;
}

/**
 * The decision for V under SETTINGS. SAMPLE (in [0, 1)) picks whether a pct= below 100
 * applies the policy to this message.
 */
export function decide(settings: PolicySettings, v: Verdicts, sample: number): Decision {
  const result = dmarcResult(v);
  const dmarc = v.dmarc;
  let applied: DmarcPolicy | undefined;
  if (dmarc?.policy !== undefined && result === "fail") {
    const pct = dmarc.pct ?? 100;
    applied = sample * 100 < pct ? dmarc.policy : WEAKER[dmarc.policy];
  }
  const enforce = settings.dmarc === "enforce";
  const base = { dmarcResult: result, applied };
  if (enforce && applied === "reject") {
    return {
      ...base,
      action: "refuse",
      error: new SmtpError(
        550,
        "5.7.1",
        `Message refused: DMARC policy of ${shown(dmarc!.domain)} is reject, and neither SPF nor ` +
          `DKIM authenticated it`,
      ),
    };
  }
  // RFC 7489 §10.1: an SPF fail is only refused once DMARC has had its say: mail that DMARC
  // passes through an aligned DKIM signature (a forwarded message) is not refused for SPF.
  if (settings.spfFail === "reject" && v.spf === "fail" && result !== "pass") {
    return {
      ...base,
      action: "refuse",
      error: new SmtpError(
        550,
        "5.7.23",
        `Message refused: SPF of ${shown(v.spfDomain)} does not allow this host to send its mail`,
      ),
    };
  }
  // Deferring helps only when the answer could change what happens: when the policy is not
  // known (the DMARC record could not be read) or would act on a fail.
  if (
    enforce && result === "temperror" && settings.dmarcTemperror === "defer" &&
    dmarc?.policy !== "none"
  ) {
    return {
      ...base,
      action: "refuse",
      error: new SmtpError(
        451,
        "4.7.5",
        `DNS error while checking DMARC for ${shown(dmarc?.domain ?? "")}, try again later`,
      ),
    };
  }
  if (enforce && applied === "quarantine") return { ...base, action: "junk" };
  return { ...base, action: "deliver" };
}
