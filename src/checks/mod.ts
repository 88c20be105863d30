/**
 * Checks of received mail (SPF, DKIM, DMARC, ARC) and the policy applied to their results: a
 * message stage for the MX listener. mailauth, which does the checking, is loaded only when
 * the first message is checked.
 *
 * @module
 */
export { AuthChecks, type AuthChecksOptions, JUNK_FOLDER, MAX_SIGNATURES } from "./stage.ts";
export { DOWN_TTL_MS } from "./result_cache.ts";
export { DEFAULT_LIMITS, type LookupLimits, type Resolve } from "./lookups.ts";
export { decide, dmarcResult, type PolicySettings } from "./policy.ts";
