/**
 * The system's DNS servers, from resolv.conf(5): its `nameserver` lines, at most three (as the
 * C library reads them, MAXNS), IPv4 or IPv6; 127.0.0.1:53 when there are none. The file is read
 * again when it changes (DHCP, NetworkManager and systemd-resolved rewrite it when the network
 * does), as the GNU C library has done since 2.26.
 *
 * @module
 */
import { isIP } from "node:net";
import type { DnsClock } from "./clock.ts";

/** A DNS server to ask. */
export interface NameServer {
  readonly host: string;
  readonly port: number;
}

/** At most this many servers are read (resolv.conf(5), MAXNS). */
export const MAX_NAMESERVERS = 3;

/** Used when resolv.conf names no server (resolv.conf(5)). */
export const DEFAULT_NAMESERVER: NameServer = { host: "127.0.0.1", port: 53 };

/** The servers TEXT (resolv.conf's content) names, in order; the default when none. */
export function parseResolvConf(text: string): NameServer[] {
  const servers: NameServer[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/[#;].*$/, "").trim();
    const [keyword, value] = line.split(/\s+/);
    if (keyword !== "nameserver" || value === undefined) continue;
    // An IPv6 address may carry a zone (fe80::1%eth0); dgram takes it as written.
    const host = value.replace(/^\[(.*)\]$/, "$1");
    if (isIP(host.replace(/%.*$/, "")) === 0) continue;
    servers.push({ host, port: 53 });
    if (servers.length === MAX_NAMESERVERS) break;
  }
  return servers.length > 0 ? servers : [DEFAULT_NAMESERVER];
}

/** The servers PATH names (/etc/resolv.conf by default); the default when it cannot be read. */
export async function readResolvConf(path = "/etc/resolv.conf"): Promise<NameServer[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    return [DEFAULT_NAMESERVER];
  }
  return parseResolvConf(text);
}

/** How often, at most, a long-running process looks whether resolv.conf changed (milliseconds). */
export const RESOLV_CONF_CHECK_MS = 5000;

/** How {@link SystemNameServers} sees the file (tests give one of their own). */
export interface ResolvConfFiles {
  /**
   * What identifies the file at PATH as it is now: it differs once the file is rewritten or
   * replaced; null when there is no file. Rejects when that cannot be told.
   */
  identity(path: string): Promise<string | null>;
  /** The file's text. */
  read(path: string): Promise<string>;
}

/** The real files: identity from device, inode, size, mtime and ctime, as glibc compares them. */
const SYSTEM_FILES: ResolvConfFiles = {
  async identity(path) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return null;
      throw err;
    }
    return [info.dev, info.ino, info.size, info.mtime?.getTime(), info.ctime?.getTime()].join(" ");
  },
  read: (path) => Deno.readTextFile(path),
};

/** How {@link SystemNameServers} are found. */
export interface SystemNameServersOptions {
  /** The file (/etc/resolv.conf). */
  readonly path?: string | undefined;
  /** The port of the servers it names (53: resolv.conf cannot name another; tests move it). */
  readonly port?: number | undefined;
  /** Measures the time between checks. */
  readonly clock: DnsClock;
  readonly files?: ResolvConfFiles | undefined;
}

/**
 * The servers resolv.conf names, kept current: when asked at least {@link RESOLV_CONF_CHECK_MS}
 * after the last look, the file's identity is checked and the file read again if it changed. One
 * check runs at a time: the first read is shared by everyone asking meanwhile, and during a later
 * check the others go on with the servers read last. A file that cannot be read leaves the
 * servers read last (the default when it never could be); a missing file means the default.
 */
export class SystemNameServers {
  readonly #path: string;
  readonly #port: number;
  readonly #clock: DnsClock;
  readonly #files: ResolvConfFiles;
  #servers: readonly NameServer[] | undefined;
  /** The identity of the file #servers came from; undefined when not known. */
  #identity: string | null | undefined;
  #checkedAt = 0;
  #checking: Promise<readonly NameServer[]> | undefined;

  constructor(options: SystemNameServersOptions) {
    this.#path = options.path ?? "/etc/resolv.conf";
    this.#port = options.port ?? 53;
    this.#clock = options.clock;
    this.#files = options.files ?? SYSTEM_FILES;
  }

  /** The servers to ask: at once between checks, after the check (or the one under way) else. */
  current(): readonly NameServer[] | Promise<readonly NameServer[]> {
    if (
      this.#servers !== undefined && this.#clock.now() - this.#checkedAt < RESOLV_CONF_CHECK_MS
    ) {
      return this.#servers;
    }
    return this.#checking ??= this.#check().finally(() => this.#checking = undefined);
  }

  async #check(): Promise<readonly NameServer[]> {
    this.#checkedAt = this.#clock.now();
    try {
      const identity = await this.#files.identity(this.#path);
      if (this.#servers === undefined || identity !== this.#identity) {
        const text = identity === null ? "" : await this.#files.read(this.#path);
        this.#servers = parseResolvConf(text).map((s) => ({ host: s.host, port: this.#port }));
        this.#identity = identity;
      }
    } catch {
      // The identity is not recorded: the next check reads the file again.
      this.#servers ??= [{ ...DEFAULT_NAMESERVER, port: this.#port }];
    }
    return this.#servers;
  }
}
