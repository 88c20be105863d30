/**
 * DNS: a stub resolver of our own (UDP with TCP fallback, a TTL cache with negative caching)
 * that tells NXDOMAIN, NODATA and failures apart, for every lookup `mail` makes.
 *
 * @module
 */
export {
  createResolver,
  type DnsResolver,
  MAX_CNAME_HOPS,
  type MxRecord,
  normalName,
  type ResolverOptions,
  sharedResolver,
} from "./resolver.ts";
export { type DnsFailureKind, DnsLookupError } from "./errors.ts";
export { type DnsClock, SYSTEM_DNS_CLOCK } from "./clock.ts";
export {
  DEFAULT_NAMESERVER,
  type NameServer,
  parseResolvConf,
  readResolvConf,
} from "./resolv_conf.ts";
