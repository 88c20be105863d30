/**
 * MTA-STS for the mail we relay (RFC 8461): a destination domain's policy says which MX hosts
 * may receive its mail and that they must do so over TLS with a valid certificate.
 *
 * - record.ts: the `_mta-sts.DOMAIN` TXT record and its policy id (§3.1).
 * - policy.ts: the policy file (§3.2), bounded, every input a policy or a typed error.
 * - match.ts: MX host names against the policy's patterns (§4.1).
 * - fetch.ts: the policy over HTTPS (§3.3): no redirects, 64 KiB, one deadline, our CA.
 * - cache.ts: discovery and the cache, kept in the store across restarts (§5, §5.1).
 * - results.ts: failures as RFC 8460 (TLS-RPT) result types, for the log.
 * - errors.ts: the typed errors, each with its result type.
 *
 * Applying a policy to a delivery is the queue's business (src/queue/mta_sts.ts).
 *
 * @module
 */
export * from "./errors.ts";
export * from "./record.ts";
export * from "./policy.ts";
export * from "./match.ts";
export * from "./fetch.ts";
export * from "./cache.ts";
export * from "./results.ts";
