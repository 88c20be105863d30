/**
 * The cost of the checks of received mail (SPF, DKIM, ARC, DMARC): `mail serve`'s MX listener
 * with `--auth-checks on` against `off`, in the same run, interleaved rounds, every lookup
 * answered by a DNS responder on loopback (`--dns`) whose answers the server caches (a warm
 * cache after the first round). Messages carry a DKIM signature (RSA 2048) of a domain with
 * SPF and DMARC records, so every check has work to do. Also the servers' RSS: idle before the
 * first message (mailauth not loaded yet), after it, and peak after the load. A third server
 * checks with a DNS server that never answers (a machine offline), in the same rounds.
 *
 *     deno run -A bench/auth_checks.ts [--messages 1000] [--sessions 10] [--rounds 5]
 *
 * @module
 */
import { startDnsServer, startRawDnsServer } from "../tests/_helpers/dns_server.ts";
import { message, rsaKey, signWithMailauth } from "../tests/checks/_fixtures.ts";
import { Replies, write } from "./_smtp_wire.ts";
import { spawnServe } from "./_serve.ts";
import { numberFlag } from "./_flags.ts";

const MESSAGES = numberFlag("--messages", 1000);
const SESSIONS = numberFlag("--sessions", 10);
const ROUNDS = numberFlag("--rounds", 5);

const enc = new TextEncoder();
const KEY = rsaKey();
const DNS = await startDnsServer({
  "sender.example": { txt: ["v=spf1 ip4:127.0.0.1 -all"] },
  "sel._domainkey.sender.example": { txt: [KEY.record] },
  "_dmarc.sender.example": { txt: ["v=DMARC1; p=reject"] },
  "client.example": { txt: ["v=spf1 ip4:127.0.0.1 -all"] },
}, { ttl: 3600 });
// A DNS server that never answers.
const DEAD = await startRawDnsServer(() => undefined);
const body = "x".repeat(76).concat("\r\n").repeat(50);
const signed = await signWithMailauth(
  message("ann@sender.example", "", body),
  "sender.example",
  "sel",
  KEY.privateKey,
);
const DATA = enc.encode(signed.replace(/^\./gm, "..") + ".\r\n");

/** COUNT messages, a connection each (as most senders do). */
async function session(port: number, count: number) {
  for (let m = 0; m < count; m++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const r = new Replies(conn);
    await r.take(1);
    await write(conn, "EHLO client.example\r\n");
    await r.take(1);
    await write(conn, "MAIL FROM:<ann@sender.example>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n");
    const reply = await r.take(3);
    if (!reply.startsWith("354")) throw new Error(`DATA: ${reply}`);
    await write(conn, DATA);
    const done = await r.take(1);
    if (!done.startsWith("250")) throw new Error(`End of data: ${done}`);
    await write(conn, "QUIT\r\n");
    await r.take(1);
    conn.close();
  }
}

function rssMiB(pid: number, field: "VmRSS" | "VmHWM"): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
}

interface Server {
  readonly name: string;
  readonly child: Deno.ChildProcess;
  readonly port: number;
  readonly dir: string;
}

type Name = "off" | "on" | "dead-dns";
const NAMES: readonly Name[] = ["off", "on", "dead-dns"];

async function start(name: Name, checks: boolean, dns = DNS.address): Promise<Server> {
  const dir = await Deno.makeTempDir({ prefix: "mail-bench-checks-" });
  const { child, port } = await spawnServe([
    "--data",
    dir,
    "--smtp",
    "127.0.0.1:0",
    "--submission",
    "off",
    "--imap",
    "off",
    "--pop3",
    "off",
    "--domain",
    "example.test",
    "--catch-all",
    "--hostname",
    "mx.bench",
    "--dns",
    dns,
    "--auth-checks",
    checks ? "on" : "off",
    "--max-connections-per-ip",
    "5000",
  ]);
  return { name, child, port: port("smtp"), dir };
}

/** The processor time the server has used so far, in milliseconds (user + system). */
function cpuMs(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1]!.split(" ");
  // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 a second here).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const cpu: Record<Name, number[]> = { off: [], on: [], "dead-dns": [] };

async function rate(s: Server, messages: number): Promise<number> {
  const per = Math.ceil(messages / SESSIONS);
  const c0 = cpuMs(s.child.pid);
  const t0 = performance.now();
  await Promise.all(Array.from({ length: SESSIONS }, () => session(s.port, per)));
  const secs = (performance.now() - t0) / 1000;
  cpu[s.name as Name].push((cpuMs(s.child.pid) - c0) / (per * SESSIONS));
  return (per * SESSIONS) / secs;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const servers = [
  await start("off", false),
  await start("on", true),
  await start("dead-dns", true, DEAD.address),
];
const each = (f: (s: Server) => number) =>
  Object.fromEntries(servers.map((s) => [s.name, f(s)])) as Record<Name, number>;
try {
  // Let them settle before their idle figures.
  await new Promise((r) => setTimeout(r, 1000));
  const idle = each((s) => rssMiB(s.child.pid, "VmRSS"));
  const firstMs: Partial<Record<Name, number>> = {};
  for (const s of servers) {
    const t0 = performance.now();
    await session(s.port, 1);
    firstMs[s.name as Name] = performance.now() - t0;
  }
  const first = each((s) => rssMiB(s.child.pid, "VmRSS"));
  // Warm-up: JIT, and the DNS cache of the server with checks.
  for (const s of servers) await rate(s, MESSAGES / 4);
  const rates: Record<Name, number[]> = { off: [], on: [], "dead-dns": [] };
  for (const name of NAMES) cpu[name] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Interleaved, the order turning, so that drift hits all alike.
    for (let k = 0; k < servers.length; k++) {
      const s = servers[(round + k) % servers.length]!;
      rates[s.name as Name].push(await rate(s, MESSAGES));
    }
  }
  const peak = each((s) => rssMiB(s.child.pid, "VmHWM"));
  console.log(
    `checks: ${MESSAGES} DKIM-signed messages x ${ROUNDS} rounds, ${SESSIONS} sessions, ` +
      `a connection per message, DNS from a warm cache`,
  );
  console.log("auth-checks  msgs/s (median, each round)         server CPU ms/msg (median)");
  for (const name of NAMES) {
    console.log(
      `${name.padEnd(11)}  ${median(rates[name]).toFixed(0).padStart(6)}  (${
        rates[name].map((r) => r.toFixed(0)).join(" ")
      })    ${median(cpu[name]).toFixed(2)}`,
    );
  }
  for (const name of ["on", "dead-dns"] as const) {
    const ratios = rates[name].map((r, i) => r / rates.off[i]!);
    console.log(
      `${name}/off: ${median(ratios).toFixed(2)} (median of the rounds' ratios; ` +
        `${((1 - median(ratios)) * 100).toFixed(0)}% slower)`,
    );
  }
  console.log("RSS MiB      idle   after 1st msg   peak    1st message ms");
  for (const name of NAMES) {
    console.log(
      `${name.padEnd(11)} ${idle[name].toFixed(1).padStart(5)}   ${
        first[name].toFixed(1).padStart(13)
      }   ${peak[name].toFixed(1).padStart(5)}   ${firstMs[name]!.toFixed(0).padStart(6)}`,
    );
  }
} finally {
  for (const s of servers) {
    s.child.kill("SIGTERM");
    await s.child.status;
    await Deno.remove(s.dir, { recursive: true });
  }
  await DNS.close();
  await DEAD.close();
}
