/**
 * Where a message goes from `mail send`: to one relay (the submission server), or end to end
 * (`--direct`): recipients grouped by domain, each domain's mail to its MX hosts (or to a
 * `--route` override), one {@link deliver} per domain.
 *
 * @module
 */
import { deliver, type DeliverOptions, type NextHop, type RecipientResult } from "./deliver.ts";
import { DnsError, mxHops, type Resolver } from "./mx.ts";
import { domainPart } from "./addresses.ts";
import type { Envelope } from "./smtp_client.ts";

/** A relay: everything goes to one server. */
export interface RelayPlan {
  readonly kind: "relay";
  readonly hop: NextHop;
}

/** End to end: each domain to its own mail hosts. */
export interface DirectPlan {
  readonly kind: "direct";
  readonly resolver: Resolver;
  /** Port of MX hosts (25; another in tests). */
  readonly mxPort: number;
  /** Overrides by domain (lower case); `*` matches every domain. */
  readonly routes: ReadonlyMap<string, NextHop>;
  /** For shuffling equal MX preferences (injectable for tests). */
  readonly random?: (() => number) | undefined;
}

export type Plan = RelayPlan | DirectPlan;

/** Groups recipients by domain, keeping first-seen order of domains and recipients. */
export function byDomain(recipients: readonly string[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const r of recipients) {
    const d = domainPart(r);
    const list = groups.get(d);
    if (list) list.push(r);
    else groups.set(d, [r]);
  }
  return groups;
}

/** The hops for DOMAIN under PLAN: a route when one matches, else its MX hosts. */
export async function hopsFor(domain: string, plan: DirectPlan): Promise<NextHop[]> {
  const route = plan.routes.get(domain) ?? plan.routes.get("*");
  if (route) return [route];
  // An address literal (user@[127.0.0.1]) names its host directly (RFC 5321 §4.1.3).
  const literal = /^\[(?:IPv6:)?([^\]]+)\]$/i.exec(domain);
  if (literal) return [{ host: literal[1]!, address: literal[1]!, port: plan.mxPort }];
  return await mxHops(domain, plan.resolver, plan.mxPort, plan.random);
}

/** Sends MESSAGE to every recipient of ENVELOPE per PLAN; one result per recipient. */
export async function submit(
  envelope: Envelope,
  message: Uint8Array,
  plan: Plan,
  options: DeliverOptions,
): Promise<RecipientResult[]> {
  if (plan.kind === "relay") return await deliver(envelope, message, [plan.hop], options);
  const results: RecipientResult[] = [];
  for (const [domain, recipients] of byDomain(envelope.recipients)) {
    let hops: NextHop[];
    try {
      hops = await hopsFor(domain, plan);
    } catch (err) {
      if (!(err instanceof DnsError)) throw err;
      options.trace?.({ direction: "*", text: err.message });
      for (const recipient of recipients) {
        results.push({
          recipient,
          status: err.temporary ? "deferred" : "refused",
          text: err.message,
          failure: "connect",
        });
      }
      continue;
    }
    options.trace?.({
      direction: "*",
      text: `${domain}: ${hops.map((h) => `${h.host}:${h.port}`).join(", ")}`,
    });
    const part = { sender: envelope.sender, recipients };
    results.push(...await deliver(part, message, hops, options));
  }
  return results;
}
