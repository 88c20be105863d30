/**
 * The resolver every lookup goes through: MX and addresses for delivery, TXT for SPF, DKIM,
 * DMARC and MTA-STS. It reads the response code itself, so "no such name" (NXDOMAIN), "no such
 * records" (NODATA) and "the lookup failed" (SERVFAIL, REFUSED, no answer) stay apart, which
 * `Deno.resolveDns` and `node:dns` under Deno do not do.
 *
 * Each attempt has a short deadline (1 s, then 2 s), and a lookup makes at most two (the next
 * server in turn, or the same one again), so a resolver that does not answer costs a bounded,
 * small time.
 * Answers are cached for their TTL, NXDOMAIN and NODATA for the SOA's minimum (RFC 2308 §5), and
 * failures for a short while, so a machine whose resolver is down still receives mail at full
 * speed. Identical lookups in flight share one query.
 *
 * @module
 */
import { domainToASCII } from "node:url";
import { type DnsClock, SYSTEM_DNS_CLOCK } from "./clock.ts";
import { TtlCache } from "./cache.ts";
import { type DnsFailureKind, DnsLookupError } from "./errors.ts";
import { interpret, MAX_TTL, type MxRecord, type Outcome, type RecordData } from "./answer.ts";
import { type NameServer, SystemNameServers } from "./resolv_conf.ts";
import { exchange } from "./transport.ts";
import type { QueryType } from "./wire.ts";

export type { MxRecord } from "./answer.ts";

/** How a resolver is made. */
export interface ResolverOptions {
  /** The server to ask (`--dns`); the system's (resolv.conf) when missing. */
  readonly server?: NameServer | undefined;
  /** Servers to ask in turn, as resolv.conf would name them (used when `server` is not). */
  readonly servers?: readonly NameServer[] | undefined;
  /**
   * The resolv.conf to read when no server is given (/etc/resolv.conf); read again when it
   * changes, looked at every 5 s at most.
   */
  readonly resolvConf?: string | undefined;
  /** The port of the servers resolv.conf names (53; tests point it at their responders). */
  readonly resolvConfPort?: number | undefined;
  /**
   * The first attempt's deadline in milliseconds (1000); the second has twice as long, and so
   * has a TCP attempt.
   */
  readonly timeoutMs?: number;
  /** Where time comes from (tests move it by hand). */
  readonly clock?: DnsClock;
  /** How many answers the cache holds at most (10,000). */
  readonly maxEntries?: number;
  /** How many octets of records the cache holds at most (8 MiB). */
  readonly maxCacheSize?: number;
  /** How long a failure (SERVFAIL, REFUSED, timeout) is remembered, in milliseconds (30,000). */
  readonly failureTtlMs?: number;
}

/** DNS lookups. Each rejects with a {@link DnsLookupError} when it finds no records. */
export interface DnsResolver {
  /** IPv4 addresses. */
  a(name: string): Promise<string[]>;
  /** IPv6 addresses. */
  aaaa(name: string): Promise<string[]>;
  /** MX records, unsorted; a null MX (RFC 7505) has the exchange ".". */
  mx(name: string): Promise<MxRecord[]>;
  /** TXT records, each as its character-strings (join them for SPF, DKIM, DMARC). */
  txt(name: string): Promise<string[][]>;
  /** PTR names. */
  ptr(name: string): Promise<string[]>;
  /**
   * The lookups in the shape of `node:dns/promises` `resolve(name, rrtype)`, errors with its
   * codes (ENOTFOUND, ENODATA, ESERVFAIL, EREFUSED, ETIMEOUT): what mailauth takes as its
   * `resolver`. Types: A, AAAA, MX, TXT, PTR, CNAME.
   */
  readonly nodeStyle: (name: string, rrtype: string) => Promise<unknown>;
}

/** How many CNAMEs one lookup follows at most. */
export const MAX_CNAME_HOPS = 8;

/** How many queries may be out at once; more wait their turn. */
export const MAX_IN_FLIGHT = 64;

/** What the cache keeps for a question. */
type Entry =
  | { readonly ok: true; readonly records: readonly RecordData[] }
  | { readonly ok: false; readonly kind: DnsFailureKind; readonly detail: string };

/** About how many octets ENTRY under KEY holds, for the cache's bound. */
function sizeOf(key: string, entry: Entry): number {
  let size = 64 + key.length;
  if (!entry.ok) return size + entry.detail.length;
  for (const r of entry.records) {
    size += 16 +
      (typeof r === "string"
        ? r.length
        : "exchange" in r
        ? r.exchange.length
        : (r as readonly string[]).reduce((n, s) => n + 8 + s.length, 0));
  }
  return size;
}

/** NAME in the form queries and the cache use, or undefined when it cannot be a domain name. */
export function normalName(name: string): string | undefined {
  let n = name.trim().replace(/\.$/, "").toLowerCase();
  // RFC 5890: a name with non-ASCII labels is looked up by its A-labels.
  if (/[^\x00-\x7f]/.test(n)) n = domainToASCII(n);
  if (n === "" || n.length > 253) return undefined;
  for (const label of n.split(".")) {
    if (label.length === 0 || label.length > 63 || /[\x00-\x20\x7f-\xff]/.test(label)) {
      return undefined;
    }
  }
  return n;
}

class Resolver implements DnsResolver {
  readonly #clock: DnsClock;
  readonly #timeoutMs: number;
  readonly #failureTtlMs: number;
  readonly #cache: TtlCache<Entry>;
  readonly #inFlight = new Map<string, Promise<Entry>>();
  /** The servers to ask; only a lookup that misses the cache asks. */
  readonly #servers: () => readonly NameServer[] | Promise<readonly NameServer[]>;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(options: ResolverOptions) {
    this.#clock = options.clock ?? SYSTEM_DNS_CLOCK;
    this.#timeoutMs = options.timeoutMs ?? 1000;
    this.#failureTtlMs = options.failureTtlMs ?? 30_000;
    this.#cache = new TtlCache({
      maxEntries: options.maxEntries ?? 10_000,
      maxSize: options.maxCacheSize ?? 8 * 1024 * 1024,
    }, this.#clock);
    const given = options.server ? [options.server] : options.servers;
    if (given && given.length > 0) {
      this.#servers = () => given;
    } else {
      const system = new SystemNameServers({
        path: options.resolvConf,
        port: options.resolvConfPort,
        clock: this.#clock,
      });
      this.#servers = () => system.current();
    }
  }

  // Bound functions, so that a lookup can be passed on alone (`{ mx } = resolver`). Each call
  // gets its own arrays: callers sort and change them (mailauth sorts MX lists in place).
  readonly a = (name: string): Promise<string[]> => this.#strings(name, "A");
  readonly aaaa = (name: string): Promise<string[]> => this.#strings(name, "AAAA");
  readonly ptr = (name: string): Promise<string[]> => this.#strings(name, "PTR");

  readonly mx = async (name: string): Promise<MxRecord[]> =>
    (await this.#lookup(name, "MX")).map((r) => ({ ...(r as MxRecord) }));

  readonly txt = async (name: string): Promise<string[][]> =>
    (await this.#lookup(name, "TXT")).map((r) => [...(r as readonly string[])]);

  readonly nodeStyle = async (name: string, rrtype: string): Promise<unknown> => {
    switch (String(rrtype).toUpperCase()) {
      case "A":
        return await this.a(name);
      case "AAAA":
        return await this.aaaa(name);
      case "MX":
        // node:dns gives a null MX's exchange as "".
        return (await this.mx(name)).map((r) => ({
          priority: r.preference,
          exchange: r.exchange === "." ? "" : r.exchange,
        }));
      case "TXT":
        return await this.txt(name);
      case "PTR":
        return await this.ptr(name);
      case "CNAME":
        return await this.#strings(name, "CNAME");
      default:
        throw new DnsLookupError("error", `Unsupported DNS record type: ${rrtype}`, {
          code: "ENOTIMP",
        });
    }
  };

  async #strings(name: string, type: QueryType): Promise<string[]> {
    return (await this.#lookup(name, type)).map((r) => r as string);
  }

  /** The records of NAME and TYPE, from the cache, a query in flight, or a new query. */
  async #lookup(name: string, type: QueryType): Promise<readonly RecordData[]> {
    const n = normalName(name);
    if (n === undefined) {
      // A name that cannot exist does not: node:dns calls it EBADNAME.
      throw new DnsLookupError("nxdomain", `Invalid domain name: ${JSON.stringify(name)}`, {
        code: "EBADNAME",
      });
    }
    const key = `${type} ${n}`;
    let entry = this.#cache.get(key);
    if (entry === undefined) {
      let pending = this.#inFlight.get(key);
      if (pending === undefined) {
        pending = this.#resolve(n, type).then(({ entry, ttlMs }) => {
          this.#cache.set(key, entry, ttlMs, sizeOf(key, entry));
          return entry;
        }).finally(() => this.#inFlight.delete(key));
        this.#inFlight.set(key, pending);
      }
      entry = await pending;
    }
    if (entry.ok) return entry.records;
    // A new error each time: callers (mailauth) annotate the errors they are given.
    throw new DnsLookupError(entry.kind, `DNS lookup of ${type} ${n} failed: ${entry.detail}`);
  }

  /** Asks the servers, following aliases, and says how long the result may be kept. */
  async #resolve(name: string, type: QueryType): Promise<{ entry: Entry; ttlMs: number }> {
    const servers = await this.#servers();
    let current = name;
    let hopsLeft = MAX_CNAME_HOPS;
    let ttl = MAX_TTL;
    for (;;) {
      const outcome = await this.#ask(servers, current, type, hopsLeft);
      switch (outcome.kind) {
        case "records":
          return {
            entry: { ok: true, records: outcome.records },
            ttlMs: Math.min(ttl, outcome.ttl) * 1000,
          };
        case "follow":
          hopsLeft -= outcome.hops;
          ttl = Math.min(ttl, outcome.ttl);
          current = outcome.target;
          continue;
        case "failure": {
          const negative = outcome.failure === "nxdomain" || outcome.failure === "nodata";
          return {
            entry: { ok: false, kind: outcome.failure, detail: outcome.detail },
            ttlMs: negative ? Math.min(ttl, outcome.ttl) * 1000 : this.#failureTtlMs,
          };
        }
      }
    }
  }

  /**
   * One question, in at most two attempts: the first server, then the next (or the same one
   * again when there is only one). A SERVFAIL or REFUSED is asked again only of another server.
   */
  async #ask(
    servers: readonly NameServer[],
    name: string,
    type: QueryType,
    hopsLeft: number,
  ): Promise<Outcome> {
    let last: Outcome | undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
      const server = servers[attempt % servers.length]!;
      let answered = true;
      await this.#turn();
      try {
        // The second attempt waits twice as long (as the C library's resolver doubles its
        // timeout each round): a slow server gets a second chance, a dead one costs 3 timeouts.
        const reply = await exchange(server, { name, type }, {
          clock: this.#clock,
          timeoutMs: this.#timeoutMs * 2 ** attempt,
        });
        last = interpret(reply, name, type, hopsLeft);
      } catch (err) {
        if (!(err instanceof DnsLookupError)) throw err;
        answered = false;
        last = { kind: "failure", failure: err.kind, detail: err.message, ttl: 0 };
      } finally {
        this.#release();
      }
      // No answer (a lost datagram, a dead server) is worth a second attempt; a server's
      // SERVFAIL or REFUSED only when another server is there to ask.
      const askAgain = !answered ||
        (servers.length > 1 && last.kind === "failure" &&
          (last.failure === "servfail" || last.failure === "refused"));
      if (!askAgain) return last;
    }
    return last!;
  }

  /** Waits for one of the {@link MAX_IN_FLIGHT} query slots. */
  #turn(): Promise<void> {
    if (this.#running < MAX_IN_FLIGHT) {
      this.#running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#running--;
  }
}

/** A resolver with its own cache. */
export function createResolver(options: ResolverOptions = {}): DnsResolver {
  return new Resolver(options);
}

const shared = new Map<string, DnsResolver>();

/**
 * The process's resolver for SERVER (`--dns`; the system's when undefined): every part of
 * `mail serve` (delivery, checks, MTA-STS) asks through the same one and shares its cache.
 */
export function sharedResolver(server?: NameServer): DnsResolver {
  const key = server ? `${server.host}:${server.port}` : "";
  let resolver = shared.get(key);
  if (resolver === undefined) {
    resolver = createResolver(server ? { server } : {});
    shared.set(key, resolver);
  }
  return resolver;
}
