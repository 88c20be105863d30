/**
 * Memory of the server under a crowd of wrong passwords: CONNECTIONS clients, each from its own
 * loopback address (127.0.1.1, 127.0.1.2, …), greet the submission listener, then all send one
 * wrong `AUTH PLAIN` at the same moment. Prints, per server, its RSS before the attempts, its
 * peak RSS while they are answered, how long the last answer took, how the attempts were
 * answered (535 checked, 454 turned away), and how long a fresh client took meanwhile to be
 * greeted and answered EHLO and NOOP.
 *
 * Three servers: the same server with password checks unbounded (as before the limiter) and
 * with the default limits, both started by this script (`--serve`), and the real `mail serve`
 * entrypoint with its defaults.
 *
 *     deno run -A bench/auth_flood.ts [--connections 200]
 *
 * @module
 */
import net from "node:net";
import denoJson from "../deno.json" with { type: "json" };
import { defaults, type ServeConfig } from "../src/config.ts";
import { AuthGuard } from "../src/server/auth_guard.ts";
import { AuthLimiter } from "../src/server/auth_limiter.ts";
import { LocalBackend } from "../src/server/local_backend.ts";
import { MailServer } from "../src/server/server.ts";
import { hashPassword } from "../src/store/password.ts";
import { openStore } from "../src/store/mod.ts";
import { mailArgs } from "../tests/_helpers/mail_process.ts";
import { stringFlag } from "./_flags.ts";

const USER = "alice@example.test";
const PASSWORD = "the-right-password";
/** Every wait of the bench is bounded by this. */
const LIMIT_MS = 120_000;

/** Child mode: the server `mail serve` builds, with password checks bounded or not. */
async function serveForBench(mode: string, dir: string): Promise<void> {
  const store = openStore(dir);
  store.addUser(USER, await hashPassword(PASSWORD));
  const config: ServeConfig = {
    ...defaults(dir, "mx.bench"),
    domains: ["example.test"],
    smtp: undefined,
    submission: { host: "127.0.0.1", port: 0 },
    allowInsecureAuth: true,
  };
  const limiter = mode === "unbounded"
    ? new AuthLimiter({ concurrency: Infinity, maxWaiting: Infinity })
    : new AuthLimiter();
  const backend = new LocalBackend(
    store,
    { domains: config.domains, catchAll: false },
    new AuthGuard(),
    undefined,
    undefined,
    limiter,
  );
  const server = new MailServer(config, backend);
  const [bound] = await server.listen();
  console.error(`Listening submission=127.0.0.1:${bound!.port}`);
  Deno.addSignalListener("SIGTERM", async () => {
    await server.close(1000);
    store.close();
    Deno.exit(0);
  });
}

interface Started {
  readonly child: Deno.ChildProcess;
  readonly port: number;
}

/** Runs `deno ARGS`, waits for its readiness line and returns the submission port. */
async function start(denoArgs: string[]): Promise<Started> {
  const child = new Deno.Command(Deno.execPath(), {
    args: denoArgs,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const ready = /Listening.*submission=[^\s]*:(\d+)/;
  const stop = setTimeout(() => child.kill("SIGKILL"), LIMIT_MS);
  while (!ready.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`Server exited before listening:\n${text}`);
    text += value;
  }
  clearTimeout(stop);
  void (async () => {
    while (!(await reader.read()).done) { /* drain the log */ }
  })();
  return { child, port: Number(ready.exec(text)![1]) };
}

/** The flags `deno task mail` runs main.ts with, so the child runs as the binary would. */
function childArgs(script: string, rest: string[]): string[] {
  const flags = denoJson.tasks.mail.split(" ").slice(1, -1);
  return [...flags, "--config", new URL("../deno.json", import.meta.url).pathname, script, ...rest];
}

function rssKiB(pid: number, field: "VmRSS" | "VmHWM"): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
}

/** Starts the peak (VmHWM) afresh from the current RSS (Linux: `5` in clear_refs). */
function resetPeak(pid: number): void {
  Deno.writeTextFileSync(`/proc/${pid}/clear_refs`, "5");
}

function bounded<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Gave up waiting for ${what}`)), LIMIT_MS);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

/** A client socket bound to a source address of its own; reads whole replies. */
class Client {
  readonly #socket: net.Socket;
  #buf = "";
  #ended = false;
  #wake: (() => void) | undefined;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => {
      this.#buf += d;
      this.#wake?.();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#wake?.();
    });
    socket.on("error", () => {});
  }

  static async connect(port: number, local: string): Promise<Client> {
    const socket = net.createConnection({ host: "127.0.0.1", port, localAddress: local });
    await bounded(
      new Promise<void>((resolve, reject) => {
        socket.once("connect", resolve);
        socket.once("error", reject);
      }),
      `a connection from ${local}`,
    );
    const c = new Client(socket);
    await c.reply();
    return c;
  }

  reply(): Promise<string> {
    return bounded(this.#reply(), "a reply");
  }

  async #reply(): Promise<string> {
    for (;;) {
      const m = /^(?:\d{3}-[^\r\n]*\r\n)*(\d{3}(?: [^\r\n]*)?)\r\n/.exec(this.#buf);
      if (m) {
        this.#buf = this.#buf.slice(m[0].length);
        return m[1]!;
      }
      if (this.#ended) return "(closed)";
      await new Promise<void>((r) => (this.#wake = r));
    }
  }

  command(line: string): Promise<string> {
    this.#socket.write(line + "\r\n");
    return this.reply();
  }

  close(): void {
    this.#socket.destroy();
  }
}

/** The Nth source address: 127.0.1.1 onwards, never .0 or .255 of a /24. */
function source(n: number): string {
  return `127.0.${1 + Math.floor(n / 250)}.${1 + (n % 250)}`;
}

interface Figures {
  readonly beforeMiB: number;
  readonly peakMiB: number;
  readonly seconds: number;
  readonly codes: Map<string, number>;
  readonly probeMs: number;
}

async function flood(server: Started, connections: number): Promise<Figures> {
  const clients: Client[] = [];
  try {
    for (let i = 0; i < connections; i++) {
      const c = await Client.connect(server.port, source(i));
      clients.push(c);
      const ehlo = await c.command("EHLO crowd.bench");
      if (!ehlo.startsWith("250")) throw new Error(`EHLO: ${ehlo}`);
    }
    const pid = server.child.pid;
    const before = rssKiB(pid, "VmRSS");
    resetPeak(pid);
    const wrong = `AUTH PLAIN ${btoa(`\0${USER}\0not-the-password`)}`;
    const t0 = performance.now();
    const replies = Promise.all(clients.map((c) => c.command(wrong)));
    const probe = (async () => {
      const p0 = performance.now();
      const c = await Client.connect(server.port, "127.0.200.1");
      await c.command("EHLO probe.bench");
      await c.command("NOOP");
      c.close();
      return performance.now() - p0;
    })();
    const answers = await replies;
    const seconds = (performance.now() - t0) / 1000;
    const codes = new Map<string, number>();
    for (const a of answers) codes.set(a.slice(0, 3), (codes.get(a.slice(0, 3)) ?? 0) + 1);
    return {
      beforeMiB: before / 1024,
      peakMiB: rssKiB(pid, "VmHWM") / 1024,
      seconds,
      codes,
      probeMs: await probe,
    };
  } finally {
    for (const c of clients) c.close();
  }
}

async function withServer(
  denoArgs: (dir: string) => string[],
  setup: (dir: string) => Promise<void>,
  connections: number,
): Promise<Figures> {
  const dir = await Deno.makeTempDir({ prefix: "mail-bench-auth-" });
  try {
    await setup(dir);
    const server = await start(denoArgs(dir));
    try {
      return await flood(server, connections);
    } finally {
      server.child.kill("SIGTERM");
      await server.child.status;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function addUser(dir: string): Promise<void> {
  const child = new Deno.Command(Deno.execPath(), {
    args: mailArgs(["user", "add", USER, "--data", dir]),
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(`${PASSWORD}\n`));
  await w.close();
  const { code, stderr } = await bounded(child.output(), "mail user add");
  if (code !== 0) throw new Error(`mail user add: ${new TextDecoder().decode(stderr)}`);
}

async function main(connections: number): Promise<void> {
  const self = new URL(import.meta.url).pathname;
  const servers: [string, (dir: string) => string[], (dir: string) => Promise<void>][] = [
    [
      "unbounded (before)",
      (dir) => childArgs(self, ["--serve", "unbounded", "--data", dir]),
      async () => {},
    ],
    [
      "limited (after)",
      (dir) => childArgs(self, ["--serve", "limited", "--data", dir]),
      async () => {},
    ],
    [
      "mail serve",
      (dir) =>
        mailArgs([
          "serve",
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
          "--domain",
          "example.test",
          "--hostname",
          "mx.bench",
          "--no-tls",
          "--allow-insecure-auth",
        ]),
      addUser,
    ],
  ];
  console.log(
    `auth flood: ${connections} connections from ${connections} loopback addresses, ` +
      "one wrong AUTH PLAIN each, all at once",
  );
  console.log(
    "server               RSS before MiB   peak MiB   last answer s   535   454   other   probe ms",
  );
  for (const [name, denoArgs, setup] of servers) {
    const f = await withServer(denoArgs, setup, connections);
    const other = connections - (f.codes.get("535") ?? 0) - (f.codes.get("454") ?? 0);
    console.log(
      [
        name.padEnd(20),
        f.beforeMiB.toFixed(1).padStart(14),
        f.peakMiB.toFixed(1).padStart(10),
        f.seconds.toFixed(1).padStart(15),
        String(f.codes.get("535") ?? 0).padStart(5),
        String(f.codes.get("454") ?? 0).padStart(5),
        String(other).padStart(7),
        f.probeMs.toFixed(0).padStart(10),
      ].join(" "),
    );
  }
}

if (stringFlag("--serve") !== undefined) {
  await serveForBench(stringFlag("--serve")!, stringFlag("--data")!);
} else {
  // Loopback only, and few enough that their addresses stay within 127.0.1.0–127.0.4.255.
  const connections = Math.min(1000, Math.max(1, Number(stringFlag("--connections") ?? 200)));
  await main(connections);
}
