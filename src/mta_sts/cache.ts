/**
 * Policy discovery with its cache (RFC 8461 §3, §5.1): the `_mta-sts` TXT record is looked up
 * for each delivery attempt (our resolver caches it for its TTL); while it names the id of the
 * policy we hold, that policy is used, and fetched again once half its `max_age` is over (so it
 * is renewed before it expires); a new id is fetched at once. A failed lookup or fetch keeps using a policy we hold
 * until it expires (§5.1), so an attacker who blocks the fetch cannot switch enforcement off.
 *
 * Policies are kept in memory and, when a store is given, in the database, so a restart does
 * not forget them (§5: a policy must outlive the process for `enforce` to mean anything).
 * Fetches of one domain at once are shared; a failed fetch is not retried for
 * {@link FAILED_FETCH_RETRY_MS}.
 *
 * @module
 */
import { domainToASCII } from "node:url";
import { getLogger } from "../log.ts";
import type { TlsRptResult } from "./errors.ts";
import { formatPolicy, parsePolicy, type Policy } from "./policy.ts";
import { stsRecordId } from "./record.ts";

const log = getLogger(["mail", "mta-sts"]);

/** Domains whose policy is held in memory at most (the oldest is forgotten first). */
export const MAX_CACHED_DOMAINS = 10_000;
/** How long a failed fetch of one (domain, id) is not tried again. */
export const FAILED_FETCH_RETRY_MS = 5 * 60_000;

/** A policy as the store keeps it (the policy as text, re-parsed when read). */
export interface StoredPolicy {
  readonly domain: string;
  readonly id: string;
  readonly policy: string;
  readonly fetchedAt: number;
  readonly expiresAt: number;
}

/** Where policies outlive the process (the store's `mtaSts` role). */
export interface PolicyStore {
  get(domain: string): StoredPolicy | undefined;
  put(policy: StoredPolicy): void;
}

/** The policy in force for a domain. */
export interface ActivePolicy {
  readonly domain: string;
  readonly id: string;
  readonly policy: Policy;
  readonly fetchedAt: number;
  readonly expiresAt: number;
}

export interface PolicyCacheOptions {
  /** TXT records of NAME: [] when there are none (NXDOMAIN, NODATA); rejects on failure. */
  readonly txt: (name: string) => Promise<string[][]>;
  /** The policy body of DOMAIN (see fetch.ts); rejects with a PolicyFetchError. */
  readonly fetch: (domain: string) => Promise<Uint8Array>;
  readonly store?: PolicyStore | undefined;
  /** Milliseconds now (injectable: max_age expiry without waiting). */
  readonly now?: (() => number) | undefined;
}

const resultOf = (err: unknown): TlsRptResult =>
  (err as { result?: TlsRptResult })?.result ?? "sts-policy-fetch-error";
const messageOf = (err: unknown): string =>
  err instanceof Error ? err.message.split("\n")[0]! : String(err);

/** The MTA-STS policies of destination domains, discovered and cached. */
export class PolicyCache {
  readonly #o: PolicyCacheOptions;
  readonly #now: () => number;
  readonly #held = new Map<string, ActivePolicy>();
  readonly #pending = new Map<string, Promise<ActivePolicy | undefined>>();
  readonly #failed = new Map<string, number>();

  constructor(options: PolicyCacheOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /**
   * The unexpired policy of DOMAIN (lower case), after a TXT lookup and a fetch when needed;
   * undefined when it has none. Never rejects: trouble is logged and means "the policy we
   * hold, if any".
   */
  policyFor(name: string): Promise<ActivePolicy | undefined> {
    // The TXT name and the policy host are DNS names: an internationalised domain (RFC 6531)
    // is looked up by its A-label.
    const domain = domainToASCII(name) || name.toLowerCase();
    const pending = this.#pending.get(domain);
    if (pending) return pending;
    const p = this.#discover(domain).finally(() => this.#pending.delete(domain));
    this.#pending.set(domain, p);
    return p;
  }

  /** The policy held for DOMAIN, unexpired, from memory or the store; no lookups. */
  held(domain: string): ActivePolicy | undefined {
    const now = this.#now();
    let held = this.#held.get(domain);
    if (held === undefined && this.#o.store) {
      held = this.#fromStore(domain);
      if (held) this.#remember(held);
    }
    return held && held.expiresAt > now ? held : undefined;
  }

  #fromStore(domain: string): ActivePolicy | undefined {
    let stored: StoredPolicy | undefined;
    try {
      stored = this.#o.store?.get(domain);
    } catch (err) {
      log.warning("Cannot read a held MTA-STS policy", { domain, error: messageOf(err) });
      return undefined;
    }
    if (!stored) return undefined;
    try {
      const { id, fetchedAt, expiresAt } = stored;
      return { domain, id, policy: parsePolicy(stored.policy), fetchedAt, expiresAt };
    } catch {
      return undefined;
    }
  }

  #remember(policy: ActivePolicy): void {
    this.#held.delete(policy.domain);
    if (this.#held.size >= MAX_CACHED_DOMAINS) {
      this.#held.delete(this.#held.keys().next().value!);
    }
    this.#held.set(policy.domain, policy);
  }

  async #discover(domain: string): Promise<ActivePolicy | undefined> {
    const held = this.held(domain);
    let id: string | undefined;
    try {
      id = stsRecordId(await this.#o.txt(`_mta-sts.${domain}`));
    } catch (err) {
      // §5.1: a lookup that fails, or a record that does not parse, leaves the held policy.
      log.warning("MTA-STS record lookup failed", {
        policyType: "sts",
        domain,
        result: resultOf(err) === "sts-policy-invalid"
          ? "sts-policy-invalid"
          : "sts-policy-fetch-error",
        error: messageOf(err),
        heldPolicy: held?.id,
      });
      return held;
    }
    if (id === undefined) return held;
    const now = this.#now();
    // The same id: the held policy stands, but is fetched again once half its max_age is
    // over, so that it is renewed before it expires while the policy host is reachable
    // (RFC 8461 §5.1), rather than lapsing into "no policy" on one failed fetch.
    if (held && held.id === id && now < held.fetchedAt + (held.expiresAt - held.fetchedAt) / 2) {
      return held;
    }
    const key = `${domain} ${id}`;
    const failedUntil = this.#failed.get(key);
    if (failedUntil !== undefined && failedUntil > now) return held;
    this.#failed.delete(key);
    let policy: Policy;
    try {
      policy = parsePolicy(await this.#o.fetch(domain));
    } catch (err) {
      if (this.#failed.size >= MAX_CACHED_DOMAINS) this.#failed.clear();
      this.#failed.set(key, now + FAILED_FETCH_RETRY_MS);
      log.warning("MTA-STS policy fetch failed", {
        policyType: "sts",
        domain,
        id,
        result: resultOf(err),
        error: messageOf(err),
        heldPolicy: held?.id,
      });
      return held;
    }
    const fetchedAt = this.#now();
    const active: ActivePolicy = {
      domain,
      id,
      policy,
      fetchedAt,
      expiresAt: fetchedAt + policy.maxAge * 1000,
    };
    this.#remember(active);
    try {
      this.#o.store?.put({
        domain,
        id,
        policy: formatPolicy(policy),
        fetchedAt,
        expiresAt: active.expiresAt,
      });
    } catch (err) {
      log.warning("Cannot keep an MTA-STS policy", { domain, error: messageOf(err) });
    }
    log.info("MTA-STS policy fetched", {
      policyType: "sts",
      domain,
      id,
      result: "success",
      mode: policy.mode,
      mx: policy.mx.join(" "),
      maxAge: policy.maxAge,
    });
    return active;
  }
}
