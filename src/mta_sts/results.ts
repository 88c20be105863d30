/**
 * What the delivery side reports (RFC 8460 §4.3): a failure of one MX session, told by the
 * SMTP client's words, as the TLS-RPT result type a report would count it under. The log line
 * of each policy fetch and each delivery under a policy carries `policyType: "sts"`, the
 * domain, the MX and this result, which is what a TLS-RPT report is summed from.
 *
 * @module
 */
import type { TlsRptResult } from "./errors.ts";

/** What the client said of a failed session (a ClientError's parts). */
export interface SessionFailure {
  /** The command or stage: `STARTTLS`, `Connect to …`, `EHLO …`. */
  readonly command: string;
  /** The client's failure kind: `tls`, `unsupported`, `reply`, `connect`, … */
  readonly failure: string;
  readonly message: string;
}

/** A certificate problem (a node:tls `authorizationError` code, or a handshake error text). */
export function certificateResult(problem: string): TlsRptResult {
  if (/ALTNAME|altname|does not match|not valid for|hostname|NotValidForName/i.test(problem)) {
    return "certificate-host-mismatch";
  }
  if (/EXPIRED|expired|NOT_YET_VALID|not yet valid/i.test(problem)) return "certificate-expired";
  if (
    /SELF_SIGNED|self.signed|UNABLE_TO_(GET|VERIFY)|UnknownIssuer|unknown ?issuer|not trusted|untrusted|CERT_UNTRUSTED|chain/i
      .test(problem)
  ) {
    return "certificate-not-trusted";
  }
  return "validation-failure";
}

/**
 * The result type of a failed session under an enforced policy, or undefined when the failure
 * is not about transport security (a refused connection, a timeout: tried again like any).
 */
export function sessionResult(f: SessionFailure): TlsRptResult | undefined {
  if (f.command === "STARTTLS") {
    if (f.failure === "unsupported" || f.failure === "reply") return "starttls-not-supported";
    if (f.failure === "tls") return certificateResult(f.message);
    return undefined;
  }
  if (f.failure === "tls") return certificateResult(f.message);
  return undefined;
}
