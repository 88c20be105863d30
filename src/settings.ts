/**
 * Every setting of `mail serve`, written once. The table {@link SETTINGS} gives each one its
 * name, its kind of value (with validation), its default and its help and docs texts; from it
 * come the flags of `mail serve` (with the defaults their `--help` shows), the keys of
 * `mail.toml`, the environment variables, the embedded defaults and the settings table of
 * docs/cli.md ({@link settingsMarkdown}).
 *
 * A setting has one name, used alike as the flag (`--max-size`), the TOML key
 * (`max-size = 1000`) and the environment variable (`MAIL_MAX_SIZE`). Every duration is in
 * seconds.
 *
 * @module
 */
import { DEFAULT_MAX_ERRORS } from "./smtp/session.ts";
import { DEFAULT_AUTH_GUARD } from "./server/auth_guard.ts";
import {
  ADDRESS_OR_OFF,
  choice,
  type Cidr,
  CIDRS,
  DOMAINS,
  type HostPort,
  integer,
  ON_OFF,
  ROUTES,
  seconds,
  SWITCH,
  text,
  type ValueType,
} from "./setting_values.ts";

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
  /** IMAP with STARTTLS (143 role). */
  readonly imap: HostPort | undefined;
  /** IMAP over implicit TLS (993 role, RFC 8314). */
  readonly imaps: HostPort | undefined;
  /** Seconds an IMAP client may be silent, IDLE included, before it is logged out. */
  readonly imapAutologout: number;
  /** POP3 with STLS (110 role). */
  readonly pop3: HostPort | undefined;
  /** POP3 over implicit TLS (995 role, RFC 8314). */
  readonly pop3s: HostPort | undefined;
  /** Seconds a POP3 client may be silent before it is logged out. */
  readonly pop3Autologout: number;
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
   * Seconds between the first and the last line of the greeting; a client that speaks in
   * between is an early talker. 0: one turn of the event loop (no delay worth measuring).
   */
  readonly greetWait: number;
  /** Error replies a session may collect before it is disconnected. */
  readonly maxErrors: number;
  /** No STARTTLS and no generated certificate. */
  readonly noTls: boolean;
  /** Offer AUTH without TLS, to loopback clients only. */
  readonly allowInsecureAuth: boolean;
  /** Failed AUTH attempts from one client (within 15 minutes) before it is locked out. */
  readonly authMaxFailures: number;
  /** Seconds a locked-out client is refused. */
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
  /** SPF, DKIM, DMARC and ARC checks of mail received on the MX listener. */
  readonly authChecks: boolean;
  /** What a DMARC failure does: nothing, an Authentication-Results record only, or its policy. */
  readonly dmarc: "off" | "tag" | "enforce";
  /** What an SPF `fail` does: recorded only, or refused with 550 5.7.23. */
  readonly spfFail: "tag" | "reject";
  /** What a check that meets a temporary DNS error does: deliver with `temperror`, or 451. */
  readonly dmarcTemperror: "deliver" | "defer";
  /** Networks whose mail is not checked (relays of our own). */
  readonly trustedNetworks: readonly Cidr[];
  /** PEM file of CAs trusted, besides the system's, for MTA-STS policies and deliveries. */
  readonly outboundCa: string | undefined;
  /** Port of the HTTPS server an MTA-STS policy is fetched from (RFC 8461 §3.3: 443). */
  readonly mtaStsPort: number;
}

/** The fields of {@link ServeConfig} that are settings (the data directory is `--data`). */
export type SettingField = Exclude<keyof ServeConfig, "dataDir">;

/** What a default may depend on: the machine it runs on. */
export interface Machine {
  readonly hostname: string;
}

/** One setting, as written in the table. */
interface SettingSpec<K extends SettingField> {
  readonly field: K;
  readonly type: ValueType<ServeConfig[K]>;
  /** The embedded default, or how the machine determines it. */
  readonly default: ServeConfig[K] | ((machine: Machine) => ServeConfig[K]);
  /** The default as shown, when the value itself would not say it (a computed default). */
  readonly shown?: string;
  /** One line for `--help`, without the default (added from the table). */
  readonly help: string;
  /** The meaning in the docs table (Markdown), without the default. */
  readonly docs: string;
  /** Flag and environment name when they differ from the TOML key's usual forms. */
  readonly flag?: string;
  readonly env?: string;
}

/** One setting with every name it goes by. */
export interface Setting<K extends SettingField = SettingField> extends SettingSpec<K> {
  /** The key in `mail.toml`, and the key of the flag values given to the loader. */
  readonly key: string;
  /** `--max-size`. */
  readonly flag: string;
  /** `MAIL_MAX_SIZE`. */
  readonly env: string;
  /** Given more than once on the command line, a list (a TOML array, comma-separated in env). */
  readonly repeatable: boolean;
}

function setting<K extends SettingField>(key: string, spec: SettingSpec<K>): Setting {
  return {
    ...spec,
    key,
    flag: spec.flag ?? `--${key}`,
    env: spec.env ?? `MAIL_${key.toUpperCase().replaceAll("-", "_")}`,
    repeatable: spec.type.list === true,
  } as Setting;
}

/** Optional file or name: `none` when not given. */
function optionalText(placeholder: string): ValueType<string | undefined> {
  const t = text(placeholder);
  return { ...t, format: (v) => v ?? "none" };
}

/**
 * RFC 5321 §4.5.3.2.1 has clients wait 5 minutes for the greeting, and Postfix's
 * postscreen_greet_wait is 6 s: a longer gap catches no more bots, only delays good clients.
 * The bound also turns a value written in milliseconds (this setting's unit before) into an
 * error instead of a greeting minutes late.
 */
const MAX_GREET_WAIT = 30;

/** Every setting of `mail serve`, in the order `--help` and the docs list them. */
export const SETTINGS: readonly Setting[] = [
  setting("hostname", {
    field: "hostname",
    type: text("name"),
    default: (machine) => machine.hostname,
    shown: "the machine's host name",
    help: "name in the greeting, EHLO reply and Received headers",
    docs: "name in the greeting, EHLO reply, Received headers and generated certificate",
  }),
  setting("domain", {
    field: "domains",
    type: DOMAINS,
    default: ["localhost"],
    help: "a domain delivered locally",
    docs: "domains delivered locally; mail for any other is relayed (when authenticated) or " +
      "refused",
  }),
  setting("catch-all", {
    field: "catchAll",
    type: SWITCH,
    default: false,
    help: "accept any local part of a local domain",
    docs: "accept any local part of a local domain, creating its mailbox on first delivery; " +
      "without it, unknown local recipients get `550 5.1.1`",
  }),
  setting("smtp", {
    field: "smtp",
    type: ADDRESS_OR_OFF,
    default: { host: "127.0.0.1", port: 2525 },
    help: "MX listener HOST:PORT, or off",
    docs: "MX listener `HOST:PORT` (`off` to disable; port 0 picks a free port)",
  }),
  setting("submission", {
    field: "submission",
    type: ADDRESS_OR_OFF,
    default: { host: "127.0.0.1", port: 2587 },
    help: "submission listener HOST:PORT, or off",
    docs: "submission listener (RFC 6409): STARTTLS, then AUTH, then mail",
  }),
  setting("smtps", {
    field: "smtps",
    type: ADDRESS_OR_OFF,
    default: undefined,
    help: "implicit-TLS submission listener HOST:PORT, or off",
    docs: "implicit-TLS submission listener (RFC 8314)",
  }),
  setting("imap", {
    field: "imap",
    type: ADDRESS_OR_OFF,
    default: { host: "127.0.0.1", port: 2143 },
    help: "IMAP listener HOST:PORT (STARTTLS), or off",
    docs: "IMAP listener (IMAP4rev2 and IMAP4rev1, STARTTLS; 143 in production)",
  }),
  setting("imaps", {
    field: "imaps",
    type: ADDRESS_OR_OFF,
    default: undefined,
    help: "implicit-TLS IMAP listener HOST:PORT, or off",
    docs: "implicit-TLS IMAP listener (RFC 8314; 993 in production)",
  }),
  setting("imap-autologout", {
    field: "imapAutologout",
    // RFC 9051 §5.4: an autologout timer must be at least 30 minutes.
    type: seconds(1800, 86400),
    default: 1800,
    help: "seconds an IMAP client may be silent (IDLE included) before it is logged out",
    docs:
      "how long an IMAP client may be silent, IDLE included (RFC 9051 §5.4: 30 minutes at least)",
  }),
  setting("pop3", {
    field: "pop3",
    type: ADDRESS_OR_OFF,
    default: { host: "127.0.0.1", port: 2110 },
    help: "POP3 listener HOST:PORT (STLS), or off",
    docs: "POP3 listener (RFC 1939, STLS; 110 in production), on the same INBOX",
  }),
  setting("pop3s", {
    field: "pop3s",
    type: ADDRESS_OR_OFF,
    default: undefined,
    help: "implicit-TLS POP3 listener HOST:PORT, or off",
    docs: "implicit-TLS POP3 listener (RFC 8314; 995 in production)",
  }),
  setting("pop3-autologout", {
    field: "pop3Autologout",
    // RFC 1939 §3: the autologout timer must be at least 10 minutes.
    type: seconds(600, 86400),
    default: 600,
    help: "seconds a POP3 client may be silent before it is logged out",
    docs: "how long a POP3 client may be silent (RFC 1939 §3: 10 minutes at least)",
  }),
  setting("tls-cert", {
    field: "tlsCert",
    type: optionalText("file"),
    default: undefined,
    shown: "self-signed, generated",
    help: "PEM certificate (chain), with --tls-key",
    docs: "PEM certificate (chain), with `--tls-key`; without them a self-signed certificate " +
      "is generated in `DIR/tls/`",
  }),
  setting("tls-key", {
    field: "tlsKey",
    type: optionalText("file"),
    default: undefined,
    shown: "self-signed, generated",
    help: "PEM private key of --tls-cert",
    docs: "the PEM private key of `--tls-cert`",
  }),
  setting("no-tls", {
    field: "noTls",
    type: SWITCH,
    default: false,
    help: "no STARTTLS and no generated certificate",
    docs: "no STARTTLS, no implicit TLS, no generated certificate",
  }),
  setting("allow-insecure-auth", {
    field: "allowInsecureAuth",
    type: SWITCH,
    default: false,
    help: "offer AUTH without TLS, to loopback clients only",
    docs: "offer AUTH without TLS, to loopback clients only (tests)",
  }),
  setting("max-size", {
    field: "maxSize",
    type: integer("bytes", 1024, 2 ** 31 - 1),
    default: 26214400,
    help: "largest message accepted, in bytes",
    docs: "largest message accepted, in bytes, advertised with SIZE (RFC 1870)",
  }),
  setting("max-recipients", {
    field: "maxRecipients",
    // RFC 5321 §4.5.3.1.8: at least 100 recipients must be accepted.
    type: integer("n", 100, 100000),
    default: 100,
    help: "recipients per message",
    docs: "recipients per message (RFC 5321 §4.5.3.1.8: at least 100)",
  }),
  setting("max-connections", {
    field: "maxConnections",
    type: integer("n", 1, 1000000),
    default: 2000,
    help: "open connections in total",
    docs: "open connections in total",
  }),
  setting("max-connections-per-ip", {
    field: "maxConnectionsPerIp",
    type: integer("n", 1, 1000000),
    default: 50,
    help: "open connections per client address",
    docs: "open connections per client address",
  }),
  setting("max-errors", {
    field: "maxErrors",
    type: integer("n", 1, 100000),
    default: DEFAULT_MAX_ERRORS,
    help: "error replies before a session is cut off",
    docs: "error replies before a session is cut off with `421 4.7.0`",
  }),
  setting("timeout", {
    field: "commandTimeout",
    type: seconds(1, 86400),
    // RFC 5321 §4.5.3.2.7: 5 minutes.
    default: 300,
    help: "how long a client may be silent between commands",
    docs: "how long a client may be silent between commands (RFC 5321 §4.5.3.2.7)",
  }),
  setting("data-timeout", {
    field: "dataTimeout",
    type: seconds(1, 86400),
    // RFC 5321 §4.5.3.2.6: 10 minutes for the final dot.
    default: 600,
    help: "how long a client may be silent during DATA",
    docs: "how long a client may be silent during DATA (RFC 5321 §4.5.3.2.5, §4.5.3.2.6)",
  }),
  setting("line-deadline", {
    field: "lineDeadline",
    type: seconds(1, 86400),
    default: 60,
    help: "time to finish a command or DATA line once begun",
    docs: "time to finish a command or DATA line once begun, however slowly its bytes come " +
      "(slowloris)",
  }),
  setting("greet-wait", {
    field: "greetWait",
    type: seconds(0, MAX_GREET_WAIT, "in seconds, not milliseconds: 0.5 is half a second"),
    default: 0,
    help: "gap before the greeting's last line; a client that speaks in it gets 554",
    docs: "gap before the greeting's last line (at 0, before the whole greeting); a client " +
      `that speaks in it gets \`554\`; at most ${MAX_GREET_WAIT} (Postfix's postscreen uses 6)`,
  }),
  setting("shutdown-grace", {
    field: "shutdownGrace",
    type: seconds(0, 3600),
    default: 30,
    help: "how long transactions in flight may take on shutdown",
    docs: "how long transactions in flight may take on shutdown",
  }),
  setting("auth-max-failures", {
    field: "authMaxFailures",
    type: integer("n", 1, 100000),
    default: DEFAULT_AUTH_GUARD.maxFailures,
    help: "failed logins per client within 15 minutes before a lockout",
    docs: "failed logins within 15 minutes from one client (an IPv4 address or an IPv6 /64) " +
      "before it is locked out",
  }),
  setting("auth-lockout", {
    field: "authLockout",
    type: seconds(0, 86400 * 30),
    default: DEFAULT_AUTH_GUARD.lockoutMs / 1000,
    help: "how long a lockout lasts",
    docs: "how long a locked-out client is refused",
  }),
  setting("auth-delay", {
    field: "authDelay",
    type: seconds(0, 60),
    default: DEFAULT_AUTH_GUARD.baseDelayMs / 1000,
    help: "delay before the first failed-login reply, doubling",
    docs: "delay before the reply to the first failed login; it doubles with each further one",
  }),
  setting("route", {
    field: "routes",
    type: ROUTES,
    default: new Map(),
    help: "DOMAIN=HOST:PORT next hop; * is a smarthost",
    docs: "deliver mail for DOMAIN to that host instead of its MX (like a transport map); " +
      "`*=HOST:PORT` is a smarthost",
  }),
  setting("dns", {
    field: "dns",
    type: ADDRESS_OR_OFF,
    default: undefined,
    shown: "the system's",
    help: "DNS server HOST:PORT for every lookup",
    docs: "DNS server for every lookup: MX, A and AAAA for delivery, SPF, DKIM, DMARC and " +
      "MTA-STS records for the checks",
  }),
  setting("mx-port", {
    field: "mxPort",
    type: integer("port", 1, 65535),
    default: 25,
    help: "port used to reach MX hosts",
    docs: "port used to reach MX hosts (tests, unusual networks)",
  }),
  setting("queue-min-backoff", {
    field: "queueMinBackoff",
    type: seconds(1, 86400),
    // Postfix's minimal_backoff_time, maximal_backoff_time and maximal_queue_lifetime.
    default: 300,
    help: "first retry delay, doubling",
    docs: "first retry delay of the outbound queue; it doubles (±20% jitter) with each attempt",
  }),
  setting("queue-max-backoff", {
    field: "queueMaxBackoff",
    type: seconds(1, 86400 * 7),
    default: 4000,
    help: "longest retry delay",
    docs: "longest retry delay of the outbound queue",
  }),
  setting("queue-lifetime", {
    field: "queueLifetime",
    type: seconds(1, 86400 * 100),
    default: 5 * 86400,
    help: "time before undeliverable mail bounces",
    docs: "how long undeliverable mail stays queued before it bounces",
  }),
  setting("delay-warning", {
    field: "delayWarning",
    type: seconds(0, 86400 * 100),
    default: 4 * 3600,
    help: "warn the sender once after this delay, 0: never",
    docs: "tell the sender once that delivery is delayed (`0`: never)",
  }),
  setting("relay-concurrency", {
    field: "relayConcurrency",
    type: integer("n", 1, 10000),
    default: 100,
    help: "outbound connections in total",
    docs: "outbound connections in total",
  }),
  setting("relay-concurrency-per-destination", {
    field: "relayConcurrencyPerDestination",
    type: integer("n", 1, 10000),
    // Postfix's default_destination_concurrency_limit.
    default: 20,
    help: "outbound connections per destination domain",
    docs: "outbound connections per destination domain",
  }),
  setting("smarthost-user", {
    field: "smarthostUser",
    type: optionalText("name"),
    default: undefined,
    help: "AUTH user for the * route, a smarthost",
    docs: "AUTH user for the `*` route (a provider's relay), with `--smarthost-password-file`",
  }),
  setting("smarthost-password-file", {
    field: "smarthostPasswordFile",
    type: optionalText("file"),
    default: undefined,
    help: "file holding the smarthost password (its first line)",
    docs: "file holding the smarthost's password (its first line; never logged)",
  }),
  setting("smarthost-ca", {
    field: "smarthostCa",
    type: optionalText("file"),
    default: undefined,
    help: "PEM CA certificate to trust for the smarthost's TLS",
    docs: "a PEM CA the smarthost's certificate must chain to (a private CA); the certificate " +
      "is then always verified",
  }),
  setting("auth-checks", {
    field: "authChecks",
    type: ON_OFF,
    default: true,
    help: "SPF, DKIM, DMARC and ARC checks on the MX listener",
    docs: "check the SPF, DKIM, DMARC and ARC of every message received on the MX listener " +
      "and record the results in an `Authentication-Results:` header",
  }),
  setting("dmarc", {
    field: "dmarc",
    type: choice("mode", ["off", "tag", "enforce"] as const),
    default: "enforce",
    help: "DMARC policy: off, tag (record only) or enforce",
    docs: "`enforce`: a failure under `p=reject` is refused with 550 5.7.1 and one under " +
      "`p=quarantine` goes to Junk; `tag`: recorded only; `off`: not evaluated",
  }),
  setting("spf-fail", {
    field: "spfFail",
    type: choice("mode", ["tag", "reject"] as const),
    default: "tag",
    help: "SPF fail: tag (record only) or reject",
    docs:
      "`reject`: an SPF `fail` of the MAIL FROM is refused with 550 5.7.23; `tag`: recorded only",
  }),
  setting("dmarc-temperror", {
    field: "dmarcTemperror",
    type: choice("mode", ["deliver", "defer"] as const),
    default: "deliver",
    help: "on a DNS error during checks: deliver or defer (451)",
    docs: "a check that meets a temporary DNS error: `deliver` with `temperror` recorded, or " +
      "`defer` with 451 4.7.5 so the sender retries",
  }),
  setting("trusted-network", {
    field: "trustedNetworks",
    type: CIDRS,
    default: [],
    help: "CIDR whose mail is not checked (a relay of our own)",
    docs: "networks whose mail is not checked (relays of our own); authenticated submission " +
      "is never checked",
  }),
  setting("outbound-ca", {
    field: "outboundCa",
    type: optionalText("file"),
    default: undefined,
    help: "PEM CA certificate to trust for MTA-STS",
    docs: "a PEM CA trusted, besides the system's, for MTA-STS policy fetches and the " +
      "deliveries MTA-STS enforces (a private CA)",
  }),
  setting("mta-sts-port", {
    field: "mtaStsPort",
    type: integer("port", 1, 65535),
    default: 443,
    help: "port of MTA-STS policy hosts",
    docs: "port of the HTTPS server MTA-STS policies are fetched from (tests, unusual networks)",
  }),
  setting("log-format", {
    field: "logFormat",
    type: choice("format", ["pretty", "json"] as const),
    default: "pretty",
    help: "log format",
    docs: "log format, on stderr",
  }),
  setting("log-level", {
    field: "logLevel",
    type: choice("level", ["debug", "info", "warning", "error"] as const),
    default: "info",
    help: "lowest level logged",
    docs: "lowest level logged",
  }),
];

/** `mail serve --config FILE`: where the settings are read from, itself not a setting. */
export const CONFIG_FLAG = {
  flag: "--config",
  placeholder: "file",
  shown: "DIR/mail.toml",
  help: "TOML file with the same settings as the flags",
  docs: "TOML file with the settings below (keys as in the second column)",
} as const;

/** The embedded defaults, for data directory DATADIR on a machine called HOSTNAME. */
export function defaults(dataDir: string, hostname: string): ServeConfig {
  const config: Record<string, unknown> = { dataDir };
  for (const s of SETTINGS) {
    config[s.field] = typeof s.default === "function" ? s.default({ hostname }) : s.default;
  }
  return config as unknown as ServeConfig;
}

/** TEXT as Markdown code (a `|` escaped, as a table cell needs). */
const code = (text: string) => `\`${text.replaceAll("|", "\\|")}\``;

/** A duration in words when it is a round number of minutes, hours or days. */
function inWords(value: number): string | undefined {
  for (const [unit, size] of [["day", 86400], ["hour", 3600], ["minute", 60]] as const) {
    if (value >= 2 * size && value % size === 0) return `${value / size} ${unit}s`;
  }
  return undefined;
}

/**
 * The default of S as shown: `300` with its value in words, `300, 5 minutes` (`--help`) or
 * `300 (5 minutes)` (MARKDOWN, with the values a user would type in code spans).
 */
export function shownDefault(s: Setting, markdown = false): string {
  if (s.shown !== undefined) return s.shown;
  const value: unknown = typeof s.default === "function" ? undefined : s.default;
  if (typeof value === "boolean") return value ? "on" : "off";
  const written = s.type.format(value as never);
  const words = typeof value === "number" && s.type.placeholder === "seconds"
    ? inWords(value)
    : undefined;
  if (!markdown) return words === undefined ? written : `${written}, ${words}`;
  const literal = typeof value !== "number" && written !== "none" ? code(written) : written;
  return words === undefined ? literal : `${literal} (${words})`;
}

/** The description of S in `--help`: its help text and its default. */
export function helpText(s: Setting): string {
  return `${s.help} (${s.repeatable ? "repeatable; " : ""}default: ${shownDefault(s)})`;
}

/** A Markdown table, its columns padded as `deno fmt` pads them. */
function markdownTable(rows: readonly (readonly string[])[]): string {
  // deno fmt measures a cell by its characters (code points), not its UTF-16 units.
  const width = (cell: string) => [...cell].length;
  const widths = rows[0]!.map((_, i) => Math.max(3, ...rows.map((r) => width(r[i]!))));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => c + " ".repeat(widths[i]! - width(c))).join(" | ")} |`;
  const rule = `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`;
  return [line(rows[0]!), rule, ...rows.slice(1).map(line)].join("\n");
}

/** The settings table of docs/cli.md (between its `serve-settings` markers), from the table. */
export function settingsMarkdown(): string {
  const argument = (s: { placeholder: string | undefined; choices?: readonly string[] }) =>
    s.choices ? ` ${s.choices.join("|")}` : s.placeholder ? ` ${s.placeholder.toUpperCase()}` : "";
  const rows: string[][] = [
    ["flag", "`mail.toml`", "environment", "meaning", "default"],
    [
      code(`${CONFIG_FLAG.flag}${argument(CONFIG_FLAG)}`),
      "",
      "",
      CONFIG_FLAG.docs,
      `${code(CONFIG_FLAG.shown)} if present`,
    ],
  ];
  for (const s of SETTINGS) {
    rows.push([
      code(`${s.flag}${argument(s.type)}`) + (s.repeatable ? " (repeatable)" : ""),
      code(s.key),
      code(s.env),
      s.docs,
      shownDefault(s, true),
    ]);
  }
  return markdownTable(rows);
}
