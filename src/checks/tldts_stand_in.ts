/**
 * A stand-in for tldts, put where mailauth will look for it before mailauth is loaded.
 *
 * tldts holds the public suffix list, megabytes once loaded (docs/performance.md). mailauth's
 * helpers load it at start, but only one of them calls it: relaxed alignment for mailauth's own
 * DKIM verifier, which the checks run only for a message with an ARC set. DMARC finds
 * organizational domains by the DNS tree walk of RFC 9989 §4.10, without it. So this stand-in
 * answers nothing itself: every member asked of it is the real tldts's, loaded at that first use
 * (`stand_in.ts`), and a server that sees no ARC sets never loads it.
 *
 * @module
 */
import { installStandIn, memberOf } from "./stand_in.ts";

type Tldts = Record<string | symbol, unknown>;

/** Exports that load the real tldts (with LOAD) when any member of them is first read. */
export function tldtsStandIn(load: () => Tldts): Tldts {
  return new Proxy({} as Tldts, {
    get: (_target, prop) => memberOf(load(), prop),
    has: (_target, prop) => prop in load(),
  });
}

installStandIn<Tldts>("tldts", tldtsStandIn);
