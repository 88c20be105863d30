/**
 * `mail serve` configuration, loaded in one place: embedded defaults, then the TOML file, then
 * the environment, then command-line flags (later wins). Validated once, then frozen.
 *
 * Every setting has one name, used alike as the flag (`--max-size`), the TOML key
 * (`max-size = 1000`) and the environment variable (`MAIL_MAX_SIZE`).
 *
 * @module
 */
import { parse as parseToml } from "smol-toml";
import { join } from "node:path";
import { CliError, EXIT } from "./exit_codes.ts";
import { parseDomain } from "./smtp/address.ts";
import { DEFAULT_MAX_ERRORS } from "./smtp/session.ts";
import { DEFAULT_AUTH_GUARD } from "./server/auth_guard.ts";

/** A `HOST:PORT` to listen on or connect to. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** The validated configuration of `mail serve`. */
export interface ServeConfig {
  readonly dataDir: string;
  readonly hostname: string;
  /** Local domains, lower-case. */
  readonly domains: readonly string[];
  readonly catchAll: boolean;
  readonly smtp: HostPort | undefined;
  readonly submission: HostPort | undefined;
  readonly smtps: HostPort | undefined;
  readonly tlsCert: string | undefined;
  readonly tlsKey: string | undefined;
  /** DOMAIN (or `*`) to next hop. */
  readonly routes: ReadonlyMap<string, HostPort>;
  readonly dns: HostPort | undefined;
  readonly mxPort: number;
  readonly maxSize: number;
  readonly maxRecipients: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  /** Seconds a client may stay silent while we wait for a command (RFC 5321 §4.5.3.2.7). */
  readonly commandTimeout: number;
  /** Seconds a client may stay silent during DATA (RFC 5321 §4.5.3.2.5: at least 3 minutes). */
  readonly dataTimeout: number;
  /** Seconds to let transactions in flight finish on shutdown. */
  readonly shutdownGrace: number;
  /** Seconds a client has to complete a command line or a DATA line once begun (slowloris). */
  readonly lineDeadline: number;
  /**
   * Milliseconds between the first and the last line of the greeting; a client that speaks in
   * between is an early talker. 0: one turn of the event loop (no delay worth measuring).
   */
  readonly greetWait: number;
  /** Error replies a session may collect before it is disconnected. */
  readonly maxErrors: number;
  /** No STARTTLS and no generated certificate. */
  readonly noTls: boolean;
  /** Offer AUTH without TLS, to loopback clients only. */
  readonly allowInsecureAuth: boolean;
  /** Failed AUTH attempts from one address (within 15 minutes) before it is locked out. */
  readonly authMaxFailures: number;
  /** Seconds a locked-out address is refused. */
  readonly authLockout: number;
  /** Seconds before answering the first failed AUTH; doubles with each further failure. */
  readonly authDelay: number;
  readonly logFormat: "pretty" | "json";
  readonly logLevel: "debug" | "info" | "warning" | "error";
  /** Seconds before the first retry of a deferred recipient; doubles each time (Postfix: 300). */
  readonly queueMinBackoff: number;
  /** Longest wait between two attempts, in seconds (Postfix's maximal_backoff_time: 4000). */
  readonly queueMaxBackoff: number;
  /** Seconds a message may stay queued before it bounces (Postfix's 5 days). */
  readonly queueLifetime: number;
  /** Seconds of delay after which the sender is warned once; 0: never. */
  readonly delayWarning: number;
  /** Outbound connections at once, in total. */
  readonly relayConcurrency: number;
  /** Outbound connections at once to one destination domain. */
  readonly relayConcurrencyPerDestination: number;
  /** AUTH user for the `*` route (a smarthost); needs `smarthostPasswordFile`. */
  readonly smarthostUser: string | undefined;
  /** File holding the smarthost's password (its first line); never logged. */
  readonly smarthostPasswordFile: string | undefined;
  /** PEM file of a CA to trust for the smarthost's certificate (a private CA). */
  readonly smarthostCa: string | undefined;
}

type Kind =
  | "string"
  | "strings"
  | "bool"
  | "int"
  | "seconds"
  | "hostport"
  | "optional-hostport"
  | "routes";

interface Setting {
  readonly key: string;
  readonly kind: Kind;
  readonly field: keyof ServeConfig;
  readonly min?: number;
  readonly max?: number;
  readonly choices?: readonly string[];
}

/** Every setting: one row, one name (see the module comment). */
export const SETTINGS: readonly Setting[] = [
  { key: "hostname", kind: "string", field: "hostname" },
  { key: "domain", kind: "strings", field: "domains" },
  { key: "catch-all", kind: "bool", field: "catchAll" },
  { key: "smtp", kind: "optional-hostport", field: "smtp" },
  { key: "submission", kind: "optional-hostport", field: "submission" },
  { key: "smtps", kind: "optional-hostport", field: "smtps" },
  { key: "tls-cert", kind: "string", field: "tlsCert" },
  { key: "tls-key", kind: "string", field: "tlsKey" },
  { key: "route", kind: "routes", field: "routes" },
  { key: "dns", kind: "optional-hostport", field: "dns" },
  { key: "mx-port", kind: "int", field: "mxPort", min: 1, max: 65535 },
  { key: "max-size", kind: "int", field: "maxSize", min: 1024, max: 2 ** 31 - 1 },
  // RFC 5321 §4.5.3.1.8: at least 100 recipients must be accepted.
  { key: "max-recipients", kind: "int", field: "maxRecipients", min: 100, max: 100000 },
  { key: "max-connections", kind: "int", field: "maxConnections", min: 1, max: 1000000 },
  {
    key: "max-connections-per-ip",
    kind: "int",
    field: "maxConnectionsPerIp",
    min: 1,
    max: 1000000,
  },
  { key: "timeout", kind: "int", field: "commandTimeout", min: 1, max: 86400 },
  { key: "data-timeout", kind: "int", field: "dataTimeout", min: 1, max: 86400 },
  { key: "shutdown-grace", kind: "int", field: "shutdownGrace", min: 0, max: 3600 },
  { key: "line-deadline", kind: "int", field: "lineDeadline", min: 1, max: 86400 },
  { key: "greet-wait", kind: "int", field: "greetWait", min: 0, max: 60000 },
  { key: "max-errors", kind: "int", field: "maxErrors", min: 1, max: 100000 },
  { key: "no-tls", kind: "bool", field: "noTls" },
  { key: "allow-insecure-auth", kind: "bool", field: "allowInsecureAuth" },
  { key: "auth-max-failures", kind: "int", field: "authMaxFailures", min: 1, max: 100000 },
  { key: "auth-lockout", kind: "int", field: "authLockout", min: 0, max: 86400 * 30 },
  { key: "auth-delay", kind: "seconds", field: "authDelay", min: 0, max: 60 },
  { key: "log-format", kind: "string", field: "logFormat", choices: ["pretty", "json"] },
  {
    key: "log-level",
    kind: "string",
    field: "logLevel",
    choices: ["debug", "info", "warning", "error"],
  },
  { key: "queue-min-backoff", kind: "int", field: "queueMinBackoff", min: 1, max: 86400 },
  { key: "queue-max-backoff", kind: "int", field: "queueMaxBackoff", min: 1, max: 86400 * 7 },
  { key: "queue-lifetime", kind: "int", field: "queueLifetime", min: 1, max: 86400 * 100 },
  { key: "delay-warning", kind: "int", field: "delayWarning", min: 0, max: 86400 * 100 },
  { key: "relay-concurrency", kind: "int", field: "relayConcurrency", min: 1, max: 10000 },
  {
    key: "relay-concurrency-per-destination",
    kind: "int",
    field: "relayConcurrencyPerDestination",
    min: 1,
    max: 10000,
  },
  { key: "smarthost-user", kind: "string", field: "smarthostUser" },
  { key: "smarthost-password-file", kind: "string", field: "smarthostPasswordFile" },
  { key: "smarthost-ca", kind: "string", field: "smarthostCa" },
];

/** The embedded defaults (CONTRACT.md). */
export function defaults(dataDir: string, hostname: string): ServeConfig {
  return {
    dataDir,
    hostname,
    domains: ["localhost"],
    catchAll: false,
    smtp: { host: "127.0.0.1", port: 2525 },
    submission: { host: "127.0.0.1", port: 2587 },
    smtps: undefined,
    tlsCert: undefined,
    tlsKey: undefined,
    routes: new Map(),
    dns: undefined,
    mxPort: 25,
    maxSize: 26214400,
    maxRecipients: 100,
    maxConnections: 2000,
    maxConnectionsPerIp: 50,
    commandTimeout: 300, // RFC 5321 §4.5.3.2.7: 5 minutes
    dataTimeout: 600, // RFC 5321 §4.5.3.2.6: 10 minutes for the final dot
    shutdownGrace: 30,
    lineDeadline: 60,
    greetWait: 0,
    maxErrors: DEFAULT_MAX_ERRORS,
    noTls: false,
    allowInsecureAuth: false,
    authMaxFailures: DEFAULT_AUTH_GUARD.maxFailures,
    authLockout: DEFAULT_AUTH_GUARD.lockoutMs / 1000,
    authDelay: DEFAULT_AUTH_GUARD.baseDelayMs / 1000,
    logFormat: "pretty",
    logLevel: "info",
    // Postfix's minimal_backoff_time, maximal_backoff_time and maximal_queue_lifetime.
    queueMinBackoff: 300,
    queueMaxBackoff: 4000,
    queueLifetime: 5 * 86400,
    delayWarning: 4 * 3600,
    relayConcurrency: 100,
    // Postfix's default_destination_concurrency_limit.
    relayConcurrencyPerDestination: 20,
    smarthostUser: undefined,
    smarthostPasswordFile: undefined,
    smarthostCa: undefined,
  };
}

/** `FILE: key: message`, or `--flag: message` / `MAIL_VAR: message` where the source names the key. */
function configError(source: string, key: string, message: string): CliError {
  const named = source.startsWith("--") || source.startsWith("MAIL_");
  return new CliError(
    named ? `${source}: ${message}` : `${source}: ${key}: ${message}`,
    EXIT.CONFIG,
  );
}

const envName = (key: string) => `MAIL_${key.toUpperCase().replaceAll("-", "_")}`;

/** Parses `HOST:PORT` (`[::1]:25` for IPv6); the port may be left out when DEFAULTPORT is given. */
export function parseHostPort(text: string, defaultPort?: number): HostPort {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s\[\]]+))(?::(\d{1,5}))?$/.exec(text.trim());
  const port = m?.[3] !== undefined ? Number(m[3]) : defaultPort;
  if (!m || port === undefined || port > 65535) {
    throw new Error(`expected HOST:PORT, got ${JSON.stringify(text)}`);
  }
  return { host: m[1] ?? m[2] ?? "", port };
}

/** Converts one raw value (from TOML, env or a flag) to the setting's type. */
function convert(s: Setting, raw: unknown, source: string): unknown {
  const fail = (what: string) => configError(source, s.key, what);
  const asString = (v: unknown): string => {
    if (typeof v !== "string") throw fail(`expected a string, got ${JSON.stringify(v)}`);
    return v;
  };
  switch (s.kind) {
    case "string": {
      const v = asString(raw);
      if (s.choices && !s.choices.includes(v)) {
        throw fail(`expected one of ${s.choices.join(", ")}, got ${JSON.stringify(v)}`);
      }
      if (v === "") throw fail("must not be empty");
      return v;
    }
    case "strings": {
      const list = Array.isArray(raw) ? raw : typeof raw === "string" ? raw.split(",") : [raw];
      const values = list.map(asString).map((v) => v.trim().toLowerCase().replace(/\.$/, ""));
      if (values.length === 0) throw fail("needs at least one value");
      for (const v of values) {
        try {
          parseDomain(v, true);
        } catch (err) {
          throw fail(`${JSON.stringify(v)}: ${(err as Error).message}`);
        }
      }
      return [...new Set(values)];
    }
    case "bool":
      if (typeof raw === "boolean") return raw;
      if (raw === "true" || raw === "1" || raw === "yes") return true;
      if (raw === "false" || raw === "0" || raw === "no") return false;
      throw fail(`expected true or false, got ${JSON.stringify(raw)}`);
    case "int": {
      const n = typeof raw === "number"
        ? raw
        : typeof raw === "bigint"
        ? Number(raw)
        : Number(asString(raw));
      if (!Number.isInteger(n)) throw fail(`expected an integer, got ${JSON.stringify(raw)}`);
      if ((s.min !== undefined && n < s.min) || (s.max !== undefined && n > s.max)) {
        throw fail(`must be between ${s.min} and ${s.max}, got ${n}`);
      }
      return n;
    }
    case "hostport":
    case "optional-hostport": {
      const v = asString(raw);
      if (s.kind === "optional-hostport" && (v === "" || v === "off")) return undefined;
      try {
        return parseHostPort(v);
      } catch (err) {
        throw fail((err as Error).message);
      }
    }
    case "routes": {
      const list = Array.isArray(raw) ? raw : typeof raw === "string" ? raw.split(",") : [raw];
      const map = new Map<string, HostPort>();
      for (const item of list.map(asString)) {
        const eq = item.indexOf("=");
        if (eq < 1) throw fail(`expected DOMAIN=HOST:PORT, got ${JSON.stringify(item)}`);
        const domain = item.slice(0, eq).trim().toLowerCase();
        try {
          if (domain !== "*") parseDomain(domain, true);
          map.set(domain, parseHostPort(item.slice(eq + 1)));
        } catch (err) {
          throw fail(`${JSON.stringify(item)}: ${(err as Error).message}`);
        }
      }
      return map;
    }
  }
}

/** Reads `MAIL_<KEY>` variables for the known settings. */
function fromEnv(env: (name: string) => string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of SETTINGS) {
    const v = env(envName(s.key));
    if (v !== undefined) out[s.key] = v;
  }
  return out;
}

async function fromFile(path: string, explicit: boolean): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (!explicit && err instanceof Deno.errors.NotFound) return {};
    throw new CliError(`Cannot read config file ${path}: ${(err as Error).message}`, EXIT.CONFIG);
  }
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (err) {
    const first = String((err as Error).message).split("\n")[0];
    throw new CliError(`${path}: invalid TOML: ${first}`, EXIT.CONFIG);
  }
}

/** Inputs of {@link loadConfig}; everything it needs comes in here (no hidden globals). */
export interface ConfigSources {
  readonly dataDir: string;
  /** `--config`, if given. */
  readonly configFile?: string | undefined;
  /** Flag values by setting key; undefined means not given. */
  readonly flags: Readonly<Record<string, unknown>>;
  readonly env: (name: string) => string | undefined;
  readonly hostname: string;
}

/** Builds the configuration; throws CliError (exit 78) naming the offending key. */
export async function loadConfig(src: ConfigSources): Promise<ServeConfig> {
  const config: Record<string, unknown> = { ...defaults(src.dataDir, src.hostname) };
  const file = src.configFile ?? join(src.dataDir, "mail.toml");
  const layers: [string, Record<string, unknown>][] = [
    [file, await fromFile(file, src.configFile !== undefined)],
    ["environment", fromEnv(src.env)],
    ["flag", src.flags],
  ];
  const known = new Map(SETTINGS.map((s) => [s.key, s]));
  for (const [source, values] of layers) {
    for (const [key, raw] of Object.entries(values)) {
      if (raw === undefined) continue;
      const s = known.get(key);
      if (!s) throw new CliError(`${source}: unknown key ${JSON.stringify(key)}`, EXIT.CONFIG);
      const where = source === "flag"
        ? `--${key}`
        : source === "environment"
        ? envName(key)
        : source;
      config[s.field] = convert(s, raw, where);
    }
  }
  const c = config as unknown as ServeConfig;
  try {
    parseDomain(c.hostname.replace(/_/g, "-"), false);
  } catch {
    throw new CliError(
      `hostname: ${JSON.stringify(c.hostname)} is not a valid host name`,
      EXIT.CONFIG,
    );
  }
  if ((c.tlsCert === undefined) !== (c.tlsKey === undefined)) {
    throw new CliError("tls-cert and tls-key must be given together", EXIT.CONFIG);
  }
  if (c.smtps && c.noTls) {
    throw new CliError("smtps needs TLS: remove no-tls", EXIT.CONFIG);
  }
  if ((c.smarthostUser === undefined) !== (c.smarthostPasswordFile === undefined)) {
    throw new CliError(
      "smarthost-user and smarthost-password-file must be given together",
      EXIT.CONFIG,
    );
  }
  if (c.smarthostUser !== undefined && !c.routes.has("*")) {
    throw new CliError('smarthost-user needs a smarthost: route = "*=HOST:PORT"', EXIT.CONFIG);
  }
  if (c.smarthostCa !== undefined && !c.routes.has("*")) {
    throw new CliError('smarthost-ca needs a smarthost: route = "*=HOST:PORT"', EXIT.CONFIG);
  }
  if (c.queueMinBackoff > c.queueMaxBackoff) {
    throw new CliError("queue-min-backoff must not be more than queue-max-backoff", EXIT.CONFIG);
  }
  if (!c.smtp && !c.submission && !c.smtps) {
    throw new CliError("No listener: set at least one of smtp, submission, smtps", EXIT.CONFIG);
  }
  return Object.freeze(c);
}
