/**
 * Finding where to deliver a domain's mail (RFC 5321 §5.1): its MX records sorted by
 * preference, equal preferences shuffled; with no MX, the domain itself (the "implicit MX");
 * a null MX (RFC 7505) means the domain accepts no mail at all.
 *
 * The lookups go through our own resolver (src/dns/), which reads the response code, so each
 * outcome is told apart and has its own consequence:
 * - NXDOMAIN for the domain: it does not exist; the mail bounces.
 * - NODATA for MX: the domain exists without MX records; its A/AAAA records are the mail host.
 * - a null MX, or no MX and no address: the domain takes no mail; the mail bounces.
 * - SERVFAIL, REFUSED, no answer: nothing is known; the mail waits (it is never sent to the
 *   domain's A record on the strength of a failed MX lookup).
 *
 * The resolver is injected, so tests answer from a DNS responder on loopback.
 *
 * @module
 */
import net from "node:net";
import type { NextHop } from "./deliver.ts";
import { DnsLookupError, type DnsResolver, type MxRecord, sharedResolver } from "../dns/mod.ts";

export type { MxRecord } from "../dns/mod.ts";

/**
 * The DNS lookups delivery needs. Both reject with a DnsLookupError (src/dns/) when there is
 * nothing to use, saying why; neither resolves to an empty list.
 */
export interface Resolver {
  mx(domain: string): Promise<MxRecord[]>;
  /** A and AAAA addresses of HOST (IPv4 first). */
  addresses(host: string): Promise<string[]>;
}

/** A lookup failure, permanent (the domain cannot receive mail) or temporary. */
export class DnsError extends Error {
  readonly temporary: boolean;
  constructor(message: string, temporary: boolean, options?: ErrorOptions) {
    super(message, options);
    this.name = "DnsError";
    this.temporary = temporary;
  }
}

/** The lookups of delivery over DNS, a resolver of src/dns/. */
export function mxResolver(dns: DnsResolver): Resolver {
  return {
    mx: (domain) => dns.mx(domain),
    async addresses(host) {
      const [a, aaaa] = await Promise.allSettled([dns.a(host), dns.aaaa(host)]);
      const found = [
        ...(a.status === "fulfilled" ? a.value : []),
        ...(aaaa.status === "fulfilled" ? aaaa.value : []),
      ];
      if (found.length > 0) return found;
      const errors = [a, aaaa].flatMap((r) => r.status === "rejected" ? [r.reason] : []);
      // A failure of either lookup means we do not know; otherwise there are none.
      throw errors.find((e) => !(e instanceof DnsLookupError) || e.temporary) ??
        errors.find((e) => e instanceof DnsLookupError && e.kind === "nxdomain") ??
        new DnsLookupError("nodata", `No A or AAAA records for ${host}`);
    },
  };
}

/**
 * The process's resolver (`--dns` NAMESERVER, else the system's) for delivery: the same
 * instance, and cache, as every other lookup of the process.
 */
export function dnsResolver(nameServer?: { ipAddr: string; port: number }): Resolver {
  return mxResolver(
    sharedResolver(nameServer ? { host: nameServer.ipAddr, port: nameServer.port } : undefined),
  );
}

const stripDot = (name: string) => name.replace(/\.$/, "");

/** At most this many MX hosts are looked up for one domain (as Postfix's smtp_mx_address_limit). */
export const MAX_MX_HOSTS = 10;

/** Sorts by preference, lowest first, shuffling each run of equal preferences (§5.1). */
export function orderMx(records: readonly MxRecord[], random = Math.random): MxRecord[] {
  const shuffled = [...records];
  // Fisher-Yates first, then a stable sort: equal preferences keep their random order.
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  return shuffled.sort((a, b) => a.preference - b.preference);
}

/** Whether ERR is a lookup that found nothing because there is nothing (not a failure). */
const isNone = (err: unknown) => err instanceof DnsLookupError && !err.temporary;

const reason = (err: unknown) => err instanceof Error ? err.message.split("\n")[0] : String(err);

/** Address lookups of HOST as hops; an IP address is its own hop. */
async function hostHops(host: string, port: number, resolver: Resolver): Promise<NextHop[]> {
  if (net.isIP(host)) return [{ host, address: host, port }];
  const addresses = await resolver.addresses(host);
  return addresses.map((address) => ({ host, address, port }));
}

/**
 * The hops for DOMAIN, in the order to try them: every address of every MX, best preference
 * first. Throws a DnsError when the domain has no usable mail host, temporary when a lookup
 * failed rather than found nothing.
 */
export async function mxHops(
  domain: string,
  resolver: Resolver,
  port: number,
  random = Math.random,
): Promise<NextHop[]> {
  let records: MxRecord[];
  try {
    records = await resolver.mx(domain);
  } catch (err) {
    if (err instanceof DnsLookupError && err.kind === "nxdomain") {
      throw new DnsError(`Domain ${domain} does not exist (NXDOMAIN)`, false, { cause: err });
    }
    if (!(err instanceof DnsLookupError && err.kind === "nodata")) {
      throw new DnsError(`MX lookup for ${domain} failed: ${reason(err)}`, true, { cause: err });
    }
    records = [];
  }
  // RFC 7505 §3: a null MX is one record whose exchange is the root ("."): no mail, ever.
  if (records.some((r) => stripDot(r.exchange) === "")) {
    throw new DnsError(`${domain} does not accept mail (null MX, RFC 7505)`, false);
  }
  if (records.length === 0) {
    // §5.1: no MX records, so the domain itself is the mail host (the implicit MX).
    try {
      return await hostHops(domain, port, resolver);
    } catch (err) {
      if (isNone(err)) {
        throw new DnsError(`No MX or address records for ${domain}`, false, { cause: err });
      }
      throw new DnsError(`Address lookup for ${domain} failed: ${reason(err)}`, true, {
        cause: err,
      });
    }
  }
  const hops: NextHop[] = [];
  let temporary = false;
  for (const mx of orderMx(records, random).slice(0, MAX_MX_HOSTS)) {
    try {
      hops.push(...await hostHops(stripDot(mx.exchange), port, resolver));
    } catch (err) {
      // One MX without addresses does not stop the others.
      if (!isNone(err)) temporary = true;
    }
  }
  if (hops.length === 0) {
    throw new DnsError(`No address for any MX host of ${domain}`, temporary);
  }
  return hops;
}
