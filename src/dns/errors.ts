/**
 * Why a DNS lookup gave no records, read from the response code itself (RFC 1035 §4.1.1,
 * RFC 2308 §2): the name does not exist (NXDOMAIN), it exists without records of the type asked
 * (NODATA), or the lookup failed (SERVFAIL, REFUSED, no answer in time, a broken reply). Only the
 * first two are answers; the rest say nothing about the name and are temporary.
 *
 * @module
 */

/** What a lookup found instead of records. */
export type DnsFailureKind = "nxdomain" | "nodata" | "servfail" | "refused" | "timeout" | "error";

/** The `code` `node:dns` gives each kind: mailauth tells "none" from "temperror" by it. */
const NODE_CODES: Record<DnsFailureKind, string> = {
  nxdomain: "ENOTFOUND",
  nodata: "ENODATA",
  servfail: "ESERVFAIL",
  refused: "EREFUSED",
  timeout: "ETIMEOUT",
  error: "EBADRESP",
};

/** A lookup that found no records, and why. */
export class DnsLookupError extends Error {
  override name = "DnsLookupError";
  readonly kind: DnsFailureKind;
  /** True when the failure says nothing about the name (asking again later may succeed). */
  readonly temporary: boolean;
  /** The `node:dns` error code of the same outcome (`ENOTFOUND`, `ENODATA`, `ESERVFAIL`...). */
  readonly code: string;

  constructor(kind: DnsFailureKind, message: string, options?: ErrorOptions & { code?: string }) {
    super(message, options);
    this.kind = kind;
    this.temporary = kind !== "nxdomain" && kind !== "nodata";
    this.code = options?.code ?? NODE_CODES[kind];
  }
}
