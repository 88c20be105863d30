/**
 * Where a destination domain's mail goes: a `--route DOMAIN=HOST:PORT` when one matches, else
 * the `*` smarthost (with its AUTH credentials, if configured), else the domain's MX hosts
 * (RFC 5321 §5.1) found with the same resolver and rules as `mail send --direct`.
 *
 * Unlike `mail send`, which reports and exits, the queue retries: a DNS failure is taken as
 * temporary unless it is definitely permanent. Deno reports NXDOMAIN and SERVFAIL alike as
 * NotFound, so only a null MX (RFC 7505) bounces at once; a domain that never resolves bounces
 * when the queue lifetime ends.
 *
 * @module
 */
import type { Credentials, NextHop } from "../client/deliver.ts";
import { DnsError, type Resolver } from "../client/mx.ts";
import { hopsFor } from "../client/submit.ts";

/** A next hop configured by hand (`--route`). */
export interface RouteTarget {
  readonly host: string;
  readonly port: number;
}

export interface RouterOptions {
  /** DOMAIN (lower-case) or `*` to host. */
  readonly routes: ReadonlyMap<string, RouteTarget>;
  readonly resolver: Resolver;
  /** Port of MX hosts (25; another in tests). */
  readonly mxPort: number;
  /** Credentials for the `*` route. */
  readonly smarthostCredentials?: Credentials | undefined;
  /** A CA (PEM) to verify the `*` route's certificate with. */
  readonly smarthostCa?: string | undefined;
  /** For shuffling equal MX preferences (injectable for tests). */
  readonly random?: (() => number) | undefined;
}

/** The hops of a destination, or why there are none. */
export type Route =
  | {
    readonly kind: "hops";
    readonly hops: readonly NextHop[];
    /** How they were found, for the log: `route`, `smarthost` or `mx`. */
    readonly via: "route" | "smarthost" | "mx";
    /** AUTH for these hops (the smarthost's). */
    readonly credentials?: Credentials | undefined;
    /** A CA (PEM) their certificates must chain to (the smarthost's); verified when set. */
    readonly ca?: string | undefined;
  }
  | { readonly kind: "failed"; readonly temporary: boolean; readonly text: string };

/** Resolves destinations to next hops per the configuration. */
export class Router {
  readonly #options: RouterOptions;

  constructor(options: RouterOptions) {
    this.#options = options;
  }

  /** The next hops for DOMAIN (lower-case). Never throws for DNS trouble: see {@link Route}. */
  async route(domain: string): Promise<Route> {
    const { routes } = this.#options;
    const exact = routes.get(domain);
    if (exact) {
      return { kind: "hops", hops: [{ host: exact.host, port: exact.port }], via: "route" };
    }
    const smarthost = routes.get("*");
    if (smarthost) {
      return {
        kind: "hops",
        hops: [{ host: smarthost.host, port: smarthost.port }],
        via: "smarthost",
        credentials: this.#options.smarthostCredentials,
        ...(this.#options.smarthostCa !== undefined ? { ca: this.#options.smarthostCa } : {}),
      };
    }
    try {
      const hops = await hopsFor(domain, {
        kind: "direct",
        resolver: this.#options.resolver,
        mxPort: this.#options.mxPort,
        routes: new Map(),
        random: this.#options.random,
      });
      return { kind: "hops", hops, via: "mx" };
    } catch (err) {
      // NXDOMAIN, a null MX or no mail host at all is final; a failed lookup is not.
      if (err instanceof DnsError) {
        return { kind: "failed", temporary: err.temporary, text: err.message };
      }
      // Anything else from the resolver (a timeout, a refused query) is worth another try.
      const text = err instanceof Error ? err.message.split("\n")[0]! : String(err);
      return { kind: "failed", temporary: true, text: `DNS lookup for ${domain} failed: ${text}` };
    }
  }
}
