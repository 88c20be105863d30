/**
 * Downloading a mailbox over POP3: `mail serve` against Dovecot's POP3 on the same machine. Each
 * server holds the same messages (the octets `mail serve` stored, written into a Maildir for
 * Dovecot, as its own delivery would store them); one client session logs in, then is timed from
 * STAT through RETR of every message, one command at a time as fetchmail and getmail do, to the
 * answer to QUIT. Two mailboxes: MESSAGES of 4 KiB (the cost per command) and MESSAGES of mixed
 * sizes, 2 KiB to 512 KiB (the cost per octet). The servers take turns round by round, in an
 * order that alternates, after a round that is not timed and checks every message octet for
 * octet; the figures are medians, and the ratio (Dovecot's time over ours: >1, `mail` faster) is
 * the median of the per-round ratios.
 *
 *     sudo deno run -A bench/pop3_bench.ts [--messages 1000] [--rounds 9]
 *
 * Dovecot (`apt-get install dovecot-pop3d`) runs as a private instance on a free loopback port,
 * with its own configuration, state and Maildir in a scratch directory, never the system
 * service; it needs root (its mail processes run as the `dovecot` user). Without Dovecot or
 * root, `mail serve` is timed alone.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { mail, type ServeProcess, startServe } from "../tests/_helpers/mail_process.ts";
import { numberFlag } from "./_flags.ts";

const MESSAGES = numberFlag("--messages", 1000);
const ROUNDS = numberFlag("--rounds", 9);
/** Every wait of the bench is bounded by this. */
const LIMIT_MS = 300_000;
const PASSWORD = "bench-password";

const enc = new TextEncoder();
const [CR, LF, DOT] = [0x0d, 0x0a, 0x2e];

/** A small deterministic generator (mulberry32): the same messages on every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A message of about SIZE octets: a header as mail programs write it and lines of 78 octets,
 * one in 40 beginning with a dot (stuffed on the wire).
 */
function message(n: number, size: number): Uint8Array {
  const head = `From: Sender ${n} <sender${n}@remote.test>\r\nTo: <bench@example.test>\r\n` +
    `Subject: Message ${n} for the POP3 bench\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\n` +
    `Message-ID: <${n}@bench.test>\r\nMIME-Version: 1.0\r\n` +
    `Content-Type: text/plain; charset=us-ascii\r\n\r\n`;
  const lines: string[] = [];
  let length = head.length;
  for (let i = 0; length < size; i++) {
    const line = (i % 40 === 39 ? "." : "") + `${n}:${i} `.padEnd(76, "abcdefghij".at(i % 10));
    lines.push(line.slice(0, 76));
    length += 78;
  }
  return enc.encode(head + lines.map((l) => l + "\r\n").join(""));
}

/** The two mailboxes: MESSAGES of 4 KiB, and MESSAGES of mixed sizes. */
function mailboxes(): { name: string; user: string; messages: Uint8Array[] }[] {
  const next = random(17);
  const mixed = Array.from({ length: MESSAGES }, (_, n) => {
    const u = next();
    const [lo, hi] = u < 0.6 ? [2, 8] : u < 0.9 ? [8, 64] : [64, 512];
    return message(n, Math.round((lo + next() * (hi - lo)) * 1024));
  });
  return [
    {
      name: "4 KiB",
      user: "small@example.test",
      messages: Array.from({ length: MESSAGES }, (_, n) => message(n, 4096)),
    },
    { name: "mixed", user: "mixed@example.test", messages: mixed },
  ];
}

/** RFC 5321 §4.5.2: a line that begins with a dot gets one more. */
function dotStuff(m: Uint8Array, end: string): Uint8Array {
  return latin1(latin1Text(m).replace(/^\./gm, "..") + end);
}

/**
 * A POP3 or SMTP client over one connection that reads straight into a buffer it grows, and
 * finds line ends with the typed array's native search, only over what it has not looked at
 * yet (so that the client costs little, and the same for both servers).
 */
class Client {
  readonly #conn: Deno.Conn;
  #buf = new Uint8Array(1 << 20);
  #start = 0;
  #end = 0;
  readonly #timer: ReturnType<typeof setTimeout>;

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
    // Bounded: a server that stops answering ends the session instead of hanging the bench.
    this.#timer = setTimeout(() => this.close(), LIMIT_MS);
  }

  static async connect(port: number): Promise<Client> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    return new Client(conn);
  }

  /** Reads more; what was unread moves to the front of the buffer (offsets from #start hold). */
  async #fill(): Promise<void> {
    if (this.#end === this.#buf.length) {
      const unread = this.#buf.subarray(this.#start, this.#end);
      const to = unread.length * 2 > this.#buf.length
        ? new Uint8Array(this.#buf.length * 2)
        : this.#buf;
      to.set(unread);
      this.#buf = to;
      this.#end -= this.#start;
      this.#start = 0;
    }
    const n = await this.#conn.read(this.#buf.subarray(this.#end));
    if (n === null) throw new Error("Connection closed by the server");
    this.#end += n;
  }

  /** The next LF at or after #start + FROM among the bytes read, as an offset from #start. */
  #lf(from: number): number {
    const i = this.#buf.subarray(this.#start, this.#end).indexOf(LF, from);
    return i;
  }

  async send(text: string | Uint8Array): Promise<void> {
    const bytes = typeof text === "string" ? enc.encode(text) : text;
    for (let off = 0; off < bytes.length;) off += await this.#conn.write(bytes.subarray(off));
  }

  /** The next line, without its CRLF. */
  async line(): Promise<string> {
    let from = 0;
    for (;;) {
      const i = this.#lf(from);
      if (i >= 0) {
        const line = Buffer.from(this.#buf.buffer, this.#start, Math.max(i - 1, 0))
          .toString("latin1");
        this.#start += i + 1;
        return line;
      }
      from = this.#end - this.#start;
      await this.#fill();
    }
  }

  /** A command's status line; throws on -ERR. */
  async command(text: string): Promise<string> {
    await this.send(`${text}\r\n`);
    const status = await this.line();
    if (!status.startsWith("+OK")) throw new Error(`${text.split(" ")[0]}: ${status}`);
    return status;
  }

  /**
   * Multi-line data after a +OK, still dot-stuffed and without the terminating line: a view
   * of the buffer, good until the next read.
   */
  async data(): Promise<Uint8Array> {
    let from = 0;
    for (;;) {
      const b = this.#buf;
      const s = this.#start;
      const have = this.#end - s;
      if (have >= 3 && b[s] === DOT && b[s + 1] === CR && b[s + 2] === LF) {
        this.#start += 3;
        return new Uint8Array(0);
      }
      // The end is CR LF "." CR LF: look at each LF for a "." CR LF after it.
      let i = this.#lf(from);
      while (i >= 0 && i + 3 < have) {
        if (b[s + i + 1] === DOT && b[s + i + 2] === CR && b[s + i + 3] === LF) {
          this.#start = s + i + 4;
          return b.subarray(s, s + i + 1);
        }
        i = this.#lf(i + 1);
      }
      // Not found in what is here: look again from the last LF that may start it.
      from = i >= 0 ? i : have;
      await this.#fill();
    }
  }

  close(): void {
    clearTimeout(this.#timer);
    try {
      this.#conn.close();
    } catch { /* closed already */ }
  }
}

/** RFC 1939 §3: undoes the dot-stuffing (a copy, kept past the next read). */
function unstuff(data: Uint8Array): Uint8Array {
  return latin1(Buffer.from(data).toString("latin1").replace(/^\./gm, ""));
}

function latin1Text(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("latin1");
}

function latin1(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, "latin1"));
}

/**
 * Delivers MESSAGES to USER over SMTP on PORT, over 8 connections at once (their commits are
 * shared, so filling the mailbox takes seconds, not a sync per message); the order of arrival
 * is not the order of MESSAGES.
 */
async function deliverAll(port: number, user: string, messages: Uint8Array[]): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    const mine: Uint8Array[] = [];
    while (next < messages.length) mine.push(messages[next++]!);
    await deliverSome(port, user, mine);
  }));
}

async function deliverSome(port: number, user: string, messages: Uint8Array[]): Promise<void> {
  const c = await Client.connect(port);
  try {
    const reply = async () => {
      for (;;) {
        const l = await c.line();
        if (/^\d{3} /.test(l)) return l;
      }
    };
    await reply();
    await c.send("EHLO bench.test\r\n");
    await reply();
    for (const m of messages) {
      await c.send(`MAIL FROM:<sender@remote.test>\r\nRCPT TO:<${user}>\r\nDATA\r\n`);
      for (const want of ["250", "250", "354"]) {
        const got = await reply();
        if (!got.startsWith(want)) throw new Error(`SMTP: ${got}`);
      }
      // The data and its end in one write: a lone ".\r\n" after it would wait for an ACK.
      await c.send(dotStuff(m, ".\r\n"));
      const done = await reply();
      if (!done.startsWith("250")) throw new Error(`SMTP: ${done}`);
    }
    await c.send("QUIT\r\n");
  } finally {
    c.close();
  }
}

/** A server under test: where it listens and how much processor time it has spent. */
interface Target {
  readonly name: string;
  readonly port: number;
  /** The server's processor time so far, in ms (user and system). */
  cpuMs(): number;
  /** Resolves once a session that has ended is fully counted in cpuMs. */
  settled(): Promise<void>;
}

/**
 * Fields of /proc/PID/stat from the state on (field 3 at index 0), or undefined once the
 * process is gone. Times are in clock ticks of 10 ms (USER_HZ on Linux).
 */
function procStat(pid: number): string[] | undefined {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return text.slice(text.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

const TICK_MS = 10;

interface Download {
  /** Milliseconds from STAT to the answer to QUIT. */
  readonly ms: number;
  /** The server's processor time over the session (see Target), in ms. */
  readonly cpuMs: number;
  readonly octets: number;
  /** Every message, unstuffed (only when asked for). */
  readonly messages: Uint8Array[];
}

/** One session: USER/PASS, then (timed) STAT, RETR 1..n, QUIT. */
async function download(target: Target, user: string, keep: boolean): Promise<Download> {
  const c = await Client.connect(target.port);
  let cpu0 = 0;
  let ms = 0;
  try {
    const greeting = await c.line();
    if (!greeting.startsWith("+OK")) throw new Error(`Greeting: ${greeting}`);
    await c.command(`USER ${user}`);
    await c.command(`PASS ${PASSWORD}`);
    cpu0 = target.cpuMs();
    const t0 = performance.now();
    const count = Number((await c.command("STAT")).split(" ")[1]);
    if (count !== MESSAGES) throw new Error(`STAT: ${count} messages, not ${MESSAGES}`);
    let octets = 0;
    const messages: Uint8Array[] = [];
    for (let n = 1; n <= count; n++) {
      await c.command(`RETR ${n}`);
      const data = await c.data();
      octets += data.length;
      if (keep) messages.push(unstuff(data));
    }
    await c.command("QUIT");
    ms = performance.now() - t0;
    c.close();
    await target.settled();
    return { ms, cpuMs: target.cpuMs() - cpu0, octets, messages };
  } finally {
    c.close();
  }
}

/** `mail serve` as a target: the process started on DIR (its CPU from its /proc entry). */
function mailTarget(serve: ServeProcess, dir: string): Target {
  let pid = 0;
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const argv = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).split("\0");
      if (argv.includes("serve") && argv.includes(dir)) pid = Number(e.name);
    } catch { /* gone meanwhile */ }
  }
  if (!pid) throw new Error("Cannot find the mail serve process");
  return {
    name: "mail serve",
    port: serve.pop3Port,
    cpuMs() {
      const f = procStat(pid)!;
      return (Number(f[11]) + Number(f[12])) * TICK_MS;
    },
    // QUIT's update is done before its answer; what follows the close is not the download's.
    settled: () => Promise.resolve(),
  };
}

/** A private Dovecot with POP3 on a free loopback port; null when it cannot run here. */
interface Dovecot extends Target {
  /** Writes MESSAGES into USER's Maildir as Dovecot's delivery would (LF line ends, S= and W=). */
  fill(user: string, messages: Uint8Array[]): Promise<void>;
  stop(): Promise<void>;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * Runs CMD to its end (bounded). Its output goes nowhere: the Dovecot master forks a daemon that
 * would hold a pipe open for as long as it runs.
 */
async function run(cmd: string, cmdArgs: string[]): Promise<Deno.CommandStatus> {
  return await new Deno.Command(cmd, {
    args: cmdArgs,
    stdin: "null",
    stdout: "null",
    stderr: "null",
    signal: AbortSignal.timeout(LIMIT_MS),
  }).spawn().status;
}

async function startDovecot(): Promise<Dovecot | string> {
  const missing = "dovecot's POP3 is not installed: apt-get install dovecot-pop3d";
  try {
    await Deno.stat("/usr/lib/dovecot/pop3");
    await Deno.stat("/usr/sbin/dovecot");
  } catch {
    return missing;
  }
  if (Deno.uid() !== 0) return "Dovecot needs root here (its mail processes run as dovecot)";
  const passwd = await Deno.readTextFile("/etc/passwd");
  const entry = /^dovecot:[^:]*:(\d+):(\d+):/m.exec(passwd);
  if (!entry) return "No dovecot user in /etc/passwd";
  const [uid, gid] = [Number(entry[1]), Number(entry[2])];
  const t = await Deno.makeTempDir({ prefix: "dovecot-pop3-bench-" });
  await Deno.chmod(t, 0o755);
  await Deno.mkdir(join(t, "home"));
  await Deno.chown(join(t, "home"), uid, gid);
  const port = freePort();
  const conf = join(t, "dovecot.conf");
  await Deno.writeTextFile(
    conf,
    `base_dir = ${t}/run
state_dir = ${t}/state
log_path = ${t}/dovecot.log
protocols = pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = ${uid}
mail_location = maildir:~/Maildir
passdb {
  driver = static
  args = password=${PASSWORD}
}
userdb {
  driver = static
  args = uid=${uid} gid=${gid} home=${t}/home/%u
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener pop3s {
    port = 0
  }
  chroot =
}
service anvil {
  chroot =
}
`,
  );
  const stop = async () => {
    await run("doveadm", ["-c", conf, "stop"]).catch(() => undefined);
    await Deno.remove(t, { recursive: true }).catch(() => undefined);
  };
  const started = await run("dovecot", ["-c", conf]);
  if (!started.success) {
    const log = await Deno.readTextFile(join(t, "dovecot.log")).catch(() => "");
    await stop();
    return `dovecot did not start: ${log.trim().split("\n").at(-1) ?? `status ${started.code}`}`;
  }
  // Bounded: the listener and the master's pid file are there within moments of the start, or
  // never (the listener comes first: it is made before the master forks).
  let master = 0;
  for (let i = 0; !master; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      master = Number((await Deno.readTextFile(join(t, "run", "master.pid"))).trim());
    } catch (err) {
      if (i === 100) {
        await stop();
        return `dovecot does not listen on ${port}: ${err}`;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  /** The master's session processes (`pop3`, one per connection) still running. */
  const sessions = () => {
    let n = 0;
    for (const e of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(e.name)) continue;
      const f = procStat(Number(e.name));
      if (f?.[1] === String(master)) {
        const comm = Deno.readTextFileSync(`/proc/${e.name}/comm`).trim();
        if (comm === "pop3") n++;
      }
    }
    return n;
  };
  let seq = 0;
  return {
    name: "Dovecot",
    port,
    stop,
    // A session's process ends after QUIT and the master collects it: its time is then in the
    // master's count of its children's (so the figure includes the process's own start).
    cpuMs() {
      const f = procStat(master)!;
      return (Number(f[13]) + Number(f[14])) * TICK_MS;
    },
    async settled() {
      for (let i = 0; sessions() > 0; i++) {
        if (i === 1000) throw new Error("Dovecot's pop3 process did not end");
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    async fill(user, messages) {
      const home = join(t, "home", user);
      const dirs = ["", "Maildir", "Maildir/new", "Maildir/cur", "Maildir/tmp"];
      for (const d of dirs) {
        await Deno.mkdir(join(home, d), { recursive: true });
        await Deno.chown(join(home, d), uid, gid);
      }
      const now = Math.floor(Date.now() / 1000);
      for (const m of messages) {
        const text = new TextDecoder("latin1").decode(m);
        const lf = latin1(text.replaceAll("\r\n", "\n"));
        const name = `${now}.M${seq++}P${Deno.pid}.bench,S=${lf.length},W=${m.length}`;
        const path = join(home, "Maildir/new", name);
        await Deno.writeFile(path, lf);
        await Deno.chown(path, uid, gid);
      }
    },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The same messages in any order: Dovecot numbers a new Maildir's messages as it lists them. */
function sameSet(a: Uint8Array[], b: Uint8Array[]): boolean {
  const key = (xs: Uint8Array[]) => xs.map((x) => Buffer.from(x).toString("latin1")).sort();
  const [ka, kb] = [key(a), key(b)];
  return ka.length === kb.length && ka.every((x, i) => x === kb[i]);
}

async function main() {
  const boxes = mailboxes();
  const dir = await Deno.makeTempDir({ prefix: "mail-pop3-bench-" });
  let serve: ServeProcess | undefined;
  let dovecot: Dovecot | undefined;
  let cleaned: Promise<void> | undefined;
  // Each step on its own: an interrupt from a terminal may have stopped `mail serve` already.
  const cleanUp = () =>
    cleaned ??= (async () => {
      await serve?.stop().catch(() => undefined);
      await dovecot?.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => undefined);
    })();
  // Interrupted, the bench still stops both servers (a private Dovecot would outlive it).
  const interrupted = () => void cleanUp().finally(() => Deno.exit(130));
  Deno.addSignalListener("SIGINT", interrupted);
  try {
    for (const b of boxes) {
      const r = await mail(["user", "add", b.user, "--data", dir], { stdin: `${PASSWORD}\n` });
      if (r.code !== 0) throw new Error(`mail user add: ${r.err}`);
    }
    serve = await startServe(dir, [
      "--hostname",
      "mx.bench",
      "--domain",
      "example.test",
      "--smtp",
      "127.0.0.1:0",
      "--submission",
      "off",
      "--imap",
      "off",
      "--pop3",
      "127.0.0.1:0",
      "--no-tls",
      "--allow-insecure-auth",
    ]);
    for (const b of boxes) await deliverAll(serve.smtpPort, b.user, b.messages);
    const ours = mailTarget(serve, dir);

    // The check round, not timed: ours is what SMTP carried after the trace header it adds.
    const stored = new Map<string, Uint8Array[]>();
    for (const b of boxes) {
      const d = await download(ours, b.user, true);
      const seen = new Set<number>();
      d.messages.forEach((m, i) => {
        const n = Number(/^Message-ID: <(\d+)@bench\.test>\r$/m.exec(latin1Text(m))?.[1]);
        const sent = b.messages[n];
        const tail = sent && m.subarray(m.length - sent.length);
        if (!tail || seen.has(n) || !Buffer.from(tail).equals(Buffer.from(sent))) {
          throw new Error(`mail serve: ${b.name} message ${i + 1} is not one that was sent`);
        }
        seen.add(n);
      });
      stored.set(b.name, d.messages);
    }

    const started = await startDovecot();
    if (typeof started === "string") console.log(`${started}; timing mail serve alone`);
    else {
      dovecot = started;
      for (const b of boxes) {
        await dovecot.fill(b.user, stored.get(b.name)!);
        const d = await download(dovecot, b.user, true);
        if (!sameSet(d.messages, stored.get(b.name)!)) {
          throw new Error(`Dovecot: the ${b.name} messages differ from mail serve's`);
        }
      }
    }

    const targets: Target[] = dovecot ? [ours, dovecot] : [ours];
    const times = new Map<string, number[]>();
    const cpu = new Map<string, number[]>();
    const octets = new Map<string, number>();
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const b of boxes) {
        for (const t of order) {
          const d = await download(t, b.user, false);
          const k = `${b.name}/${t.name}`;
          times.set(k, [...(times.get(k) ?? []), d.ms]);
          cpu.set(k, [...(cpu.get(k) ?? []), d.cpuMs]);
          octets.set(k, d.octets);
        }
      }
    }

    console.log(
      `POP3 download: ${MESSAGES} messages in one session (STAT, RETR each, QUIT), ` +
        `${ROUNDS} interleaved rounds, loopback; medians. CPU: the server's processor time ` +
        `over the session`,
    );
    const ratio = (k: string, of: Map<string, number[]>) => {
      const mine = of.get(`${k}/mail serve`)!;
      const theirs = of.get(`${k}/Dovecot`)!;
      const rs = mine.map((v, i) => theirs[i]! / v);
      return `${median(rs).toFixed(2)} (rounds: ${rs.map((r) => r.toFixed(2)).join(", ")})`;
    };
    for (const b of boxes) {
      const mib = octets.get(`${b.name}/mail serve`)! / 1048576;
      console.log(`${b.name}, ${mib.toFixed(1)} MiB:`);
      for (const t of targets) {
        const k = `${b.name}/${t.name}`;
        const ms = median(times.get(k)!);
        console.log(
          `  ${t.name.padEnd(10)} ${ms.toFixed(0).padStart(5)} ms ` +
            `(${(MESSAGES / ms * 1000).toFixed(0)} msgs/s, ${(mib / ms * 1000).toFixed(1)} ` +
            `MiB/s), CPU ${median(cpu.get(k)!).toFixed(0)} ms`,
        );
      }
      if (dovecot) {
        console.log(`  Dovecot's time / ours: ${ratio(b.name, times)}`);
        console.log(`  Dovecot's CPU / ours:  ${ratio(b.name, cpu)}`);
      }
    }
  } finally {
    Deno.removeSignalListener("SIGINT", interrupted);
    await cleanUp();
  }
}

// `deno bench bench/` loads this file too (its name ends in _bench.ts): run only when started.
if (import.meta.main) await main();
