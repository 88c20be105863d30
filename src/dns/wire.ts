/**
 * DNS messages on the wire (RFC 1035 §4), through `dns-packet`: a query with a random id, the
 * recursion-desired bit and an EDNS0 OPT record offering a 1232-octet UDP buffer (RFC 6891 §6.2.5,
 * the size DNS Flag Day 2020 settled on); and the check that bytes from the network are the
 * reply to that query and nothing else. Pure: no sockets here.
 *
 * @module
 */
import { Buffer } from "node:buffer";
// @ts-types="@types/dns-packet"
import * as packet from "dns-packet";

/**
 * Pointers a name may follow (RFC 1035 §4.1.4): one per label at most in a sane encoding, whose
 * names have 127 labels at most. dns-packet follows a chain of pointers again for every name
 * that uses it, and refuses only pointers that point forward, so a reply of chained pointers and
 * many names pointing into them cost time quadratic in its size (docs/performance.md).
 */
const MAX_POINTERS = 128;
/** Pointers in a row without a label between them: encoders never chain them. */
const MAX_BARE_POINTERS = 16;

/**
 * Throws, as dns-packet's own checks do, for the name at OFFSET of BUF when it follows more
 * pointers than MAX_POINTERS, or MAX_BARE_POINTERS in a row. It walks no further than dns-packet
 * would (its name length limit, pointers only backwards) and leaves every other fault to it.
 */
function checkPointers(buf: Uint8Array, offset: number): void {
  let pointers = 0;
  let bare = 0;
  let length = 0;
  let start = offset;
  for (let at = offset; at < buf.length;) {
    const len = buf[at]!;
    if (len === 0) return;
    if ((len & 0xc0) === 0) {
      length += len + 1;
      if (length > 254) return;
      bare = 0;
      at += 1 + len;
    } else if ((len & 0xc0) === 0xc0 && at + 1 < buf.length) {
      if (++pointers > MAX_POINTERS || ++bare > MAX_BARE_POINTERS) {
        throw new Error("Cannot decode name (too many pointers)");
      }
      const target = ((len & 0x3f) << 8) | buf[at + 1]!;
      if (target >= start) return;
      start = at = target;
    } else {
      return;
    }
  }
}

{
  // Every name dns-packet reads, in any record, goes through `name.decode`, looked up each time.
  const codec = (packet as unknown as { name: { decode: NameDecode } }).name;
  const decode = codec.decode;
  codec.decode = Object.assign(
    (buf: Uint8Array, offset?: number, options?: unknown) => {
      checkPointers(buf, offset ?? 0);
      return decode(buf, offset, options);
    },
    { bytes: 0 },
  );
}

/** dns-packet's name decoder: it leaves the octets it read in its `bytes`. */
type NameDecode = ((buf: Uint8Array, offset?: number, options?: unknown) => string) & {
  bytes: number;
};

/** The record types this resolver asks for. */
export type QueryType = "A" | "AAAA" | "MX" | "TXT" | "PTR" | "CNAME";

/** One question: a name (lower case, no final dot) and a type. */
export interface Question {
  readonly name: string;
  readonly type: QueryType;
}

/** The UDP payload size offered in EDNS0 (RFC 6891 §6.2.5). */
export const EDNS_UDP_SIZE = 1232;

/** No DNS message is larger: its TCP length prefix is two octets (RFC 1035 §4.2.2). */
export const MAX_MESSAGE = 65535;

/** Response codes this resolver tells apart (RFC 1035 §4.1.1, RFC 6895 §2.3). */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

/** A decoded reply that answers our question. */
export interface Reply {
  readonly rcode: number;
  readonly truncated: boolean;
  readonly answers: readonly packet.Answer[];
  readonly authorities: readonly packet.Answer[];
}

/** A fresh random query id (RFC 5452 §9.2: ids must not be guessable). */
export function randomId(): number {
  return crypto.getRandomValues(new Uint16Array(1))[0]!;
}

/** The query for Q with id ID, with an EDNS0 OPT record unless EDNS is false. */
export function encodeQuery(id: number, q: Question, edns = true): Uint8Array {
  const opt = {
    type: "OPT",
    name: ".",
    udpPayloadSize: EDNS_UDP_SIZE,
    flags: 0,
    options: [],
  } as unknown as packet.Answer;
  return packet.encode({
    type: "query",
    id,
    flags: packet.RECURSION_DESIRED,
    questions: [{ type: q.type, name: q.name, class: "IN" }],
    additionals: edns ? [opt] : [],
  });
}

const same = (a: string, b: string) =>
  a.replace(/\.$/, "").toLowerCase() === b.replace(/\.$/, "").toLowerCase();

/**
 * BYTES decoded, when they are a reply to the query Q with id ID: a response (QR set), the same
 * id, exactly one question, the same name, type and class (RFC 5452 §9.1). Anything else, from
 * a confused server or a forger, is undefined: not an answer, and the caller keeps waiting.
 * Never throws.
 */
export function matchReply(bytes: Uint8Array, id: number, q: Question): Reply | undefined {
  if (bytes.length < 12 || bytes.length > MAX_MESSAGE) return undefined;
  // Header checks before decoding: a reply with another id is not worth parsing.
  if (((bytes[0]! << 8) | bytes[1]!) !== id || (bytes[2]! & 0x80) === 0) return undefined;
  let decoded: packet.DecodedPacket;
  try {
    decoded = packet.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
  } catch {
    return undefined;
  }
  const question = decoded.questions?.[0];
  if (decoded.questions?.length !== 1 || !question) return undefined;
  if (typeof question.name !== "string" || !same(question.name, q.name)) return undefined;
  if (question.type !== q.type || (question.class ?? "IN") !== "IN") return undefined;
  return {
    rcode: (decoded.flags ?? 0) & 0xf,
    truncated: decoded.flag_tc,
    answers: Array.isArray(decoded.answers) ? decoded.answers : [],
    authorities: Array.isArray(decoded.authorities) ? decoded.authorities : [],
  };
}
