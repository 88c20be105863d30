/**
 * Whatever a server sends, a lookup ends in records or a DnsLookupError: never another
 * exception, never a hang.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import fc from "fast-check";
// @ts-types="@types/dns-packet"
import * as packet from "dns-packet";
import { createResolver, DnsLookupError } from "../../src/dns/mod.ts";
import { interpret } from "../../src/dns/answer.ts";
import { matchReply, type QueryType } from "../../src/dns/wire.ts";
import { startRawDnsServer } from "../_helpers/dns_server.ts";
import { bounded } from "../client/_clock.ts";

const TYPES: QueryType[] = ["A", "AAAA", "MX", "TXT", "PTR", "CNAME"];

/** The header and question of a reply to ID's question, then TAIL, with COUNTS as given. */
function replyWith(
  id: number,
  name: string,
  type: QueryType,
  flags: number,
  counts: [number, number, number],
  tail: Uint8Array,
): Uint8Array {
  const head = packet.encode({
    type: "response",
    id,
    flags,
    questions: [{ type, name, class: "IN" }],
  });
  head.writeUInt16BE(counts[0], 6);
  head.writeUInt16BE(counts[1], 8);
  head.writeUInt16BE(counts[2], 10);
  return new Uint8Array(Buffer.concat([head, tail]));
}

const replyArb = fc.record({
  type: fc.constantFrom(...TYPES),
  flags: fc.integer({ min: 0, max: 0x7fff }),
  counts: fc.tuple(fc.nat(70000 >> 2), fc.nat(20), fc.nat(20)).map((c) =>
    [c[0] % 65536, c[1], c[2]] as [number, number, number]
  ),
  tail: fc.uint8Array({ maxLength: 600 }),
});

/** Valid records, for tails that decode at first and go wrong later. */
const recordBytes = (name: string) =>
  packet.encode({
    type: "response",
    id: 0,
    questions: [],
    answers: [
      { type: "CNAME", name, ttl: 5, class: "IN", data: "t.test" },
      { type: "A", name: "t.test", ttl: 5, class: "IN", data: "192.0.2.1" },
      { type: "TXT", name, ttl: 5, class: "IN", data: ["x", "y"] },
      { type: "MX", name, ttl: 5, class: "IN", data: { preference: 1, exchange: "." } },
      {
        type: "SOA",
        name,
        ttl: 5,
        class: "IN",
        data: {
          mname: "a",
          rname: "b",
          serial: 1,
          refresh: 1,
          retry: 1,
          expire: 1,
          minimum: 1,
        },
      },
    ],
  }).subarray(12);

Deno.test("fuzz: any bytes are no reply, or a reply with an outcome; nothing throws", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1500 }), fc.constantFrom(...TYPES), (bytes, type) => {
      const reply = matchReply(bytes, (bytes[0] ?? 0) << 8 | (bytes[1] ?? 0), {
        name: "x.test",
        type,
      });
      if (reply) interpret(reply, "x.test", type, 8);
    }),
    { numRuns: 2000 },
  );
  const records = recordBytes("x.test");
  fc.assert(
    fc.property(replyArb, fc.nat(records.length), fc.boolean(), (r, cut, mangle) => {
      const tail = mangle
        ? new Uint8Array([...records.subarray(0, cut), ...r.tail])
        : new Uint8Array(r.tail);
      const bytes = replyWith(7, "x.test", r.type, r.flags, r.counts, tail);
      const reply = matchReply(bytes, 7, { name: "x.test", type: r.type });
      if (reply === undefined) return;
      const outcome = interpret(reply, "x.test", r.type, 8);
      assert.ok(["records", "follow", "failure"].includes(outcome.kind));
      if (outcome.kind === "records") assert.ok(outcome.records.length <= 100);
    }),
    { numRuns: 3000 },
  );
});

Deno.test("fuzz: a server sending anything gives records or a DnsLookupError", async () => {
  let current: { flags: number; counts: [number, number, number]; tail: Uint8Array } = {
    flags: 0,
    counts: [0, 0, 0],
    tail: new Uint8Array(),
  };
  const records = recordBytes("x.test");
  const raw = await startRawDnsServer((query, transport) => {
    const q = packet.decode(Buffer.from(query));
    const question = q.questions![0]!;
    const fuzzed = replyWith(
      q.id!,
      question.name,
      question.type as QueryType,
      current.flags | 0x8000,
      current.counts,
      new Uint8Array([...records, ...current.tail]),
    );
    // Then a well-formed NXDOMAIN: if the fuzzed reply is ignored, the lookup still ends.
    const nx = packet.encode({
      type: "response",
      id: q.id!,
      flags: 3,
      questions: [question],
    });
    return transport === "udp" ? [fuzzed, nx] : [nx];
  });
  try {
    await fc.assert(
      fc.asyncProperty(replyArb, async (r) => {
        current = { flags: r.flags & ~0x8000, counts: r.counts, tail: r.tail };
        // Its own resolver each time: nothing cached from the run before.
        const resolver = createResolver({ server: { host: "127.0.0.1", port: raw.port } });
        const lookup = resolver.nodeStyle("x.test", r.type);
        try {
          const answer = await bounded(lookup, "the lookup", 10_000);
          assert.ok(Array.isArray(answer));
        } catch (err) {
          assert.ok(err instanceof DnsLookupError, `${err}`);
        }
      }),
      { numRuns: 150 },
    );
  } finally {
    await raw.close();
  }
});
