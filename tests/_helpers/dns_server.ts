/**
 * A tiny DNS responder on 127.0.0.1 for tests, standing in for the recursive resolver a mail
 * server asks (RFC 1035 §4), over UDP and TCP on the same port: answers A, AAAA, MX, TXT, CNAME
 * and PTR questions from a table, so lookups are tested without any real DNS.
 *
 * - A name that is not in the table gets NXDOMAIN; a name without records of the asked type gets
 *   an empty NOERROR answer (NODATA). Both carry an SOA in the authority section whose minimum
 *   is the negative TTL (RFC 2308 §5).
 * - A name with a `cname` is answered with the CNAME and, as a recursive resolver does, with the
 *   records of its target (followed in the table, stopping at a loop; RFC 1034 §4.3.2). The
 *   response code is that of the last name (RFC 6604 §3).
 * - `servfail`, `refused`, `timeout` (never answers) and `truncate` (the UDP answer has TC set
 *   and no records; the full answer comes over TCP) make a name misbehave.
 * - A UDP answer larger than the query's EDNS0 buffer (512 octets without EDNS0) is truncated
 *   too (RFC 6891 §7).
 *
 * The table is read at every question, so a test may change it while the server runs. Answers
 * have a TTL of 60 seconds unless the server or the name says otherwise. Every question is
 * recorded, in order.
 *
 * `startRawDnsServer` hands each query to a function of the test's, to send what no correct
 * server would (mismatched ids, garbage).
 *
 * @module
 */
import dgram from "node:dgram";
import net from "node:net";
import { Buffer } from "node:buffer";
// @ts-types="@types/dns-packet"
import * as packet from "dns-packet";

/** The records of one name. An MX exchange of "." is a null MX (RFC 7505). */
export interface DnsRecords {
  readonly mx?: readonly (readonly [preference: number, exchange: string])[];
  readonly a?: readonly string[];
  readonly aaaa?: readonly string[];
  /** Each string is one TXT record, split into character-strings of at most 255 octets. */
  readonly txt?: readonly string[];
  /** An alias: questions of every type are answered with this CNAME (and its target's records). */
  readonly cname?: string;
  readonly ptr?: string | readonly string[];
  /** Answer SERVFAIL for every question about this name. */
  readonly servfail?: boolean;
  /** Answer REFUSED for every question about this name. */
  readonly refused?: boolean;
  /** Never answer a question about this name. */
  readonly timeout?: boolean;
  /** Answer over UDP with TC set and no records, so the client asks again over TCP. */
  readonly truncate?: boolean;
  /** The TTL of this name's records and of its NODATA answers, in seconds. */
  readonly ttl?: number;
}

/** A table of names (lower case, without the final dot) and their records. */
export type DnsTable = Record<string, DnsRecords>;

export interface DnsServerOptions {
  /** The TTL of records whose name sets none, in seconds (60 by default). */
  readonly ttl?: number;
  /** The SOA minimum (negative TTL) of NXDOMAIN answers, in seconds (60 by default). */
  readonly negativeTtl?: number;
  /** Send TCP answers an octet at a time, each after the last is written (length prefix too). */
  readonly tcpOctetAtATime?: boolean;
}

export interface DnsServer {
  /** `127.0.0.1:PORT`, as `--dns` takes it. */
  readonly address: string;
  readonly port: number;
  /** The questions asked so far, over either transport, as `TYPE name`. */
  readonly questions: string[];
  /** The questions asked over TCP, as `TYPE name`. */
  readonly tcpQuestions: string[];
  close(): Promise<void>;
}

/** What a raw server's handler is given: the query's bytes, how it came, and from where. */
export type RawHandler = (
  query: Uint8Array,
  transport: "udp" | "tcp",
  from: { readonly address: string; readonly port: number },
) => readonly Uint8Array[] | undefined | Promise<readonly Uint8Array[] | undefined>;

/** Where a query came from. */
type Peer = { readonly address: string; readonly port: number };

const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

const normal = (name: string) => name.replace(/\.$/, "").toLowerCase();

/** TEXT as character-strings of at most 255 octets (RFC 1035 §3.3.14, RFC 7208 §3.3). */
function characterStrings(text: string): Buffer[] {
  const bytes = Buffer.from(text, "utf8");
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 255) out.push(bytes.subarray(i, i + 255));
  return out.length === 0 ? [Buffer.alloc(0)] : out;
}

function recordsOf(name: string, type: string, r: DnsRecords, ttl: number): packet.Answer[] {
  const base = { name, ttl, class: "IN" as const };
  switch (type) {
    case "A":
      return (r.a ?? []).map((data) => ({ ...base, type: "A", data }));
    case "AAAA":
      return (r.aaaa ?? []).map((data) => ({ ...base, type: "AAAA", data }));
    case "MX":
      return (r.mx ?? []).map(([preference, exchange]) => ({
        ...base,
        type: "MX",
        data: { preference, exchange },
      }));
    case "TXT":
      return (r.txt ?? []).map((t) => ({ ...base, type: "TXT", data: characterStrings(t) }));
    case "PTR": {
      const ptr = r.ptr === undefined ? [] : typeof r.ptr === "string" ? [r.ptr] : r.ptr;
      return ptr.map((data) => ({ ...base, type: "PTR", data }));
    }
    default:
      return [];
  }
}

function soa(zone: string, minimum: number): packet.Answer {
  return {
    name: zone,
    type: "SOA",
    class: "IN",
    ttl: minimum,
    data: {
      mname: "ns.test",
      rname: "hostmaster.test",
      serial: 1,
      refresh: 3600,
      retry: 600,
      expire: 86400,
      minimum,
    },
  };
}

interface Decision {
  /** Undefined: no answer at all. */
  readonly reply?: Buffer;
}

function respond(
  query: Buffer,
  transport: "udp" | "tcp",
  table: DnsTable,
  options: DnsServerOptions,
  log: { questions: string[]; tcpQuestions: string[] },
): Decision {
  const q = packet.decode(query);
  const question = q.questions?.[0];
  if (!question) return {};
  const qname = question.name;
  const line = `${question.type} ${qname}`;
  log.questions.push(line);
  if (transport === "tcp") log.tcpQuestions.push(line);
  const defaultTtl = options.ttl ?? 60;
  const answers: packet.Answer[] = [];
  const authorities: packet.Answer[] = [];
  let rcode: number = RCODE.NOERROR;
  let truncate = false;
  let current = normal(qname);
  let owner = qname;
  const seen = new Set<string>();
  for (let step = 0; step < 16; step++) {
    const records = table[current];
    if (!records) {
      rcode = RCODE.NXDOMAIN;
      authorities.push(soa(current.split(".").slice(-1)[0] ?? ".", options.negativeTtl ?? 60));
      break;
    }
    if (records.timeout) return {};
    if (records.servfail) {
      rcode = RCODE.SERVFAIL;
      break;
    }
    if (records.refused) {
      rcode = RCODE.REFUSED;
      break;
    }
    if (records.truncate) truncate = true;
    const ttl = records.ttl ?? defaultTtl;
    seen.add(current);
    if (records.cname !== undefined && question.type !== "CNAME") {
      answers.push({ name: owner, type: "CNAME", class: "IN", ttl, data: records.cname });
      owner = records.cname;
      current = normal(records.cname);
      if (seen.has(current)) break;
      continue;
    }
    const found = question.type === "CNAME"
      ? (records.cname === undefined
        ? []
        : [{ name: owner, type: "CNAME" as const, class: "IN" as const, ttl, data: records.cname }])
      : recordsOf(owner, question.type, records, ttl);
    answers.push(...found);
    if (found.length === 0) authorities.push(soa(current, ttl));
    break;
  }
  const opt = q.additionals?.find((a) => a.type === "OPT") as
    | { udpPayloadSize?: number }
    | undefined;
  const flags = packet.AUTHORITATIVE_ANSWER | packet.RECURSION_AVAILABLE |
    ((q.flags ?? 0) & packet.RECURSION_DESIRED) | rcode;
  const full = packet.encode({
    type: "response",
    id: q.id ?? 0,
    flags,
    questions: [question],
    answers,
    authorities,
  });
  const limit = opt ? Math.max(512, opt.udpPayloadSize ?? 512) : 512;
  if (transport === "udp" && (truncate || full.length > limit)) {
    return {
      reply: packet.encode({
        type: "response",
        id: q.id ?? 0,
        flags: flags | packet.TRUNCATED_RESPONSE,
        questions: [question],
      }),
    };
  }
  return { reply: full };
}

/** Binds a UDP socket and a TCP listener to one free port of 127.0.0.1. */
async function listen(
  onDatagram: (msg: Buffer, reply: (b: Uint8Array) => void, from: Peer) => void,
  onStream: (msg: Buffer, reply: (b: Uint8Array) => void, from: Peer) => void,
  octetAtATime = false,
): Promise<{ port: number; close(): Promise<void> }> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const udp = dgram.createSocket("udp4");
    udp.on("message", (msg, rinfo) => {
      onDatagram(msg, (b) => udp.send(b, rinfo.port, rinfo.address), rinfo);
    });
    await new Promise<void>((resolve) => udp.bind(0, "127.0.0.1", () => resolve()));
    const port = udp.address().port;
    const sockets = new Set<net.Socket>();
    const tcp = net.createServer((socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => socket.destroy());
      let buffered = Buffer.alloc(0);
      socket.on("data", (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 2) {
          const length = buffered.readUInt16BE(0);
          if (buffered.length < 2 + length) break;
          const msg = buffered.subarray(2, 2 + length);
          buffered = buffered.subarray(2 + length);
          onStream(msg, (b) => {
            const framed = Buffer.alloc(2 + b.length);
            framed.writeUInt16BE(b.length, 0);
            framed.set(b, 2);
            if (!octetAtATime) {
              if (!socket.destroyed) socket.write(framed);
              return;
            }
            const next = (at: number) => {
              if (at < framed.length && !socket.destroyed) {
                socket.write(framed.subarray(at, at + 1), () => next(at + 1));
              }
            };
            next(0);
          }, { address: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 });
        }
      });
    });
    const bound = await new Promise<boolean>((resolve) => {
      tcp.once("error", () => resolve(false));
      tcp.listen(port, "127.0.0.1", () => resolve(true));
    });
    const close = async () => {
      for (const s of sockets) s.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ]);
    };
    if (bound) return { port, close };
    await new Promise<void>((resolve) => udp.close(() => resolve()));
  }
  throw new Error("Cannot find a port free for both UDP and TCP on 127.0.0.1");
}

/** Starts a responder for TABLE (names in lower case, without the final dot). */
export async function startDnsServer(
  table: DnsTable,
  options: DnsServerOptions = {},
): Promise<DnsServer> {
  const questions: string[] = [];
  const tcpQuestions: string[] = [];
  const handle = (transport: "udp" | "tcp") => (msg: Buffer, reply: (b: Uint8Array) => void) => {
    try {
      const decision = respond(msg, transport, table, options, { questions, tcpQuestions });
      if (decision.reply) reply(decision.reply);
    } catch { /* a malformed query gets no answer */ }
  };
  const { port, close } = await listen(handle("udp"), handle("tcp"), options.tcpOctetAtATime);
  return { address: `127.0.0.1:${port}`, port, questions, tcpQuestions, close };
}

/** A raw server's address, and how many queries it has been given. */
export interface RawDnsServer {
  readonly address: string;
  readonly port: number;
  readonly queries: Uint8Array[];
  close(): Promise<void>;
}

/**
 * Starts a server on UDP and TCP that answers each query with whatever HANDLER returns or
 * resolves to (each element one datagram, or one length-prefixed message over TCP; nothing when
 * undefined).
 */
export async function startRawDnsServer(handler: RawHandler): Promise<RawDnsServer> {
  const queries: Uint8Array[] = [];
  const handle =
    (transport: "udp" | "tcp") => (msg: Buffer, reply: (b: Uint8Array) => void, from: Peer) => {
      queries.push(new Uint8Array(msg));
      // The handler may take its time (an answer after something else it sends first).
      Promise.resolve().then(() => handler(new Uint8Array(msg), transport, from)).then(
        (replies) => {
          for (const b of replies ?? []) reply(b);
        },
        () => {/* the handler's failure is no answer */},
      );
    };
  const { port, close } = await listen(handle("udp"), handle("tcp"));
  return { address: `127.0.0.1:${port}`, port, queries, close };
}
