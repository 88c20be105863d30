/**
 * The system's DNS servers, from resolv.conf(5): its `nameserver` lines, at most three (as the
 * C library reads them, MAXNS), IPv4 or IPv6; 127.0.0.1:53 when there are none.
 *
 * @module
 */
import { isIP } from "node:net";

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
