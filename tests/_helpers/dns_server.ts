/**
 * A tiny authoritative DNS responder on 127.0.0.1 for tests (RFC 1035 §4): answers MX, A and
 * AAAA questions from a table over UDP, so MX logic is tested without any real DNS. A name that
 * is not in the table gets NXDOMAIN; a name without records of the asked type gets an empty
 * NOERROR answer (NODATA). Every question is recorded, in order.
 *
 * @module
 */
import dgram from "node:dgram";

/** The records of one name. An MX exchange of "." is a null MX (RFC 7505). */
export interface DnsRecords {
  readonly mx?: readonly (readonly [preference: number, exchange: string])[];
  readonly a?: readonly string[];
  readonly aaaa?: readonly string[];
  /** Answer SERVFAIL for every question about this name. */
  readonly servfail?: boolean;
}

export interface DnsServer {
  /** `127.0.0.1:PORT`, as `--dns` takes it. */
  readonly address: string;
  readonly port: number;
  /** The questions asked so far, as `TYPE name`. */
  readonly questions: string[];
  close(): Promise<void>;
}

const TYPES: Record<number, string> = { 1: "A", 15: "MX", 28: "AAAA" };

function encodeName(name: string): number[] {
  const out: number[] = [];
  for (const label of name.replace(/\.$/, "").split(".")) {
    if (label === "") continue;
    const bytes = new TextEncoder().encode(label);
    out.push(bytes.length, ...bytes);
  }
  out.push(0);
  return out;
}

/** Reads an uncompressed question name at OFFSET; returns it and the offset past it. */
function readName(msg: Uint8Array, offset: number): [string, number] {
  const labels: string[] = [];
  let i = offset;
  while (i < msg.length && msg[i] !== 0) {
    const len = msg[i]!;
    labels.push(new TextDecoder().decode(msg.subarray(i + 1, i + 1 + len)));
    i += 1 + len;
  }
  return [labels.join("."), i + 1];
}

function ipv4(addr: string): number[] {
  return addr.split(".").map(Number);
}

function ipv6(addr: string): number[] {
  const [head = "", tail = ""] = addr.split("::");
  const h = head === "" ? [] : head.split(":");
  const t = tail === "" ? [] : tail.split(":");
  const groups = addr.includes("::")
    ? [...h, ...Array(8 - h.length - t.length).fill("0"), ...t]
    : h;
  return groups.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

function u16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}

function answer(type: number, rdata: number[]): number[] {
  // Name: a pointer to the question name at offset 12; class IN; TTL 60.
  return [0xc0, 12, ...u16(type), ...u16(1), 0, 0, 0, 60, ...u16(rdata.length), ...rdata];
}

function respond(query: Uint8Array, table: Record<string, DnsRecords>, questions: string[]) {
  const [qname, end] = readName(query, 12);
  const qtype = ((query[end] ?? 0) << 8) | (query[end + 1] ?? 0);
  questions.push(`${TYPES[qtype] ?? qtype} ${qname}`);
  const records = table[qname.toLowerCase()];
  const answers: number[][] = [];
  let rcode = 0;
  if (!records) rcode = 3; // NXDOMAIN
  else if (records.servfail) rcode = 2;
  else if (qtype === 15) {
    for (const [pref, host] of records.mx ?? []) {
      answers.push(answer(15, [...u16(pref), ...encodeName(host)]));
    }
  } else if (qtype === 1) {
    for (const a of records.a ?? []) answers.push(answer(1, ipv4(a)));
  } else if (qtype === 28) {
    for (const a of records.aaaa ?? []) answers.push(answer(28, ipv6(a)));
  }
  const id = [query[0] ?? 0, query[1] ?? 0];
  // QR=1, opcode 0, AA=1, RD copied; RA=1; RCODE.
  const flags = [0x84 | ((query[2] ?? 0) & 0x01), 0x80 | rcode];
  const question = [...query.subarray(12, end + 4)];
  return new Uint8Array([
    ...id,
    ...flags,
    ...u16(1),
    ...u16(answers.length),
    ...u16(0),
    ...u16(0),
    ...question,
    ...answers.flat(),
  ]);
}

/** Starts a responder for TABLE (names in lower case, without the final dot). */
export async function startDnsServer(table: Record<string, DnsRecords>): Promise<DnsServer> {
  const socket = dgram.createSocket("udp4");
  const questions: string[] = [];
  socket.on("message", (msg, rinfo) => {
    try {
      const reply = respond(new Uint8Array(msg), table, questions);
      socket.send(reply, rinfo.port, rinfo.address);
    } catch { /* a malformed query gets no answer */ }
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
  const port = socket.address().port;
  return {
    address: `127.0.0.1:${port}`,
    port,
    questions,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
