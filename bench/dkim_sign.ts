/**
 * What DKIM signing costs submission: four `mail serve` on scratch data directories, alike but
 * for their keys (none; RSA 2048; Ed25519; both), take authenticated submissions over loopback
 * in interleaved rounds (the order rotates each round, so drift in the machine's load falls on
 * all alike), in two workloads: a login per message, as mail programs submit (connect, EHLO,
 * AUTH, one message, QUIT), and many messages after one login, as a bulk sender does. Prints
 * each round's messages per second, the median ratio of signed to unsigned throughput (the
 * issue's target: signing costs at most 15%), each server's CPU time per message (which the
 * machine's other load does not change), then the signer's own time per message in process.
 * Figures and method: docs/performance.md.
 *
 *     deno run -A bench/dkim_sign.ts [--messages 1000] [--login-messages 48] [--sessions 8]
 *       [--size-kb 4] [--rounds 5]
 *
 * @module
 */
import { mail } from "../tests/_helpers/mail_process.ts";
import { generateKey, loadKeys } from "../src/dkim/keys.ts";
import { dkimSignatures } from "../src/dkim/sign.ts";
import { Replies, write } from "./_smtp_wire.ts";
import { spawnServe } from "./_serve.ts";
import { numberFlag } from "./_flags.ts";

const MESSAGES = numberFlag("--messages", 1000);
const LOGIN_MESSAGES = numberFlag("--login-messages", 48);
const SESSIONS = numberFlag("--sessions", 8);
const SIZE_KB = numberFlag("--size-kb", 4);
const ROUNDS = numberFlag("--rounds", 5);
const USER = "bench@example.test";
const PASSWORD = "bench-password";

const enc = new TextEncoder();
const message = "From: Bench <bench@example.test>\r\nTo: rcpt@example.test\r\nSubject: bench\r\n" +
  "Date: Thu, 03 Dec 2026 10:00:00 +0000\r\nMessage-ID: <bench@example.test>\r\n\r\n" +
  "x".repeat(76).concat("\r\n").repeat(Math.ceil((SIZE_KB * 1024) / 78));
const data = enc.encode(message + ".\r\n");

/** COUNT messages, each in a session of its own with a login: how mail programs submit. */
async function loginEach(port: number, count: number) {
  for (let m = 0; m < count; m++) await session(port, 1);
}

/** One authenticated session submitting COUNT messages, one transaction each. */
async function session(port: number, count: number) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const r = new Replies(conn);
  await r.take(1);
  await write(conn, "EHLO bench.example.test\r\n");
  await r.take(1);
  await write(conn, `AUTH PLAIN ${btoa(`\0${USER}\0${PASSWORD}`)}\r\n`);
  const auth = await r.take(1);
  if (!auth.startsWith("235")) throw new Error(`AUTH: ${auth}`);
  for (let m = 0; m < count; m++) {
    await write(conn, `MAIL FROM:<${USER}>\r\nRCPT TO:<${USER}>\r\nDATA\r\n`);
    const reply = await r.take(3);
    if (!reply.startsWith("354")) throw new Error(`DATA: ${reply}`);
    await write(conn, data);
    const done = await r.take(1);
    if (!done.startsWith("250")) throw new Error(`end of data: ${done}`);
  }
  await write(conn, "QUIT\r\n");
  await r.take(1);
  conn.close();
}

async function startServer(dir: string) {
  const { child, port } = await spawnServe([
    "--data",
    dir,
    "--smtp",
    "off",
    "--submission",
    "127.0.0.1:0",
    "--imap",
    "off",
    "--pop3",
    "off",
    "--no-tls",
    "--allow-insecure-auth",
    "--domain",
    "example.test",
    "--hostname",
    "mx.example.test",
  ], "submission");
  return { child, port: port("submission") };
}

interface Server {
  readonly name: string;
  readonly dir: string;
  readonly child: Deno.ChildProcess;
  readonly port: number;
  /** Messages per second, per workload, per round. */
  readonly rates: Record<string, number[]>;
  /** CPU time of the server (user + system, all threads) per message, ms, per workload and round. */
  readonly cpu: Record<string, number[]>;
}

/** The workloads: how each session submits, and how many messages a round has. */
const WORKLOADS = [
  { name: "login per message", run: loginEach, messages: LOGIN_MESSAGES },
  { name: "one login, many messages", run: session, messages: MESSAGES },
] as const;

/** User + system CPU time of process PID (all its threads), in milliseconds. */
function cpuMs(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of proc(5), in clock ticks (100 per second).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const configs: [string, ("rsa" | "ed25519")[]][] = [
  ["unsigned", []],
  ["rsa", ["rsa"]],
  ["ed25519", ["ed25519"]],
  ["rsa+ed25519", ["rsa", "ed25519"]],
];
const servers: Server[] = [];
try {
  for (const [name, algorithms] of configs) {
    const dir = await Deno.makeTempDir({ prefix: "mail-bench-dkim-" });
    const added = await mail(["user", "add", USER, "--data", dir], { stdin: `${PASSWORD}\n` });
    if (added.code !== 0) throw new Error(`mail user add: ${added.err}`);
    for (const a of algorithms) await generateKey(dir, "example.test", a, a);
    const { child, port } = await startServer(dir);
    servers.push({ name, dir, child, port, rates: {}, cpu: {} });
  }
  // A first, unmeasured pass warms each server up (JIT, the first key load).
  for (const s of servers) await Promise.all([session(s.port, 20)]);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (const w of WORKLOADS) {
    const per = Math.ceil(w.messages / SESSIONS);
    console.log(
      `DKIM signing on submission, ${w.name}: ${per * SESSIONS} messages x ${SIZE_KB} KiB, ` +
        `${SESSIONS} sessions at once, ${ROUNDS} interleaved rounds (msgs/s)`,
    );
    for (const s of servers) {
      s.rates[w.name] = [];
      s.cpu[w.name] = [];
    }
    for (let round = 0; round < ROUNDS; round++) {
      const order = servers.map((_, i) => servers[(i + round) % servers.length]!);
      for (const s of order) {
        const t0 = performance.now();
        const c0 = cpuMs(s.child.pid);
        await Promise.all(Array.from({ length: SESSIONS }, () => w.run(s.port, per)));
        s.rates[w.name]!.push((per * SESSIONS) / ((performance.now() - t0) / 1000));
        s.cpu[w.name]!.push((cpuMs(s.child.pid) - c0) / (per * SESSIONS));
      }
      console.log(
        `  round ${round + 1}: ` +
          servers.map((s) => `${s.name} ${s.rates[w.name]!.at(-1)!.toFixed(0)}`).join(", "),
      );
    }
    const base = servers[0]!.rates[w.name]!;
    for (const s of servers.slice(1)) {
      const rates = s.rates[w.name]!;
      const ratios = rates.map((r, i) => r / base[i]!);
      console.log(
        `  ${s.name}: median ${median(rates).toFixed(0)} msgs/s against ${
          median(base).toFixed(0)
        } unsigned; signed/unsigned per round ${
          ratios.map((r) => r.toFixed(2)).join(" ")
        }, median ${median(ratios).toFixed(2)} (cost ${((1 - median(ratios)) * 100).toFixed(0)}%)`,
      );
    }
    // CPU per message: what the machine's other load does not change.
    console.log(
      "  server CPU per message (median): " +
        servers.map((s) => `${s.name} ${median(s.cpu[w.name]!).toFixed(2)} ms`).join(", "),
    );
  }
  // The signer alone, in this process: time per message of SIZE_KB.
  const keys = loadKeys(servers[3]!.dir).keys;
  const bytes = enc.encode(message);
  for (
    const set of [
      keys.filter((k) => k.algorithm === "rsa"),
      keys.filter((k) => k.algorithm === "ed25519"),
    ]
  ) {
    const n = 500;
    for (let i = 0; i < 50; i++) dkimSignatures(bytes, set, new Date());
    const t0 = performance.now();
    for (let i = 0; i < n; i++) dkimSignatures(bytes, set, new Date());
    console.log(
      `signer in process, ${set[0]!.algorithm}: ${
        ((performance.now() - t0) / n * 1000).toFixed(0)
      } µs per ${SIZE_KB} KiB message`,
    );
  }
} finally {
  for (const s of servers) {
    s.child.kill("SIGTERM");
    await s.child.status;
    await Deno.remove(s.dir, { recursive: true });
  }
}
