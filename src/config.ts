/**
 * `mail serve` configuration, loaded in one place: embedded defaults, then the TOML file, then
 * the environment, then command-line flags (later wins). Validated once, then frozen. The
 * settings, their names and their defaults are the table in settings.ts.
 *
 * @module
 */
import { parse as parseToml } from "smol-toml";
import { join } from "node:path";
import { CliError, EXIT } from "./exit_codes.ts";
import { parseDomain } from "./smtp/address.ts";
import { defaults, type ServeConfig, type Setting, SETTINGS } from "./settings.ts";
import { SettingValueError } from "./setting_values.ts";

export { defaults, type ServeConfig } from "./settings.ts";
export { formatHostPort, type HostPort, parseHostPort } from "./setting_values.ts";

/** `FILE: key: message`, or `--flag: message` / `MAIL_VAR: message` where the source names the key. */
function configError(source: string, key: string, message: string): CliError {
  const named = source.startsWith("--") || source.startsWith("MAIL_");
  return new CliError(
    named ? `${source}: ${message}` : `${source}: ${key}: ${message}`,
    EXIT.CONFIG,
  );
}

/** Converts one raw value (from TOML, env or a flag) to the setting's type. */
function convert(s: Setting, raw: unknown, source: string): unknown {
  try {
    return s.type.parse(raw);
  } catch (err) {
    if (err instanceof SettingValueError) throw configError(source, s.key, err.message);
    throw err;
  }
}

/** Reads `MAIL_<KEY>` variables for the known settings. */
function fromEnv(env: (name: string) => string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of SETTINGS) {
    const v = env(s.env);
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
      const where = source === "flag" ? s.flag : source === "environment" ? s.env : source;
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
  if (c.imaps && c.noTls) {
    throw new CliError("imaps needs TLS: remove no-tls", EXIT.CONFIG);
  }
  if (c.pop3s && c.noTls) {
    throw new CliError("pop3s needs TLS: remove no-tls", EXIT.CONFIG);
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
  if (!c.smtp && !c.submission && !c.smtps && !c.imap && !c.imaps && !c.pop3 && !c.pop3s) {
    throw new CliError(
      "No listener: set at least one of smtp, submission, smtps, imap, imaps, pop3, pop3s",
      EXIT.CONFIG,
    );
  }
  return Object.freeze(c);
}
