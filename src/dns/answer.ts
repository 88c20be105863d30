/**
 * What a reply says about a question (RFC 1034 §4.3.2, RFC 2308 §2): the records asked for, an
 * alias still to follow, or why there are none, each with how long it may be cached. Pure, and
 * total: any reply `matchReply` accepted gives an outcome, whatever a server put in it.
 *
 * @module
 */
import { isIPv4, isIPv6 } from "node:net";
// @ts-types="@types/dns-packet"
import type { Answer, SoaAnswer } from "dns-packet";
import type { DnsFailureKind } from "./errors.ts";
import { type QueryType, RCODE, type Reply } from "./wire.ts";

/** An MX record (RFC 1035 §3.3.9); a null MX (RFC 7505) has the exchange ".". */
export interface MxRecord {
  readonly preference: number;
  readonly exchange: string;
}

/** The records of one type: addresses and names as strings, MX, TXT as its character-strings. */
export type RecordData = string | MxRecord | readonly string[];

/** At most this many records of one answer are kept. */
export const MAX_RECORDS = 100;

/** The longest a positive answer is kept, in seconds, whatever its TTL. */
export const MAX_TTL = 86_400;

/** The longest a negative answer (NXDOMAIN, NODATA) is kept, in seconds. */
export const MAX_NEGATIVE_TTL = 3_600;

/** How long a negative answer without an SOA is kept, in seconds. */
export const DEFAULT_NEGATIVE_TTL = 300;

/** What one reply says. TTLs are in seconds. */
export type Outcome =
  | { readonly kind: "records"; readonly records: readonly RecordData[]; readonly ttl: number }
  /** The name is an alias whose target this reply does not resolve: ask again for TARGET. */
  | {
    readonly kind: "follow";
    readonly target: string;
    readonly ttl: number;
    readonly hops: number;
  }
  | {
    readonly kind: "failure";
    readonly failure: DnsFailureKind;
    readonly detail: string;
    readonly ttl: number;
  };

const normal = (name: string) => name.replace(/\.$/, "").toLowerCase();

const ttlOf = (a: Answer): number => {
  const t = (a as { ttl?: unknown }).ttl;
  return typeof t === "number" && Number.isFinite(t) && t >= 0 ? Math.min(t, MAX_TTL) : 0;
};

const utf8 = new TextDecoder();

/** The record's data in our shape, or undefined when it is not a well-formed record of TYPE. */
function dataOf(a: Answer, type: QueryType): RecordData | undefined {
  const data = (a as { data?: unknown }).data;
  switch (type) {
    case "A":
      return typeof data === "string" && isIPv4(data) ? data : undefined;
    case "AAAA":
      return typeof data === "string" && isIPv6(data) ? data : undefined;
    case "PTR":
    case "CNAME":
      return typeof data === "string" ? normal(data) || "." : undefined;
    case "MX": {
      const mx = data as { preference?: unknown; exchange?: unknown } | undefined;
      if (typeof mx?.preference !== "number" || typeof mx.exchange !== "string") return undefined;
      return { preference: mx.preference, exchange: normal(mx.exchange) || "." };
    }
    case "TXT": {
      const parts = Array.isArray(data) ? data : [data];
      const strings: string[] = [];
      for (const p of parts) {
        if (p instanceof Uint8Array) strings.push(utf8.decode(p));
        else if (typeof p === "string") strings.push(p);
        else return undefined;
      }
      return strings;
    }
  }
}

/** The negative TTL: the SOA's TTL or its minimum, the smaller (RFC 2308 §5), capped. */
function negativeTtl(reply: Reply): number {
  const soa = reply.authorities.find((a): a is SoaAnswer => a.type === "SOA");
  const minimum = (soa?.data as { minimum?: unknown } | undefined)?.minimum;
  if (!soa || typeof minimum !== "number" || !Number.isFinite(minimum) || minimum < 0) {
    return DEFAULT_NEGATIVE_TTL;
  }
  return Math.min(ttlOf(soa), minimum, MAX_NEGATIVE_TTL);
}

/** Whether the reply carries an SOA: the server's word that the chain ends here. */
const hasSoa = (reply: Reply) => reply.authorities.some((a) => a.type === "SOA");

/**
 * What REPLY says about NAME and TYPE, following the CNAMEs in its answer section from NAME
 * (at most HOPS_LEFT of them; more, or a loop, is a failure).
 */
export function interpret(reply: Reply, name: string, type: QueryType, hopsLeft: number): Outcome {
  const failure = (failure: DnsFailureKind, detail: string, ttl = 0): Outcome => ({
    kind: "failure",
    failure,
    detail,
    ttl,
  });
  switch (reply.rcode) {
    case RCODE.NOERROR:
    case RCODE.NXDOMAIN:
      break;
    case RCODE.SERVFAIL:
      return failure("servfail", "server failure (SERVFAIL)");
    case RCODE.REFUSED:
      return failure("refused", "query refused (REFUSED)");
    default:
      return failure("error", `response code ${reply.rcode}`);
  }
  let current = normal(name);
  let ttl = MAX_TTL;
  let hops = 0;
  const seen = new Set([current]);
  if (type !== "CNAME") {
    for (;;) {
      const alias = reply.answers.find((a) =>
        a.type === "CNAME" && typeof a.name === "string" && normal(a.name) === current
      );
      const target = alias && dataOf(alias, "CNAME");
      if (!alias || typeof target !== "string") break;
      if (seen.has(target)) return failure("error", `CNAME loop at ${target}`);
      if (++hops > hopsLeft) return failure("error", "too long a CNAME chain");
      seen.add(target);
      ttl = Math.min(ttl, ttlOf(alias));
      current = target;
    }
  }
  const records: RecordData[] = [];
  for (const a of reply.answers) {
    if (a.type !== type || typeof a.name !== "string" || normal(a.name) !== current) continue;
    const data = dataOf(a, type);
    if (data === undefined) continue;
    ttl = Math.min(ttl, ttlOf(a));
    records.push(data);
    if (records.length === MAX_RECORDS) break;
  }
  if (records.length > 0) return { kind: "records", records, ttl };
  if (reply.rcode === RCODE.NXDOMAIN) {
    return failure("nxdomain", `no such name: ${current}`, negativeTtl(reply));
  }
  // An alias whose target the reply leaves unresolved, without an SOA saying the target has no
  // such records: ask about the target itself.
  if (hops > 0 && !hasSoa(reply)) return { kind: "follow", target: current, ttl, hops };
  return failure("nodata", `no ${type} records for ${current}`, negativeTtl(reply));
}
