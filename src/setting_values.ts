/**
 * The kinds of value a `mail serve` setting takes, each with its validation: a value comes in
 * from a TOML file (typed), the environment (a string) or a flag (a string, a list of strings
 * for a repeatable flag, or `true` for a switch), and leaves as the configuration's value or as
 * a {@link SettingValueError} saying what was expected.
 *
 * @module
 */
import { isIP } from "node:net";
import { parseDomain } from "./smtp/address.ts";

/** A `HOST:PORT` to listen on or connect to. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** A value that does not fit its setting; the loader adds where it came from. */
export class SettingValueError extends Error {
  override name = "SettingValueError";
}

/** One kind of value. */
export interface ValueType<T> {
  /** The flag's argument in `--help` and the docs (`seconds`); undefined for a switch. */
  readonly placeholder: string | undefined;
  /** The values a flag accepts, when they are a fixed list (shown by `--help`). */
  readonly choices?: readonly string[];
  /** Whether TOML takes a list (an array) and the environment a comma-separated one. */
  readonly list?: boolean;
  /** Converts and validates a raw value; throws {@link SettingValueError}. */
  parse(raw: unknown): T;
  /** The value as a user writes it in TOML or the environment (its `parse` reads it back). */
  format(value: T): string;
}

const fail = (message: string): never => {
  throw new SettingValueError(message);
};

function asString(raw: unknown): string {
  return typeof raw === "string" ? raw : fail(`expected a string, got ${JSON.stringify(raw)}`);
}

/** A list from TOML (an array), the environment (comma-separated) or a repeated flag. */
function asList(raw: unknown): string[] {
  const list = Array.isArray(raw) ? raw : typeof raw === "string" ? raw.split(",") : [raw];
  return list.map(asString);
}

/** A number from TOML, or a decimal string from the environment or a flag. */
function asNumber(raw: unknown, pattern: RegExp, what: string): number {
  if (typeof raw === "number") return raw;
  if (typeof raw === "bigint") return Number(raw);
  const text = asString(raw).trim();
  return pattern.test(text) ? Number(text) : fail(`expected ${what}, got ${JSON.stringify(raw)}`);
}

/** Parses `HOST:PORT` (`[::1]:25` for IPv6); the port may be left out when DEFAULTPORT is given. */
export function parseHostPort(text: string, defaultPort?: number): HostPort {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s\[\]]+))(?::(\d{1,5}))?$/.exec(text.trim());
  const port = m?.[3] !== undefined ? Number(m[3]) : defaultPort;
  if (!m || port === undefined || port > 65535) {
    throw new SettingValueError(`expected HOST:PORT, got ${JSON.stringify(text)}`);
  }
  return { host: m[1] ?? m[2] ?? "", port };
}

/** `HOST:PORT` as written (IPv6 in brackets). */
export function formatHostPort(a: HostPort): string {
  return `${a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}`;
}

/** A non-empty string (a name, a file); PLACEHOLDER names it in `--help`. */
export function text(placeholder: string): ValueType<string> {
  return {
    placeholder,
    parse(raw) {
      const v = asString(raw);
      return v === "" ? fail("must not be empty") : v;
    },
    format: (v) => v,
  };
}

/** One of CHOICES. */
export function choice<T extends string>(placeholder: string, choices: readonly T[]): ValueType<T> {
  return {
    placeholder,
    choices,
    parse(raw) {
      const v = asString(raw);
      return (choices as readonly string[]).includes(v)
        ? v as T
        : fail(`expected one of ${choices.join(", ")}, got ${JSON.stringify(v)}`);
    },
    format: (v) => v,
  };
}

/** A switch: the flag alone turns it on; TOML takes a boolean, the environment true/false. */
export const SWITCH: ValueType<boolean> = {
  placeholder: undefined,
  parse(raw) {
    if (typeof raw === "boolean") return raw;
    if (raw === "true" || raw === "1" || raw === "yes") return true;
    if (raw === "false" || raw === "0" || raw === "no") return false;
    return fail(`expected true or false, got ${JSON.stringify(raw)}`);
  },
  format: (v) => String(v),
};

/** A whole number from MIN to MAX. */
export function integer(placeholder: string, min: number, max: number): ValueType<number> {
  return {
    placeholder,
    parse(raw) {
      const n = asNumber(raw, /^[-+]?\d+$/, "an integer");
      if (!Number.isInteger(n)) fail(`expected an integer, got ${JSON.stringify(raw)}`);
      if (n < min || n > max) fail(`must be between ${min} and ${max}, got ${n}`);
      return n;
    },
    format: (v) => String(v),
  };
}

/**
 * A duration in seconds from MIN to MAX; fractions to the millisecond (`0.5`). Every duration
 * of `mail serve` is in seconds. HINT, if given, is added to an out-of-range error.
 */
export function seconds(min: number, max: number, hint?: string): ValueType<number> {
  return {
    placeholder: "seconds",
    parse(raw) {
      const n = asNumber(raw, /^[-+]?(\d+(\.\d*)?|\.\d+)$/, "a number of seconds");
      if (!Number.isFinite(n)) fail(`expected a number of seconds, got ${JSON.stringify(raw)}`);
      if (n < min || n > max) {
        fail(`must be between ${min} and ${max} seconds, got ${n}${hint ? ` (${hint})` : ""}`);
      }
      // Timers run in milliseconds: a finer value would be silently rounded.
      if (Math.abs(n * 1000 - Math.round(n * 1000)) > 1e-6) {
        fail(`must be a whole number of milliseconds, got ${n} seconds`);
      }
      return n;
    },
    format: (v) => String(v),
  };
}

/** A listener or server address, `HOST:PORT`, or `off` (undefined). */
export const ADDRESS_OR_OFF: ValueType<HostPort | undefined> = {
  placeholder: "addr",
  parse(raw) {
    const v = asString(raw);
    return v === "" || v === "off" ? undefined : parseHostPort(v);
  },
  format: (v) => v === undefined ? "off" : formatHostPort(v),
};

/** Domain names, lower-case, without a final dot, each once; at least one. */
export const DOMAINS: ValueType<readonly string[]> = {
  placeholder: "domain",
  list: true,
  parse(raw) {
    const values = asList(raw).map((v) => v.trim().toLowerCase().replace(/\.$/, ""));
    if (values.length === 0) fail("needs at least one value");
    for (const v of values) {
      try {
        parseDomain(v, true);
      } catch (err) {
        fail(`${JSON.stringify(v)}: ${(err as Error).message}`);
      }
    }
    return [...new Set(values)];
  },
  format: (v) => v.join(","),
};

/** Next hops: `DOMAIN=HOST:PORT` each (`*` for every other domain: a smarthost). */
export const ROUTES: ValueType<ReadonlyMap<string, HostPort>> = {
  placeholder: "domain=host:port",
  list: true,
  parse(raw) {
    const map = new Map<string, HostPort>();
    for (const item of asList(raw)) {
      const eq = item.indexOf("=");
      if (eq < 1) fail(`expected DOMAIN=HOST:PORT, got ${JSON.stringify(item)}`);
      const domain = item.slice(0, eq).trim().toLowerCase();
      try {
        if (domain !== "*") parseDomain(domain, true);
        map.set(domain, parseHostPort(item.slice(eq + 1)));
      } catch (err) {
        fail(`${JSON.stringify(item)}: ${(err as Error).message}`);
      }
    }
    return map;
  },
  format: (v) =>
    v.size === 0 ? "none" : [...v].map(([d, hp]) => `${d}=${formatHostPort(hp)}`).join(","),
};

/** An IP network: an address and a prefix length (a bare address is a /32 or /128). */
export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: "ipv4" | "ipv6";
}

/** Parses `192.0.2.0/24`, `2001:db8::/32` or a bare address. */
export function parseCidr(text: string): Cidr {
  const [address = "", prefixText, extra] = text.trim().split("/");
  const family = isIP(address) === 4 ? "ipv4" : isIP(address) === 6 ? "ipv6" : undefined;
  if (family === undefined || extra !== undefined) {
    return fail(`expected an address or ADDRESS/PREFIX, got ${JSON.stringify(text)}`);
  }
  const max = family === "ipv4" ? 32 : 128;
  if (prefixText === undefined) return { address, prefix: max, family };
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix >= 0 && prefix <= max)) {
    return fail(`prefix of ${JSON.stringify(text)} must be 0 to ${max}`);
  }
  return { address, prefix, family };
}

/** IP networks (`CIDR` each); may be empty. */
export const CIDRS: ValueType<readonly Cidr[]> = {
  placeholder: "cidr",
  list: true,
  parse: (raw) => asList(raw).filter((v) => v.trim() !== "").map(parseCidr),
  format: (v) => v.length === 0 ? "none" : v.map((c) => `${c.address}/${c.prefix}`).join(","),
};

/** `on` or `off` (TOML may also say true or false), for a setting that is on by default. */
export const ON_OFF: ValueType<boolean> = {
  placeholder: "mode",
  choices: ["on", "off"],
  parse(raw) {
    if (raw === true || raw === "on") return true;
    if (raw === false || raw === "off") return false;
    return fail(`expected on or off, got ${JSON.stringify(raw)}`);
  },
  format: (v) => v ? "on" : "off",
};
