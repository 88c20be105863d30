/**
 * The queue runner of `mail serve`, built from its configuration: the schedule, the routes,
 * the resolver (`--dns`, `--mx-port`), the smarthost's credentials, and MTA-STS
 * (`--outbound-ca`, `--mta-sts-port`).
 *
 * @module
 */
import type { ServeConfig } from "../config.ts";
import type { Credentials } from "../client/deliver.ts";
import { dnsResolver, type Resolver } from "../client/mx.ts";
import { DnsLookupError, sharedResolver } from "../dns/mod.ts";
import { fetchPolicyBody, PolicyCache, type PolicyStore } from "../mta_sts/mod.ts";
import { QueueConfigError } from "./errors.ts";
import { Router } from "./route.ts";
import { QueueRunner, type QueueStore, type RunnerOptions } from "./runner.ts";

/** Reads the file a setting names; a configuration error, naming the setting, if it cannot. */
async function readSettingFile(key: string, path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new QueueConfigError(key, `cannot read ${path}: ${why}`, { cause: err });
  }
}

/** Reads the smarthost password: the file's first line. Never logged, never in an error. */
async function smarthostCredentials(config: ServeConfig): Promise<Credentials | undefined> {
  if (config.smarthostUser === undefined || config.smarthostPasswordFile === undefined) {
    return undefined;
  }
  const text = await readSettingFile("smarthost-password-file", config.smarthostPasswordFile);
  const password = text.split(/\r?\n/)[0] ?? "";
  if (password === "") {
    throw new QueueConfigError(
      "smarthost-password-file",
      `${config.smarthostPasswordFile} is empty`,
    );
  }
  return { user: config.smarthostUser, password };
}

/** Reads the CA the smarthost's certificate must chain to, checked at start-up. */
async function smarthostCa(config: ServeConfig): Promise<string | undefined> {
  if (config.smarthostCa === undefined) return undefined;
  const text = await readSettingFile("smarthost-ca", config.smarthostCa);
  if (!text.includes("-----BEGIN CERTIFICATE-----")) {
    throw new QueueConfigError("smarthost-ca", `${config.smarthostCa} holds no PEM certificate`);
  }
  return text;
}

/** Reads `--outbound-ca`, the CA MTA-STS policy hosts and enforced MX hosts may chain to. */
async function outboundCa(config: ServeConfig): Promise<string | undefined> {
  if (config.outboundCa === undefined) return undefined;
  const text = await readSettingFile("outbound-ca", config.outboundCa);
  if (!text.includes("-----BEGIN CERTIFICATE-----")) {
    throw new QueueConfigError("outbound-ca", `${config.outboundCa} holds no PEM certificate`);
  }
  return text;
}

/** TXT lookups through `--dns`: [] when the name has none (NXDOMAIN, NODATA). */
function txtLookup(config: ServeConfig): (name: string) => Promise<string[][]> {
  const dns = sharedResolver(config.dns);
  return async (name) => {
    try {
      return await dns.txt(name);
    } catch (err) {
      if (err instanceof DnsLookupError && !err.temporary) return [];
      throw err;
    }
  };
}

/** The MTA-STS policies (RFC 8461) of the domains we relay to, held in STORE when it can. */
function policyCache(
  config: ServeConfig,
  resolver: Resolver,
  ca: string | undefined,
  store: PolicyStore | undefined,
): PolicyCache {
  return new PolicyCache({
    txt: txtLookup(config),
    fetch: (domain) =>
      fetchPolicyBody(domain, {
        port: config.mtaStsPort,
        ca,
        lookup: (host) => resolver.addresses(host),
      }),
    store,
  });
}

/**
 * A runner (not started) for CONFIG over STORE. Rejects with {@link QueueConfigError} when a
 * file a setting names cannot be used.
 */
export async function queueRunner(
  config: ServeConfig,
  store: QueueStore & { readonly mtaSts?: PolicyStore },
  overrides: Partial<RunnerOptions> = {},
): Promise<QueueRunner> {
  const resolver = dnsResolver(
    config.dns ? { ipAddr: config.dns.host, port: config.dns.port } : undefined,
  );
  const ca = await outboundCa(config);
  const router = new Router({
    routes: config.routes,
    resolver,
    mxPort: config.mxPort,
    smarthostCredentials: await smarthostCredentials(config),
    smarthostCa: await smarthostCa(config),
  });
  return new QueueRunner({
    store,
    router,
    hostname: config.hostname,
    localDomains: config.domains,
    schedule: {
      minBackoffMs: config.queueMinBackoff * 1000,
      maxBackoffMs: config.queueMaxBackoff * 1000,
      lifetimeMs: config.queueLifetime * 1000,
      delayWarningMs: config.delayWarning * 1000,
    },
    concurrency: config.relayConcurrency,
    concurrencyPerDestination: config.relayConcurrencyPerDestination,
    mtaSts: { policies: policyCache(config, resolver, ca, store.mtaSts), ca },
    ...overrides,
  });
}
