/**
 * Load benchmark of `mail serve`: starts the real entrypoint (with the binary's permissions) on
 * a scratch data directory, drives it with a small SMTP load generator over loopback, and prints
 * messages per second and the server's peak RSS for the scenarios of the performance issue.
 * Figures are comparable run to run on one machine; claims against Postfix come from
 * bench/compare_postfix.py, which runs both side by side and reports ratios (docs/performance.md).
 *
 *     deno run -A bench/load.ts [--messages 2000] [--size-kb 4] [--idle 1000] [--big-mib 24]
 *
 * @module
 */
import { Replies, write } from "./_smtp_wire.ts";
import { spawnServe } from "./_serve.ts";
import { numberFlag } from "./_flags.ts";

const MESSAGES = numberFlag("--messages", 2000);
const SIZE_KB = numberFlag("--size-kb", 4);
const IDLE = numberFlag("--idle", 1000);
const BIG_MIB = numberFlag("--big-mib", 24);

const enc = new TextEncoder();
const body = enc.encode(
  "From: bench@example.test\r\nTo: rcpt@example.test\r\nSubject: bench\r\n\r\n" +
    "x".repeat(76).concat("\r\n").repeat(Math.ceil((SIZE_KB * 1024) / 78)) + ".\r\n",
);

/** One session: `count` messages over one connection (reuse) or one connection each. */
async function session(
  port: number,
  count: number,
  rcpts: number,
  reuse: boolean,
  seq: () => number,
  data: Uint8Array = body,
) {
  let conn: Deno.Conn | undefined;
  let r: Replies | undefined;
  for (let m = 0; m < count; m++) {
    if (!conn) {
      conn = await Deno.connect({ hostname: "127.0.0.1", port });
      r = new Replies(conn);
      await r.take(1);
      await write(conn, "EHLO bench.example.test\r\n");
      await r.take(1);
    }
    const n = seq();
    let envelope = "MAIL FROM:<bench@example.test>\r\n";
    for (let k = 0; k < rcpts; k++) envelope += `RCPT TO:<r${n}x${k}@example.test>\r\n`;
    // RFC 2920: MAIL, the RCPTs and DATA in one flight.
    await write(conn, envelope + "DATA\r\n");
    const reply = await r!.take(rcpts + 2);
    if (!reply.startsWith("354")) throw new Error(`DATA: ${reply}`);
    await write(conn, data);
    const done = await r!.take(1);
    if (!done.startsWith("250")) throw new Error(`end of data: ${done}`);
    if (!reuse || m === count - 1) {
      await write(conn, "QUIT\r\n");
      await r!.take(1);
      conn.close();
      conn = undefined;
    }
  }
}

function rssKiB(pid: number, field: "VmRSS" | "VmHWM"): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
}

async function startServer(dir: string) {
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
    "--max-connections-per-ip",
    "5000",
    "--max-connections",
    "5000",
  ]);
  return { child, port: port("smtp") };
}

interface Scenario {
  readonly name: string;
  readonly sessions: number;
  readonly rcpts: number;
  readonly reuse: boolean;
}

const SCENARIOS: Scenario[] = [
  { name: "s1", sessions: 1, rcpts: 1, reuse: false },
  { name: "s10", sessions: 10, rcpts: 1, reuse: false },
  { name: "s50", sessions: 50, rcpts: 1, reuse: false },
  { name: "s10-r10", sessions: 10, rcpts: 10, reuse: false },
  { name: "s10-reuse", sessions: 10, rcpts: 1, reuse: true },
];

/** Runs FN against a fresh server on a scratch data directory, stopped and removed after. */
async function withServer(fn: (child: Deno.ChildProcess, port: number) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "mail-bench-" });
  const { child, port } = await startServer(dir);
  try {
    await fn(child, port);
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
}

await withServer(async (child, port) => {
  // Memory of idle connections: RSS growth per connection once each has been greeted, on the
  // fresh server (after the load, the heap the load grew would hide it).
  const before = rssKiB(child.pid, "VmRSS");
  const idle: Deno.Conn[] = [];
  for (let i = 0; i < IDLE; i++) {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    await new Replies(c).take(1);
    idle.push(c);
  }
  const after = rssKiB(child.pid, "VmRSS");
  console.log(
    `idle: ${IDLE} connections, ${((after - before) / IDLE).toFixed(1)} KiB each over the baseline`,
  );
  for (const c of idle) c.close();
  console.log(`mail serve load: ${MESSAGES} messages x ${SIZE_KB} KiB per scenario, loopback`);
  console.log("scenario    msgs/s    peak RSS MiB");
  for (const s of SCENARIOS) {
    let n = 0;
    const seq = () => n++;
    const per = Math.ceil(MESSAGES / s.sessions);
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: s.sessions }, () => session(port, per, s.rcpts, s.reuse, seq)),
    );
    const secs = (performance.now() - t0) / 1000;
    const rate = (per * s.sessions) / secs;
    console.log(
      `${s.name.padEnd(10)} ${rate.toFixed(0).padStart(7)}    ${
        (rssKiB(child.pid, "VmHWM") / 1024).toFixed(1).padStart(8)
      }`,
    );
  }
});
await bigMessage();

/**
 * Memory of one large message (the target: at most 2x its size): peak RSS growth of a
 * fresh server while it receives and stores one message of BIG_MIB MiB.
 */
function bigMessage() {
  return withServer(async (child, port) => {
    const line = "y".repeat(76) + "\r\n";
    const big = enc.encode(
      "Subject: big\r\n\r\n" + line.repeat(Math.ceil((BIG_MIB * 1024 * 1024) / 78)) + ".\r\n",
    );
    const before = rssKiB(child.pid, "VmRSS");
    await session(port, 1, 1, false, () => 0, big);
    const grew = (rssKiB(child.pid, "VmHWM") - before) / 1024;
    const size = big.length / 1024 / 1024;
    console.log(
      `big: one ${size.toFixed(1)} MiB message raised peak RSS by ${grew.toFixed(1)} MiB, ` +
        `${(grew / size).toFixed(2)}x its size`,
    );
  });
}
