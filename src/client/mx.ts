/**
 * Finding where to deliver a domain's mail (RFC 5321 §5.1): its MX records sorted by
 * preference, equal preferences shuffled; with no MX, the domain itself (the "implicit MX");
 * a null MX (RFC 7505) means the domain accepts no mail at all.
 *
 * The resolver is injected, so tests answer from a DNS responder on loopback.
 *
 * @module
 */
import net from "node:net";
import type { NextHop } from "./deliver.ts";

export interface MxRecord {
  readonly preference: number;
  readonly exchange: string;
}

/** The DNS lookups delivery needs. Both reject with Deno.errors.NotFound when there is none. */
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

/** A resolver over `Deno.resolveDns`, using NAMESERVER when given, else the system's. */
export function dnsResolver(nameServer?: { ipAddr: string; port: number }): Resolver {
  const opts = nameServer ? { nameServer } : {};
  const records = async <T>(p: Promise<T[]>): Promise<T[]> => {
    try {
      return await p;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return [];
      throw err;
    }
  };
  return {
    mx: (domain) => Deno.resolveDns(domain, "MX", opts),
    async addresses(host) {
      const [a, aaaa] = await Promise.all([
        records(Deno.resolveDns(host, "A", opts)),
        records(Deno.resolveDns(host, "AAAA", opts)),
      ]);
      return [...a, ...aaaa];
    },
  };
}

const stripDot = (name: string) => name.replace(/\.$/, "");

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

function lookupFailure(what: string, err: unknown): DnsError {
  // Deno reports "no such domain", "no records" and "server failure" alike as NotFound, so a
  // NotFound is taken as permanent and anything else (timeouts, refused queries) as temporary.
  const message = err instanceof Error ? err.message.split("\n")[0] : String(err);
  return new DnsError(`${what}: ${message}`, false, { cause: err });
}

/** Address lookups of HOST as hops; an IP address is its own hop. */
async function hostHops(host: string, port: number, resolver: Resolver): Promise<NextHop[]> {
  if (net.isIP(host)) return [{ host, address: host, port }];
  const addresses = await resolver.addresses(host);
  return addresses.map((address) => ({ host, address, port }));
}

/**
 * The hops for DOMAIN, in the order to try them: every address of every MX, best preference
 * first. Throws a DnsError when the domain has no usable mail host.
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
    if (!(err instanceof Deno.errors.NotFound)) {
      throw new DnsError(`MX lookup for ${domain} failed: ${String(err)}`, true, { cause: err });
    }
    records = [];
  }
  // RFC 7505 §3: a null MX is one record whose exchange is the root ("."): no mail, ever.
  if (records.some((r) => stripDot(r.exchange) === "")) {
    throw new DnsError(`${domain} does not accept mail (null MX, RFC 7505)`, false);
  }
  if (records.length === 0) {
    // §5.1: no MX records, so the domain itself is the mail host (the implicit MX).
    let hops: NextHop[];
    try {
      hops = await hostHops(domain, port, resolver);
    } catch (err) {
      throw lookupFailure(`No MX or address records for ${domain}`, err);
    }
    if (hops.length === 0) throw new DnsError(`No MX or address records for ${domain}`, false);
    return hops;
  }
  const hops: NextHop[] = [];
  let temporary = false;
  for (const mx of orderMx(records, random)) {
    try {
      hops.push(...await hostHops(stripDot(mx.exchange), port, resolver));
    } catch (err) {
      // One MX without addresses does not stop the others.
      if (!(err instanceof Deno.errors.NotFound)) temporary = true;
    }
  }
  if (hops.length === 0) {
    throw new DnsError(`No address for any MX host of ${domain}`, temporary);
  }
  return hops;
}
