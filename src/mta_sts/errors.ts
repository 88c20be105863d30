/**
 * The errors of MTA-STS discovery. Each carries the TLS-RPT result type (RFC 8460 §4.3) it
 * would be reported as, so the log lines can feed a report later.
 *
 * @module
 */

/**
 * RFC 8460 §4.3 result types we produce: policy discovery (§4.3.2.2) and negotiation
 * (§4.3.2.1) failures, and `success` for the delivery log.
 */
export type TlsRptResult =
  | "success"
  | "sts-policy-fetch-error"
  | "sts-policy-invalid"
  | "sts-webpki-invalid"
  | "starttls-not-supported"
  | "certificate-host-mismatch"
  | "certificate-expired"
  | "certificate-not-trusted"
  | "validation-failure";

/** A policy or TXT record that does not parse (RFC 8461 §3.1, §3.2). */
export class PolicySyntaxError extends Error {
  override name = "PolicySyntaxError";
  readonly result: TlsRptResult = "sts-policy-invalid";
}

/** The policy could not be fetched: DNS, connection, certificate, HTTP status, size, time. */
export class PolicyFetchError extends Error {
  override name = "PolicyFetchError";
  readonly result: TlsRptResult;
  constructor(
    message: string,
    result: TlsRptResult = "sts-policy-fetch-error",
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.result = result;
  }
}
