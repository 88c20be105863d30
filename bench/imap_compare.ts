/**
 * IMAP benchmark of `mail serve` against Dovecot on the same machine, the same mailbox, in
 * interleaved rounds (docs/performance.md quotes the ratios):
 *
 * - open: SELECT of a 10,000-message INBOX and `UID FETCH 1:* (UID FLAGS RFC822.SIZE ENVELOPE)`;
 * - search: `UID SEARCH TEXT "word"` over those messages (Dovecot without its FTS plugin);
 * - idle: memory per connection with 1000 clients in IDLE, plaintext and TLS, and how long
 *   after a delivery's end all of them are told of it;
 * - smtp: messages/s received with IMAP off, and with it on and 100 clients idling.
 *
 *     deno run -A bench/imap_compare.ts [--messages 10000] [--rounds 5] [--idle 1000]
 *       [--smtp-messages 1000] [--only open,search,idle,smtp] [--no-dovecot]
 *
 * Our server is the real entrypoint with the binary's permissions, its mailbox written
 * straight into its store; Dovecot gets the same messages as a Maildir (./imap_dovecot.ts). The
 * first round of open and search is reported apart: it is when both build their caches
 * (Dovecot its index and cache files, ours its structures and text index).
 *
 * @module
 */
import { spawnServe } from "./_serve.ts";
import { hashPassword, type NewMessage, openStore } from "../src/store/mod.ts";
import { ImapClient } from "./imap_client.ts";
import { type BenchMessage, corpus, SEARCH_WORD } from "./imap_corpus.ts";
import { descendants, type Dovecot, dovecotMissing, pssKiB, startDovecot } from "./imap_dovecot.ts";
import { numberFlag, stringFlag } from "./_flags.ts";
import { Replies, write } from "./_smtp_wire.ts";

const MESSAGES = numberFlag("--messages", 10_000);
const ROUNDS = numberFlag("--rounds", 5);
const IDLE = numberFlag("--idle", 1000);
const SMTP_IDLE = numberFlag("--smtp-idle", 100);
const SMTP_MESSAGES = numberFlag("--smtp-messages", 1000);
const SMTP_ROUNDS = numberFlag("--smtp-rounds", 3);
const ONLY = new Set(stringFlag("--only")?.split(",") ?? ["open", "search", "idle", "smtp"]);
const USER = "bench@example.test";
/** The account the idle clients watch: a mailbox of everyday size. */
const IDLER = "idle@example.test";
const IDLER_MESSAGES = 100;
const PASSWORD = "pass";

/**
 * A CA and a certificate for 127.0.0.1 that it signed, made with openssl in DIR (the test
 * fixtures' certificate is its own CA, which Deno's TLS client refuses as a server's).
 */
async function certificates(dir: string): Promise<{ cert: string; key: string; ca: string }> {
  const run = async (...a: string[]) => {
    const out = await new Deno.Command("openssl", { args: a, cwd: dir, stdin: "null" }).output();
    if (!out.success) throw new Error(`openssl ${a[0]}: ${new TextDecoder().decode(out.stderr)}`);
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await run(
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=bench CA",
  );
  await run("req", ...ec, "-keyout", "key.pem", "-out", "leaf.csr", "-subj", "/CN=localhost");
  await Deno.writeTextFile(`${dir}/ext.cnf`, "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  await run(
    "x509",
    "-req",
    "-in",
    "leaf.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "cert.pem",
    "-days",
    "2",
    "-extfile",
    "ext.cnf",
  );
  return {
    cert: `${dir}/cert.pem`,
    key: `${dir}/key.pem`,
    ca: await Deno.readTextFile(`${dir}/ca.pem`),
  };
}

const tlsDir = await Deno.makeTempDir({ prefix: "mail-imap-bench-tls-" });
const { cert: CERT, key: KEY, ca: CA } = await certificates(tlsDir);

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const ms = (x: number) => `${x.toFixed(0)} ms`;

// --- The mailbox, for both servers ---------------------------------------------------------

console.log(`imap: building ${MESSAGES} messages…`);
const messages = corpus(MESSAGES, USER);
const idlerMessages = corpus(IDLER_MESSAGES, IDLER, 7);
const withWord = messages.filter((m) => m.hasWord).length;

function newMessage(m: BenchMessage, i: number, to: string): NewMessage {
  return {
    id: `B${to.length}${i.toString(36).padStart(6, "0")}`,
    sender: "sender@example.test",
    recipients: [to],
    chunks: [m.bytes],
    size: m.bytes.length,
    summary: { from: m.from, subject: m.subject, date: m.date, messageId: m.messageId },
    receivedAt: m.receivedAt,
    createMailboxes: false,
  };
}

/** Writes the mailboxes straight into a store in DIR (as `mail import` would, only quicker). */
async function fillStore(dir: string): Promise<void> {
  const store = openStore(dir, { synchronous: "NORMAL" });
  try {
    const hash = await hashPassword(PASSWORD);
    for (const [address, list] of [[USER, messages], [IDLER, idlerMessages]] as const) {
      store.addUser(address, hash);
      store.folders.ensureFolders(address);
      for (let i = 0; i < list.length; i += 1000) {
        const errors = store.deliverMany(
          list.slice(i, i + 1000).map((m, k) => newMessage(m, i + k, address)),
        );
        const failed = errors.find((e) => e !== undefined);
        if (failed) throw failed;
      }
      const { folder, entries } = store.folders.openFolder(address, "INBOX");
      const uids = (f: (m: BenchMessage) => boolean) =>
        entries.filter((_, i) => f(list[i]!)).map((e) => e.uid);
      store.folders.setFolderFlags(folder.id, uids((m) => m.seen), "add", ["\\Seen"]);
      store.folders.setFolderFlags(folder.id, uids((m) => m.flagged), "add", ["\\Flagged"]);
    }
  } finally {
    store.close();
  }
}

// --- Our server -----------------------------------------------------------------------------

interface Ours {
  readonly child: Deno.ChildProcess;
  readonly smtp: number;
  readonly imap: number;
  readonly imaps: number;
  stop(): Promise<void>;
}

/** Servers running, stopped on Ctrl-C too. */
const running = new Set<{ stop(): Promise<void> }>();

async function startOurs(dir: string, imap: boolean): Promise<Ours> {
  const { child, port } = await spawnServe([
    "--data",
    dir,
    "--smtp",
    "127.0.0.1:0",
    "--submission",
    "off",
    "--pop3",
    "off",
    "--imap",
    imap ? "127.0.0.1:0" : "off",
    "--imaps",
    imap ? "127.0.0.1:0" : "off",
    "--tls-cert",
    CERT,
    "--tls-key",
    KEY,
    "--allow-insecure-auth",
    "--domain",
    "example.test",
    "--hostname",
    "mx.bench",
    "--max-connections-per-ip",
    "5000",
    "--max-connections",
    "5000",
  ]);
  const ours: Ours = {
    child,
    smtp: port("smtp"),
    imap: port("imap"),
    imaps: port("imaps"),
    async stop() {
      running.delete(ours);
      child.kill("SIGTERM");
      await child.status;
    },
  };
  running.add(ours);
  return ours;
}

// --- Clients --------------------------------------------------------------------------------

async function login(port: number, user: string, tls = false): Promise<ImapClient> {
  const c = await ImapClient.connect(port, tls ? CA : undefined);
  await c.ok(`LOGIN ${user} ${PASSWORD}`);
  return c;
}

/** One SMTP delivery to TO; resolves at the 250 after the data. */
async function smtpSend(port: number, to: string, body: Uint8Array): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const r = new Replies(conn);
  try {
    await r.take(1);
    await write(
      conn,
      `EHLO bench.test\r\nMAIL FROM:<s@example.test>\r\nRCPT TO:<${to}>\r\nDATA\r\n`,
    );
    const go = await r.take(4);
    if (!go.startsWith("354")) throw new Error(`DATA: ${go}`);
    await write(conn, body);
    await write(conn, ".\r\n");
    const done = await r.take(1);
    if (!done.startsWith("250")) throw new Error(`End of data: ${done}`);
    await write(conn, "QUIT\r\n");
    await r.take(1);
  } finally {
    conn.close();
  }
}

/** A delivery's body, dot-stuffed (the corpus has no line that starts with a dot). */
function smtpBody(m: BenchMessage): Uint8Array {
  return m.bytes.at(-1) === 0x0a ? m.bytes : new Uint8Array([...m.bytes, 0x0d, 0x0a]);
}

// --- open: SELECT and FETCH ENVELOPE ----------------------------------------------------------

interface Target {
  readonly name: string;
  readonly port: number;
}

async function openAndFetch(t: Target): Promise<{ select: number; fetch: number }> {
  const c = await login(t.port, USER);
  try {
    const t0 = performance.now();
    await c.ok("SELECT INBOX");
    const t1 = performance.now();
    const r = await c.ok("UID FETCH 1:* (UID FLAGS RFC822.SIZE ENVELOPE)");
    const t2 = performance.now();
    if (r.untagged < MESSAGES) throw new Error(`${t.name}: ${r.untagged} FETCH responses`);
    await c.command("LOGOUT");
    return { select: t1 - t0, fetch: t2 - t1 };
  } finally {
    c.close();
  }
}

async function searchText(t: Target, term: string): Promise<{ time: number; found: number }> {
  const c = await login(t.port, USER);
  try {
    await c.ok("SELECT INBOX");
    const t0 = performance.now();
    const r = await c.ok(`UID SEARCH TEXT "${term}"`, true);
    const time = performance.now() - t0;
    const line = r.lines.find((l) => l.startsWith("* SEARCH")) ?? "";
    await c.command("LOGOUT");
    return { time, found: line.split(" ").length - 2 };
  } finally {
    c.close();
  }
}

/** Runs FN for each target, ROUNDS times, the order turned round each round. */
async function rounds<T>(
  targets: readonly Target[],
  fn: (t: Target) => Promise<T>,
): Promise<Map<string, T[]>> {
  const out = new Map<string, T[]>(targets.map((t) => [t.name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? targets : [...targets].reverse();
    for (const t of order) out.get(t.name)!.push(await fn(t));
  }
  return out;
}

// --- idle: memory per connection, and the news of a delivery ----------------------------------

interface IdleResult {
  readonly perConnectionKiB: number;
  readonly told: number;
  readonly slowestMs: number;
}

/**
 * Opens IDLE connections in IDLE on the idler's INBOX; measures the server's memory (PSS of its
 * processes) before and after; delivers one message and times until every client has heard.
 */
async function idleTest(
  port: number,
  tls: boolean,
  pids: () => number[],
  deliver: () => Promise<void>,
  concurrency: number,
): Promise<IdleResult> {
  // Sessions opened and closed first, as many at once as below, so that the baseline holds
  // the code they run and the memory logins take while they last (scrypt's included).
  for (let round = 0; round < 3; round++) {
    await Promise.all(Array.from({ length: concurrency }, async () => {
      const c = await login(port, IDLER, tls);
      await c.ok("SELECT INBOX");
      await c.idle();
      c.close();
    }));
  }
  const before = await settledPss(pids);
  const clients: ImapClient[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < IDLE) {
      next++;
      const c = await login(port, IDLER, tls);
      await c.ok("SELECT INBOX");
      await c.idle();
      clients.push(c);
    }
  }));
  const after = await settledPss(pids);
  // When each client heard of the new message (some may hear before the delivery's end).
  const heardAt: number[] = [];
  const all = new Promise<void>((resolve) => {
    for (const c of clients) {
      let done = false;
      c.onUntagged = (line) => {
        if (!done && / EXISTS/.test(line)) {
          done = true;
          heardAt.push(performance.now());
          if (heardAt.length === clients.length) resolve();
        }
      };
    }
  });
  await deliver();
  // From the delivery's end: the 250 (ours) or dovecot-lda's exit.
  const t0 = performance.now();
  const within = await Promise.race([
    all.then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), 10_000)),
  ]);
  for (const c of clients) c.close();
  return {
    perConnectionKiB: (after - before) / clients.length,
    told: within ? clients.length : heardAt.length,
    slowestMs: heardAt.length ? Math.max(0, ...heardAt.map((t) => t - t0)) : NaN,
  };
}

/** PSS of the processes, the median of samples over 3 s once they are quiet (GC comes and goes). */
async function settledPss(pids: () => number[]): Promise<number> {
  await new Promise((r) => setTimeout(r, 1000));
  const samples: number[] = [];
  for (let i = 0; i < 7; i++) {
    samples.push(pssKiB(pids()));
    await new Promise((r) => setTimeout(r, 500));
  }
  return median(samples);
}

/** CPU time (ms) the process PID has used so far. */
function cpuMs(pid: number): number {
  const f = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
}

/**
 * Waits until process PID uses less than 5% of a core over a second (for at most 5 minutes);
 * returns how long it took.
 */
async function untilQuiet(pid: number): Promise<number> {
  const t0 = performance.now();
  for (let tries = 0; tries < 300; tries++) {
    const c0 = cpuMs(pid);
    await new Promise((r) => setTimeout(r, 1000));
    if (cpuMs(pid) - c0 < 50) return performance.now() - t0 - 1000;
  }
  throw new Error("The server did not go quiet within 5 minutes");
}

// --- smtp: receiving with IMAP on and clients idling ----------------------------------------

async function smtpLoad(port: number, to: string, count: number, sessions: number) {
  const body = smtpBody(idlerMessages[0]!);
  let left = count;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: sessions }, async () => {
    while (left > 0) {
      left--;
      await smtpSend(port, to, body);
    }
  }));
  return count / ((performance.now() - t0) / 1000);
}

// --- Run ------------------------------------------------------------------------------------

const missing = Deno.args.includes("--no-dovecot") ? "not asked for" : dovecotMissing();
const dataDir = await Deno.makeTempDir({ prefix: "mail-imap-bench-" });
console.log("imap: writing our store…");
await fillStore(dataDir);
const mailBytes = messages.reduce((n, m) => n + m.bytes.length, 0);
const storeBytes = Deno.statSync(`${dataDir}/mail.sqlite`).size;
let dovecot: Dovecot | undefined;
if (missing) console.log(`imap: Dovecot skipped: ${missing}`);
else {
  console.log("imap: writing Dovecot's Maildir…");
  dovecot = await startDovecot({ [USER]: messages, [IDLER]: idlerMessages }, CERT, KEY);
  running.add(dovecot);
}
Deno.addSignalListener("SIGINT", async () => {
  for (const r of running) await r.stop().catch(() => {});
  Deno.exit(130);
});
const rows: string[][] = [];
const row = (what: string, ours: string, theirs: string, ratio: string) =>
  rows.push([what, ours, theirs, ratio]);
const ratio = (theirs: number, ours: number) => (theirs / ours).toFixed(2);

try {
  const ours = await startOurs(dataDir, true);
  try {
    const targets: Target[] = [{ name: "mail", port: ours.imap }];
    if (dovecot) targets.push({ name: "dovecot", port: dovecot.port });
    if (ONLY.has("open")) {
      console.log("imap: open and fetch…");
      // Ours writes what it derived once quiet, after the responses: nothing of the other
      // server's round may run beside that, so the first round waits for it, and its CPU time
      // (writes included) is reported too.
      let firstCpu: number | undefined;
      const r = await rounds(targets, async (t) => {
        const first = t.name === "mail" && firstCpu === undefined;
        const c0 = first ? cpuMs(ours.child.pid) : 0;
        const x = await openAndFetch(t);
        if (first) {
          await untilQuiet(ours.child.pid);
          firstCpu = cpuMs(ours.child.pid) - c0;
        }
        return x;
      });
      const total = (x: { select: number; fetch: number }) => x.select + x.fetch;
      const m = r.get("mail")!;
      const d = r.get("dovecot");
      row(
        "open: SELECT + UID FETCH 1:* ENVELOPE, first round",
        ms(total(m[0]!)),
        d ? ms(total(d[0]!)) : "—",
        d ? ratio(total(d[0]!), total(m[0]!)) : "—",
      );
      row(
        "  server CPU of the first round, its writes after it included (ours)",
        ms(firstCpu ?? NaN),
        "",
        "",
      );
      const warmM = m.slice(1).map(total);
      const warmD = d?.slice(1).map(total);
      // Each round's ratio too: the servers take turns, so a round's pair shares its moment.
      const perRound = warmD?.map((x, i) => ratio(x, warmM[i]!)).join(", ");
      row(
        "open: SELECT + UID FETCH 1:* ENVELOPE, later rounds (median)",
        ms(median(warmM)),
        warmD ? ms(median(warmD)) : "—",
        warmD ? `${ratio(median(warmD), median(warmM))} (rounds ${perRound})` : "—",
      );
      row(
        "  of which SELECT (median of later rounds)",
        ms(median(m.slice(1).map((x) => x.select))),
        d ? ms(median(d.slice(1).map((x) => x.select))) : "—",
        "",
      );
    }
    if (ONLY.has("search")) {
      console.log("imap: search…");
      const check = (name: string, found: number) => {
        if (found !== withWord) throw new Error(`${name} found ${found} messages, not ${withWord}`);
      };
      // The first search of each (ours reads the folder, as a scan, and indexes it after).
      const first = new Map<string, number>();
      for (const t of targets) {
        const r = await searchText(t, SEARCH_WORD);
        check(t.name, r.found);
        first.set(t.name, r.time);
      }
      const indexing = await untilQuiet(ours.child.pid);
      const r = await rounds(targets, (t) => searchText(t, SEARCH_WORD));
      for (const [name, list] of r) for (const x of list) check(name, x.found);
      const fm = first.get("mail")!;
      const fd = first.get("dovecot");
      row(
        `search: UID SEARCH TEXT "${SEARCH_WORD}", the first`,
        ms(fm),
        fd !== undefined ? ms(fd) : "—",
        fd !== undefined ? ratio(fd, fm) : "—",
      );
      row(
        "search: then indexing in the background (ours), until the server is quiet",
        ms(indexing),
        "",
        "",
      );
      const m = r.get("mail")!.map((x) => x.time);
      const d = r.get("dovecot")?.map((x) => x.time);
      row(
        `search: UID SEARCH TEXT "${SEARCH_WORD}", later (median of ${ROUNDS})`,
        ms(median(m)),
        d ? ms(median(d)) : "—",
        d ? ratio(median(d), median(m)) : "—",
      );
      const short = await rounds(targets, (t) => searchText(t, "qu"));
      const sm = short.get("mail")!.map((x) => x.time);
      const sd = short.get("dovecot")?.map((x) => x.time);
      row(
        'search: UID SEARCH TEXT "qu" (too short for the index: a scan), median',
        ms(median(sm)),
        sd ? ms(median(sd)) : "—",
        sd ? ratio(median(sd), median(sm)) : "—",
      );
      const db = [`${dataDir}/mail.sqlite`, `${dataDir}/mail.sqlite-wal`]
        .reduce((n, f) => n + (Deno.statSync(f).size ?? 0), 0);
      row(
        "store: database size after the search (text index and headers kept)",
        `${(db / 2 ** 20).toFixed(0)} MiB`,
        "",
        "",
      );
    }
  } finally {
    await ours.stop();
  }

  if (ONLY.has("idle")) {
    for (const tls of [false, true]) {
      console.log(`imap: ${IDLE} clients in IDLE${tls ? " over TLS" : ""}…`);
      const server = await startOurs(dataDir, true);
      let m: IdleResult;
      try {
        m = await idleTest(
          tls ? server.imaps : server.imap,
          tls,
          () => [server.child.pid],
          () => smtpSend(server.smtp, IDLER, smtpBody(idlerMessages[1]!)),
          4,
        );
      } finally {
        await server.stop();
      }
      let d: IdleResult | undefined;
      if (dovecot) {
        const dc = dovecot;
        d = await idleTest(
          tls ? dc.tlsPort : dc.port,
          tls,
          () => dc.pids(),
          () => dc.deliver(IDLER, smtpBody(idlerMessages[1]!)),
          16,
        );
      }
      const kind = tls ? "TLS" : "plaintext";
      row(
        `idle: memory per connection, ${IDLE} in IDLE, ${kind}`,
        `${m.perConnectionKiB.toFixed(1)} KiB`,
        d ? `${d.perConnectionKiB.toFixed(1)} KiB` : "—",
        d ? ratio(d.perConnectionKiB, m.perConnectionKiB) : "—",
      );
      row(
        `idle: told of a delivery (${kind}): how many, the last after`,
        `${m.told}/${IDLE}, ${ms(m.slowestMs)}`,
        d ? `${d.told}/${IDLE}, ${ms(d.slowestMs)}` : "—",
        "",
      );
    }
  }

  if (ONLY.has("smtp")) {
    console.log(`imap: SMTP with IMAP off, and on with ${SMTP_IDLE} clients idling…`);
    const offDir = await Deno.makeTempDir({ prefix: "mail-imap-bench-off-" });
    const onDir = await Deno.makeTempDir({ prefix: "mail-imap-bench-on-" });
    for (const dir of [offDir, onDir]) {
      const store = openStore(dir);
      store.addUser(IDLER, await hashPassword(PASSWORD));
      store.folders.ensureFolders(IDLER);
      store.close();
    }
    const off = await startOurs(offDir, false);
    const on = await startOurs(onDir, true);
    const idlers: ImapClient[] = [];
    try {
      for (let i = 0; i < SMTP_IDLE; i++) {
        const c = await login(on.imap, IDLER);
        await c.ok("SELECT INBOX");
        await c.idle();
        idlers.push(c);
      }
      const rates = { off: [] as number[], on: [] as number[] };
      // A warm-up for each, then interleaved rounds.
      await smtpLoad(off.smtp, IDLER, 100, 10);
      await smtpLoad(on.smtp, IDLER, 100, 10);
      for (let r = 0; r < SMTP_ROUNDS; r++) {
        const order = r % 2 === 0 ? (["off", "on"] as const) : (["on", "off"] as const);
        for (const which of order) {
          const port = which === "off" ? off.smtp : on.smtp;
          rates[which].push(await smtpLoad(port, IDLER, SMTP_MESSAGES, 10));
        }
      }
      const perRound = rates.on.map((x, i) => x / rates.off[i]!);
      row(
        `smtp: messages/s, 10 sessions, IMAP off / on with ${SMTP_IDLE} clients in IDLE on the INBOX they fill`,
        `${median(rates.off).toFixed(0)} / ${median(rates.on).toFixed(0)}`,
        "",
        `on/off ${median(perRound).toFixed(2)} (rounds ${
          perRound.map((x) => x.toFixed(2)).join(", ")
        })`,
      );
    } finally {
      for (const c of idlers) c.close();
      await off.stop();
      await on.stop();
      await Deno.remove(offDir, { recursive: true });
      await Deno.remove(onDir, { recursive: true });
    }
  }
} finally {
  if (dovecot) {
    running.delete(dovecot);
    await dovecot.stop();
  }
  await Deno.remove(dataDir, { recursive: true });
  await Deno.remove(tlsDir, { recursive: true });
}

console.log(
  `\nIMAP, ${MESSAGES} messages of ${
    (mailBytes / 2 ** 20).toFixed(0)
  } MiB (${withWord} with "${SEARCH_WORD}"), ` +
    `a ${(storeBytes / 2 ** 20).toFixed(0)} MiB database before the benchmark, ${ROUNDS} rounds`,
);
console.log("| measure | `mail serve` | Dovecot | ratio (>1: `mail` better) |");
console.log("| --- | --- | --- | --- |");
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
void descendants;
