/**
 * One question put to one server: over UDP, and again over TCP when the UDP reply is truncated
 * (RFC 1035 §4.2, RFC 7766 §5). Datagrams from elsewhere, and replies that do not match the
 * query (RFC 5452 §9.1), are ignored while the deadline lasts; the deadline ends the attempt.
 *
 * @module
 */
import dgram from "node:dgram";
import net from "node:net";
import { Buffer } from "node:buffer";
import { setImmediate } from "node:timers";
import type { DnsClock } from "./clock.ts";
import { DnsLookupError } from "./errors.ts";
import type { NameServer } from "./resolv_conf.ts";
import { encodeQuery, matchReply, type Question, randomId, RCODE, type Reply } from "./wire.ts";

/** How one attempt is made. */
export interface AttemptOptions {
  readonly clock: DnsClock;
  /** The UDP attempt's deadline; the TCP one has twice as long. */
  readonly timeoutMs: number;
}

const describe = (s: NameServer) => `${s.host.includes(":") ? `[${s.host}]` : s.host}:${s.port}`;

/** An address in one spelling: IPv4-mapped as IPv4, IPv6 compressed, no zone. */
function canonical(address: string): string {
  const a = address.replace(/%.*$/, "").replace(/^::ffff:(?=\d+\.)/i, "").toLowerCase();
  if (!net.isIPv6(a)) return a;
  try {
    return new URL(`http://[${a}]/`).hostname.slice(1, -1);
  } catch {
    return a;
  }
}

/** Whether a datagram from ADDRESS:PORT can be SERVER's (a server named by host name: any address). */
function fromServer(server: NameServer, address: string, port: number): boolean {
  if (port !== server.port) return false;
  return net.isIP(server.host.replace(/%.*$/, "")) === 0 ||
    canonical(address) === canonical(server.host);
}

/**
 * Asks SERVER about Q over UDP, then over TCP if the reply is truncated. Rejects with a
 * DnsLookupError of kind "timeout" or "error".
 */
export async function exchange(
  server: NameServer,
  q: Question,
  options: AttemptOptions,
): Promise<Reply> {
  let reply = await overUdp(server, q, options, true);
  // RFC 6891 §7: a FORMERR to a query with EDNS0 may be a server that predates it.
  if (reply.rcode === RCODE.FORMERR) reply = await overUdp(server, q, options, false);
  return reply.truncated ? await overTcp(server, q, options) : reply;
}

function overUdp(
  server: NameServer,
  q: Question,
  options: AttemptOptions,
  edns: boolean,
): Promise<Reply> {
  const id = randomId();
  const query = encodeQuery(id, q, edns);
  const family = net.isIPv6(server.host.replace(/%.*$/, "")) ? "udp6" : "udp4";
  const { promise, resolve, reject } = Promise.withResolvers<Reply>();
  const socket = dgram.createSocket(family);
  let done = false;
  const finish = (f: () => void) => {
    if (done) return;
    done = true;
    cancel();
    try {
      socket.close();
    } catch { /* already closed */ }
    f();
  };
  // When the deadline passes, a reply that arrived while the process was busy is still taken:
  // the failure waits for one more turn of the event loop, after pending I/O.
  const cancel = options.clock.after(
    options.timeoutMs,
    () =>
      setImmediate(() =>
        finish(() =>
          reject(new DnsLookupError("timeout", `no answer from ${describe(server)} in time`))
        )
      ),
  );
  socket.on("message", (msg: Buffer, rinfo: dgram.RemoteInfo) => {
    if (!fromServer(server, rinfo.address, rinfo.port)) return;
    const reply = matchReply(new Uint8Array(msg), id, q);
    if (reply) finish(() => resolve(reply));
  });
  socket.on("error", (err: Error) =>
    finish(() =>
      reject(
        new DnsLookupError("error", `cannot ask ${describe(server)}: ${err.message}`, {
          cause: err,
        }),
      )
    ));
  socket.send(query, server.port, server.host, (err) => {
    if (err) {
      finish(() =>
        reject(
          new DnsLookupError("error", `cannot ask ${describe(server)}: ${err.message}`, {
            cause: err,
          }),
        )
      );
    }
  });
  return promise;
}

function overTcp(server: NameServer, q: Question, options: AttemptOptions): Promise<Reply> {
  const id = randomId();
  const query = encodeQuery(id, q);
  const framed = Buffer.alloc(2 + query.length);
  framed.writeUInt16BE(query.length, 0);
  framed.set(query, 2);
  const { promise, resolve, reject } = Promise.withResolvers<Reply>();
  let done = false;
  const socket = net.connect({ host: server.host, port: server.port });
  const finish = (f: () => void) => {
    if (done) return;
    done = true;
    cancel();
    socket.destroy();
    f();
  };
  const fail = (message: string, cause?: unknown) =>
    finish(() =>
      reject(new DnsLookupError("error", `${describe(server)} over TCP: ${message}`, { cause }))
    );
  const cancel = options.clock.after(
    2 * options.timeoutMs,
    () =>
      setImmediate(() =>
        finish(() =>
          reject(
            new DnsLookupError("timeout", `no answer from ${describe(server)} over TCP in time`),
          )
        )
      ),
  );
  // At most one message of at most 65535 octets is kept: the length prefix bounds it. Its
  // pieces are joined once it is whole, not as each comes (a server that sends an octet at a
  // time would make that quadratic).
  const pieces: Buffer[] = [];
  let size = 0;
  socket.on("connect", () => socket.write(framed));
  socket.on("data", (chunk: Buffer) => {
    pieces.push(chunk);
    size += chunk.length;
    if (size < 2) return;
    if (pieces[0]!.length < 2) pieces.splice(0, pieces.length, Buffer.concat(pieces));
    const length = pieces[0]!.readUInt16BE(0);
    if (size < 2 + length) return;
    const reply = matchReply(
      new Uint8Array(Buffer.concat(pieces, size).subarray(2, 2 + length)),
      id,
      q,
    );
    // RFC 7766 §7: replies over one connection may come in any order; ours has one query, so a
    // reply that does not match it is the server's mistake.
    if (reply) return finish(() => resolve(reply));
    return fail("a reply that does not match the query");
  });
  socket.on("error", (err: Error) => fail(err.message, err));
  socket.on("close", () => fail("connection closed before the reply"));
  return promise;
}
