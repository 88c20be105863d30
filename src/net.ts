/**
 * Network address helpers shared by the server and the client.
 *
 * @module
 */
import net from "node:net";

/**
 * Whether ADDR (an IP address, or the name `localhost`) is this machine's loopback: 127/8,
 * ::1, or IPv4 loopback mapped into IPv6 (RFC 4291 §2.5.5.2).
 */
export function isLoopbackAddress(addr: string): boolean {
  if (addr === "localhost") return true;
  if (net.isIPv4(addr)) return addr.startsWith("127.");
  return addr === "::1" || addr === "[::1]" || /^::ffff:127\./i.test(addr);
}
