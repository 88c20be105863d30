import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import dgram from "node:dgram";
// @ts-types="@types/dns-packet"
import * as packet from "dns-packet";
import { createResolver, DnsLookupError, type DnsResolver } from "../../src/dns/mod.ts";
import { type DnsTable, startDnsServer, startRawDnsServer } from "../_helpers/dns_server.ts";
import { bounded, ManualClientClock } from "../client/_clock.ts";
import { until } from "../_helpers/clock.ts";

const local = (port: number) => ({ host: "127.0.0.1", port });

/** Asserts that LOOKUP rejects with a DnsLookupError of KIND (and node:dns CODE). */
async function rejectsWith(lookup: Promise<unknown>, kind: string, code?: string) {
  await assert.rejects(lookup, (e) => {
    assert.ok(e instanceof DnsLookupError, `not a DnsLookupError: ${e}`);
    assert.equal(e.kind, kind, e.message);
    if (code !== undefined) assert.equal(e.code, code);
    assert.equal(e.temporary, kind !== "nxdomain" && kind !== "nodata");
    return true;
  });
}

/** A responder for TABLE and a resolver of its own asking it, on CLOCK when given. */
async function withDns(
  table: DnsTable,
  test: (r: DnsResolver, dns: Awaited<ReturnType<typeof startDnsServer>>) => Promise<void>,
  options: {
    clock?: ManualClientClock;
    ttl?: number;
    negativeTtl?: number;
    tcpOctetAtATime?: boolean;
  } = {},
) {
  const dns = await startDnsServer(table, options);
  try {
    const resolver = createResolver({
      server: local(dns.port),
      timeoutMs: 1000,
      ...(options.clock ? { clock: options.clock } : {}),
    });
    await bounded(test(resolver, dns), "the test");
  } finally {
    await dns.close();
  }
}

Deno.test("records of each type, TXT as its character-strings", async () => {
  await withDns({
    "example.test": {
      a: ["192.0.2.1", "192.0.2.2"],
      aaaa: ["2001:db8::1"],
      mx: [[10, "mx.example.test"], [20, "backup.example.test."]],
      // 300 octets: two character-strings, as a long DKIM key is published.
      txt: ["v=spf1 -all", "k".repeat(300)],
    },
    "2.0.192.in-addr.arpa": { ptr: "host.example.test" },
    "null.test": { mx: [[0, "."]] },
  }, async (r) => {
    assert.deepEqual(await r.a("example.test"), ["192.0.2.1", "192.0.2.2"]);
    assert.deepEqual(await r.aaaa("Example.TEST."), ["2001:db8::1"]);
    assert.deepEqual(await r.mx("example.test"), [
      { preference: 10, exchange: "mx.example.test" },
      { preference: 20, exchange: "backup.example.test" },
    ]);
    assert.deepEqual(await r.txt("example.test"), [
      ["v=spf1 -all"],
      ["k".repeat(255), "k".repeat(45)],
    ]);
    assert.deepEqual(await r.ptr("2.0.192.in-addr.arpa"), ["host.example.test"]);
    assert.deepEqual(await r.mx("null.test"), [{ preference: 0, exchange: "." }]);
  });
});

Deno.test("SERVFAIL, NXDOMAIN, NODATA and REFUSED are told apart", async () => {
  await withDns({
    "broken.test": { servfail: true },
    "refusing.test": { refused: true },
    "exists.test": { a: ["192.0.2.1"] },
  }, async (r, dns) => {
    await rejectsWith(r.txt("broken.test"), "servfail", "ESERVFAIL");
    await rejectsWith(r.txt("missing.test"), "nxdomain", "ENOTFOUND");
    await rejectsWith(r.txt("exists.test"), "nodata", "ENODATA");
    await rejectsWith(r.txt("refusing.test"), "refused", "EREFUSED");
    // One server: its SERVFAIL or REFUSED is not asked again.
    assert.equal(dns.questions.filter((q) => q === "TXT broken.test").length, 1);
    assert.equal(dns.questions.filter((q) => q === "TXT refusing.test").length, 1);
  });
});

Deno.test("no answer: two attempts, of 1 s then 2 s, then a timeout", async () => {
  const clock = new ManualClientClock();
  await withDns({ "silent.test": { timeout: true } }, async (r, dns) => {
    const lookup = r.a("silent.test");
    lookup.catch(() => {});
    for (let attempt = 1; attempt <= 2; attempt++) {
      await clock.watch.until(() => clock.pending.length === 1, `attempt ${attempt}`);
      await until(() => dns.questions.length === attempt, `question ${attempt}`);
      // 1 s, then 2 s.
      const wait = 1000 * attempt;
      assert.deepEqual(clock.pending, [clock.now() + wait]);
      clock.advance(wait);
    }
    await rejectsWith(lookup, "timeout", "ETIMEOUT");
    assert.deepEqual(dns.questions, ["A silent.test", "A silent.test"]);
  }, { clock });
});

Deno.test("failures are remembered for 30 seconds, answers for their TTL", async () => {
  const clock = new ManualClientClock();
  const table: DnsTable = {
    "broken.test": { servfail: true },
    "short.test": { a: ["192.0.2.1"], ttl: 60 },
  };
  await withDns(table, async (r, dns) => {
    await rejectsWith(r.a("broken.test"), "servfail");
    await rejectsWith(r.a("broken.test"), "servfail");
    assert.equal(dns.questions.length, 1, "the failure came from the cache");
    table["broken.test"] = { a: ["192.0.2.9"] };
    clock.advance(29_999);
    await rejectsWith(r.a("broken.test"), "servfail");
    clock.advance(1);
    assert.deepEqual(await r.a("broken.test"), ["192.0.2.9"]);
    assert.equal(dns.questions.length, 2);

    assert.deepEqual(await r.a("short.test"), ["192.0.2.1"]);
    table["short.test"] = { a: ["192.0.2.2"], ttl: 60 };
    clock.advance(59_999);
    assert.deepEqual(await r.a("short.test"), ["192.0.2.1"], "within its TTL");
    clock.advance(1);
    assert.deepEqual(await r.a("short.test"), ["192.0.2.2"], "after its TTL");
    assert.equal(dns.questions.length, 4);
  }, { clock });
});

Deno.test("NXDOMAIN and NODATA are remembered for the SOA minimum (RFC 2308), capped", async () => {
  const clock = new ManualClientClock();
  const table: DnsTable = { "nodata.test": { ttl: 30 } };
  await withDns(table, async (r, dns) => {
    await rejectsWith(r.a("gone.test"), "nxdomain");
    await rejectsWith(r.a("nodata.test"), "nodata");
    table["gone.test"] = { a: ["192.0.2.1"] };
    table["nodata.test"] = { a: ["192.0.2.2"] };
    clock.advance(29_999);
    await rejectsWith(r.a("nodata.test"), "nodata");
    clock.advance(1);
    assert.deepEqual(await r.a("nodata.test"), ["192.0.2.2"]);
    // NXDOMAIN's SOA minimum is a day here, held at most an hour.
    clock.advance(3_600_000 - 30_000 - 1);
    await rejectsWith(r.a("gone.test"), "nxdomain");
    clock.advance(1);
    assert.deepEqual(await r.a("gone.test"), ["192.0.2.1"]);
    assert.equal(dns.questions.length, 4);
  }, { clock, negativeTtl: 86_400 });
});

Deno.test("a TTL of 0 is not cached; identical lookups in flight share one query", async () => {
  await withDns({ "zero.test": { a: ["192.0.2.1"], ttl: 0 } }, async (r, dns) => {
    const answers = await Promise.all(Array.from({ length: 5 }, () => r.a("zero.test")));
    assert.deepEqual(answers, Array(5).fill(["192.0.2.1"]));
    assert.equal(dns.questions.length, 1, "five lookups, one query");
    await r.a("zero.test");
    assert.equal(dns.questions.length, 2, "TTL 0: asked again");
    // Each caller gets its own copy: changing one does not change the cache.
    const mine = await r.a("zero.test");
    mine.push("x");
    assert.deepEqual(await r.a("zero.test"), ["192.0.2.1"]);
  });
});

Deno.test("a truncated UDP answer is asked again over TCP", async () => {
  const big = "v=DKIM1; k=rsa; p=" + "A".repeat(3000);
  await withDns({
    "tc.test": { truncate: true, a: ["192.0.2.7"] },
    "big.test": { txt: [big] },
  }, async (r, dns) => {
    assert.deepEqual(await r.a("tc.test"), ["192.0.2.7"]);
    // 3000 octets do not fit the 1232-octet EDNS0 buffer: the server truncates on its own.
    assert.equal((await r.txt("big.test"))[0]!.join(""), big);
    assert.deepEqual(dns.tcpQuestions, ["A tc.test", "TXT big.test"]);
  });
});

Deno.test("an answer over TCP that comes an octet at a time is read whole", async () => {
  // Its length prefix split too; the pieces are joined once, when the answer is whole.
  const big = "v=DKIM1; k=rsa; p=" + "B".repeat(20_000);
  await withDns({ "big.test": { txt: [big] } }, async (r, dns) => {
    assert.equal((await r.txt("big.test"))[0]!.join(""), big);
    assert.deepEqual(dns.tcpQuestions, ["TXT big.test"]);
  }, { tcpOctetAtATime: true });
});

Deno.test("CNAME chains are followed, loops and chains over 8 are failures", async () => {
  const table: DnsTable = {
    "alias.test": { cname: "middle.test" },
    "middle.test": { cname: "final.test" },
    "final.test": { a: ["192.0.2.3"], txt: ["hello"] },
    "dangling.test": { cname: "nowhere.test" },
    "loop-a.test": { cname: "loop-b.test" },
    "loop-b.test": { cname: "loop-a.test" },
  };
  for (let i = 0; i < 10; i++) table[`c${i}.test`] = { cname: `c${i + 1}.test` };
  table["c10.test"] = { a: ["192.0.2.10"] };
  await withDns(table, async (r) => {
    assert.deepEqual(await r.a("alias.test"), ["192.0.2.3"]);
    assert.deepEqual(await r.txt("alias.test"), [["hello"]]);
    assert.deepEqual(await r.nodeStyle("alias.test", "CNAME"), ["middle.test"]);
    await rejectsWith(r.a("dangling.test"), "nxdomain");
    await rejectsWith(r.a("loop-a.test"), "error");
    assert.deepEqual(await r.a("c3.test"), ["192.0.2.10"], "7 aliases");
    await rejectsWith(r.a("c0.test"), "error");
  });
});

/** A reply to QUERY (bytes) with ANSWERS, or with FIELDS changed. */
function replyTo(
  query: Uint8Array,
  answers: packet.Answer[],
  fields: Partial<packet.Packet> & { rcode?: number } = {},
): Uint8Array {
  const q = packet.decode(Buffer.from(query));
  return packet.encode({
    type: "response",
    id: q.id ?? 0,
    flags: packet.RECURSION_AVAILABLE | (fields.rcode ?? 0),
    questions: q.questions ?? [],
    answers,
    ...fields,
  });
}

const aRecord = (name: string, data: string): packet.Answer => ({
  type: "A",
  name,
  ttl: 60,
  class: "IN",
  data,
});

Deno.test("replies with another id or question are ignored; the query offers EDNS0 1232", async () => {
  const raw = await startRawDnsServer((query) => {
    const q = packet.decode(Buffer.from(query));
    const name = q.questions![0]!.name;
    return [
      replyTo(query, [aRecord(name, "203.0.113.66")], { id: (q.id! + 1) % 65536 }),
      replyTo(query, [aRecord("other.test", "203.0.113.67")], {
        questions: [{ type: "A", name: "other.test", class: "IN" }],
      }),
      replyTo(query, [aRecord(name, "203.0.113.68")], {
        questions: [{ type: "AAAA", name, class: "IN" }],
      }),
      replyTo(query, [aRecord(name, "192.0.2.1")]),
    ];
  });
  try {
    const r = createResolver({ server: local(raw.port), timeoutMs: 5000 });
    assert.deepEqual(await bounded(r.a("spoofed.test"), "the lookup"), ["192.0.2.1"]);
    await r.a("another.test");
    const queries = raw.queries.map((b) => packet.decode(Buffer.from(b)));
    const opt = queries[0]!.additionals?.find((a) => a.type === "OPT") as
      | { udpPayloadSize: number }
      | undefined;
    assert.equal(opt?.udpPayloadSize, 1232);
    assert.ok(queries[0]!.flag_rd, "recursion desired");
    assert.equal(queries.length, 2);
  } finally {
    await raw.close();
  }
});

Deno.test("an alias the reply leaves unresolved is asked about itself", async () => {
  const raw = await startRawDnsServer((query) => {
    const name = packet.decode(Buffer.from(query)).questions![0]!.name;
    if (name === "alias.test") {
      return [replyTo(query, [{ type: "CNAME", name, ttl: 60, class: "IN", data: "t.test" }])];
    }
    return [replyTo(query, [aRecord(name, "192.0.2.4")])];
  });
  try {
    const r = createResolver({ server: local(raw.port) });
    assert.deepEqual(await bounded(r.a("alias.test"), "the lookup"), ["192.0.2.4"]);
    assert.equal(raw.queries.length, 2);
  } finally {
    await raw.close();
  }
});

Deno.test("a dead first server costs one deadline; a SERVFAIL is asked of the next", async () => {
  const clock = new ManualClientClock();
  const dead = await startRawDnsServer(() => undefined);
  const failing = await startDnsServer({ "x.test": { servfail: true } });
  const good = await startDnsServer({ "x.test": { a: ["192.0.2.5"] } });
  try {
    const r = createResolver({ servers: [local(dead.port), local(good.port)], clock });
    const lookup = r.a("x.test");
    await clock.watch.until(() => clock.pending.length === 1, "the first attempt");
    await until(() => dead.queries.length === 1, "the dead server's query");
    clock.advance(1000);
    assert.deepEqual(await bounded(lookup, "the lookup"), ["192.0.2.5"]);
    assert.equal(dead.queries.length, 1);

    const r2 = createResolver({ servers: [local(failing.port), local(good.port)], clock });
    assert.deepEqual(await bounded(r2.a("x.test"), "the lookup"), ["192.0.2.5"]);
    assert.deepEqual(failing.questions, ["A x.test"]);
  } finally {
    await Promise.all([dead.close(), failing.close(), good.close()]);
  }
});

Deno.test("nodeStyle: node:dns/promises resolve() shapes and codes, for mailauth", async () => {
  await withDns({
    "example.test": {
      mx: [[10, "mx.example.test"]],
      txt: ["v=spf1 ip4:192.0.2.0/24 -all"],
      a: ["192.0.2.1"],
      aaaa: ["2001:db8::1"],
    },
    "null.test": { mx: [[0, "."]] },
    "broken.test": { servfail: true },
  }, async (r) => {
    assert.deepEqual(await r.nodeStyle("example.test", "MX"), [
      { priority: 10, exchange: "mx.example.test" },
    ]);
    assert.deepEqual(await r.nodeStyle("null.test", "MX"), [{ priority: 0, exchange: "" }]);
    assert.deepEqual(await r.nodeStyle("example.test", "TXT"), [["v=spf1 ip4:192.0.2.0/24 -all"]]);
    assert.deepEqual(await r.nodeStyle("example.test", "A"), ["192.0.2.1"]);
    assert.deepEqual(await r.nodeStyle("example.test", "AAAA"), ["2001:db8::1"]);
    await rejectsWith(r.nodeStyle("missing.test", "TXT"), "nxdomain", "ENOTFOUND");
    await rejectsWith(r.nodeStyle("example.test", "PTR"), "nodata", "ENODATA");
    await rejectsWith(r.nodeStyle("broken.test", "A"), "servfail", "ESERVFAIL");
    await rejectsWith(r.nodeStyle("example.test", "SRV"), "error", "ENOTIMP");
    // A name that cannot exist: node:dns's EBADNAME, never asked.
    await rejectsWith(r.nodeStyle(`${"a".repeat(64)}.test`, "TXT"), "nxdomain", "EBADNAME");
    await rejectsWith(r.a("a..test"), "nxdomain", "EBADNAME");
    // Each rejection is a new error: mailauth writes its verdict on the errors it is given.
    const errors = await Promise.all(
      [1, 2].map(() => r.nodeStyle("broken.test", "A").catch((e) => e)),
    );
    assert.notEqual(errors[0], errors[1]);
  });
});

Deno.test("mailauth's SPF tells a DNS failure from a missing record through nodeStyle", async () => {
  const { spf } = await import("mailauth");
  await withDns({
    "pass.test": { txt: ["v=spf1 ip4:192.0.2.1 -all"] },
    "broken.test": { servfail: true },
    "nospf.test": { a: ["192.0.2.1"] },
  }, async (r) => {
    const check = async (domain: string) =>
      (await spf({
        sender: `a@${domain}`,
        ip: "192.0.2.1",
        helo: "client.test",
        mta: "mx.test",
        resolver: r.nodeStyle as never,
      })).status.result;
    assert.equal(await check("pass.test"), "pass");
    assert.equal(await check("broken.test"), "temperror");
    assert.equal(await check("nospf.test"), "none");
    assert.equal(await check("missing.test"), "none");
  });
});

Deno.test("a FORMERR to the EDNS0 query is asked again without EDNS0 (RFC 6891 §7)", async () => {
  const raw = await startRawDnsServer((query) => {
    const q = packet.decode(Buffer.from(query));
    const name = q.questions![0]!.name;
    const edns = (q.additionals ?? []).some((a) => a.type === "OPT");
    return [edns ? replyTo(query, [], { rcode: 1 }) : replyTo(query, [aRecord(name, "192.0.2.8")])];
  });
  try {
    const r = createResolver({ server: local(raw.port) });
    assert.deepEqual(await bounded(r.a("old.test"), "the lookup"), ["192.0.2.8"]);
    assert.equal(raw.queries.length, 2);
  } finally {
    await raw.close();
  }
});

Deno.test("a reply from another port than the server's is ignored", async () => {
  const forger = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => forger.bind(0, "127.0.0.1", () => resolve()));
  const raw = await startRawDnsServer(async (query, _transport, from) => {
    const name = packet.decode(Buffer.from(query)).questions![0]!.name;
    // The forged reply is on its way before the server's own is sent.
    await new Promise<void>((resolve, reject) =>
      forger.send(
        replyTo(query, [aRecord(name, "203.0.113.66")]),
        from.port,
        from.address,
        (err) => err ? reject(err) : resolve(),
      )
    );
    return [replyTo(query, [aRecord(name, "192.0.2.1")])];
  });
  try {
    const r = createResolver({ server: local(raw.port) });
    assert.deepEqual(await bounded(r.a("x.test"), "the lookup"), ["192.0.2.1"]);
  } finally {
    await raw.close();
    await new Promise<void>((resolve) => forger.close(() => resolve()));
  }
});

Deno.test("an answer larger than the cache's size bound is not kept", async () => {
  const big = "x".repeat(5000);
  await withDns({ "big.test": { txt: [big] }, "small.test": { txt: ["y"] } }, async (_r, dns) => {
    const r = createResolver({ server: local(dns.port), maxCacheSize: 4096 });
    for (let i = 0; i < 2; i++) {
      assert.equal((await r.txt("big.test"))[0]!.join(""), big);
      assert.deepEqual(await r.txt("small.test"), [["y"]]);
    }
    // The big answer comes over TCP, each time; the small one from the cache the second time.
    assert.deepEqual(dns.tcpQuestions, ["TXT big.test", "TXT big.test"]);
    assert.equal(dns.questions.filter((q) => q === "TXT small.test").length, 1);
  });
});

/**
 * UDP responders on 127.0.0.N for each N of OCTETS, all on one port, since resolv.conf names
 * servers without ports: the one at 127.0.0.N answers every A question with 192.0.2.N.
 */
async function startLoopbackResponders(octets: readonly number[]) {
  const bind = (host: string, port: number) => {
    const socket = dgram.createSocket("udp4");
    return new Promise<dgram.Socket | undefined>((resolve) => {
      socket.once("error", () => resolve(undefined));
      socket.bind(port, host, () => resolve(socket));
    });
  };
  const closeAll = (sockets: dgram.Socket[]) =>
    Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  for (let attempt = 0; attempt < 50; attempt++) {
    const sockets: dgram.Socket[] = [];
    let port = 0;
    for (const n of octets) {
      const socket = await bind(`127.0.0.${n}`, port);
      if (socket === undefined) break;
      sockets.push(socket);
      port = socket.address().port;
    }
    if (sockets.length < octets.length) {
      await closeAll(sockets);
      continue;
    }
    const asked: string[] = [];
    sockets.forEach((socket, i) => {
      socket.on("message", (msg, from) => {
        const name = packet.decode(msg).questions![0]!.name;
        asked.push(`${name} ${socket.address().address}`);
        socket.send(replyTo(msg, [aRecord(name, `192.0.2.${octets[i]}`)]), from.port, from.address);
      });
    });
    return { port, asked, close: () => closeAll(sockets) };
  }
  throw new Error("Cannot find one UDP port free on every responder's address");
}

/** Replaces PATH with a file holding TEXT, as resolvconf and NetworkManager do (a rename). */
async function replaceFile(path: string, text: string) {
  await Deno.writeTextFile(`${path}.new`, text);
  await Deno.rename(`${path}.new`, path);
}

/** Three responders (127.0.0.1, .2, .3), a resolv.conf naming 127.0.0.2, and a resolver reading it. */
async function withResolvConf(
  test: (r: DnsResolver, path: string, clock: ManualClientClock) => Promise<void>,
) {
  const responders = await startLoopbackResponders([1, 2, 3]);
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/resolv.conf`;
    await Deno.writeTextFile(path, "nameserver 127.0.0.2\n");
    const clock = new ManualClientClock();
    const r = createResolver({ resolvConf: path, resolvConfPort: responders.port, clock });
    await bounded(test(r, path, clock), "the test");
  } finally {
    await Deno.remove(dir, { recursive: true });
    await responders.close();
  }
}

Deno.test("resolv.conf: a changed file is read again once 5 s have passed", async () => {
  await withResolvConf(async (r, path, clock) => {
    assert.deepEqual(await r.a("one.test"), ["192.0.2.2"]);
    await replaceFile(path, "# the new network's\nnameserver 127.0.0.3\n");
    clock.advance(5000);
    assert.deepEqual(await r.a("two.test"), ["192.0.2.3"], "the new server answers");
    assert.deepEqual(await r.a("one.test"), ["192.0.2.2"], "the cache is kept");
    // Rewritten in place (same inode), as an editor or `>` does.
    await Deno.writeTextFile(path, "nameserver 127.0.0.2\n# a longer file\n");
    clock.advance(5000);
    assert.deepEqual(await r.a("three.test"), ["192.0.2.2"]);
  });
});

Deno.test("resolv.conf: a change is not noticed within 5 s of the last check", async () => {
  await withResolvConf(async (r, path, clock) => {
    assert.deepEqual(await r.a("one.test"), ["192.0.2.2"]);
    await replaceFile(path, "nameserver 127.0.0.3\n");
    clock.advance(4999);
    assert.deepEqual(await r.a("two.test"), ["192.0.2.2"], "within 5 s: the old server");
    clock.advance(1);
    assert.deepEqual(await r.a("three.test"), ["192.0.2.3"], "after 5 s: the new one");
  });
});

Deno.test("resolv.conf: an unreadable file keeps the servers last read; a removed one is 127.0.0.1", async () => {
  await withResolvConf(async (r, path, clock) => {
    assert.deepEqual(await r.a("one.test"), ["192.0.2.2"]);
    // A directory in its place: stat works, reading fails (even as root).
    await Deno.remove(path);
    await Deno.mkdir(path);
    clock.advance(5000);
    assert.deepEqual(await r.a("two.test"), ["192.0.2.2"], "unreadable: the last servers");
    await Deno.remove(path);
    clock.advance(5000);
    assert.deepEqual(await r.a("three.test"), ["192.0.2.1"], "no file: resolv.conf(5)'s default");
    await Deno.writeTextFile(path, "nameserver 127.0.0.3\n");
    clock.advance(5000);
    assert.deepEqual(await r.a("four.test"), ["192.0.2.3"], "a new file is read");
  });
});

Deno.test("resolv.conf: --dns never reads it", async () => {
  const responders = await startLoopbackResponders([2]);
  try {
    const clock = new ManualClientClock();
    const r = createResolver({
      server: { host: "127.0.0.2", port: responders.port },
      resolvConf: "/nonexistent/resolv.conf",
      resolvConfPort: 9,
      clock,
    });
    assert.deepEqual(await bounded(r.a("one.test"), "the lookup"), ["192.0.2.2"]);
    clock.advance(5000);
    assert.deepEqual(await bounded(r.a("two.test"), "the lookup"), ["192.0.2.2"]);
  } finally {
    await responders.close();
  }
});
