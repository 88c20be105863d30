/**
 * Runs the real entrypoint as a subprocess, exactly as the compiled binary would run (the same
 * permission set from deno.json): one-shot commands, and `mail serve` with its ports found in
 * the readiness log line.
 */

import denoJson from "../../deno.json" with { type: "json" };

const ROOT = new URL("../../", import.meta.url);
export const MAIN = new URL("main.ts", ROOT).pathname;
export const CONFIG = new URL("deno.json", ROOT).pathname;

/**
 * The `deno` arguments of `deno task mail` (`run -q -P=mail`), taken from deno.json so that
 * tests run main.ts with exactly the permissions `deno task compile` gives the binary.
 */
const TASK_FLAGS = denoJson.tasks.mail.split(" ").slice(1, -1);

/** The command line that runs `mail ARGS`. */
export function mailArgs(args: readonly string[]): string[] {
  return [...TASK_FLAGS, "--config", CONFIG, MAIN, ...args];
}

/** A `Deno.Command` running `mail ARGS` with the binary's permissions. */
export function mailCommand(
  args: readonly string[],
  options: Deno.CommandOptions = {},
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: mailArgs(args),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...options,
    env: { NO_COLOR: "1", ...(options.env ?? {}) },
  });
}

export interface Result {
  readonly code: number;
  readonly stdout: Uint8Array;
  readonly out: string;
  readonly err: string;
}

/** Runs `mail ARGS` with STDIN (closed when absent) and returns status and output. */
export async function mail(
  args: readonly string[],
  opts: { stdin?: string | Uint8Array; env?: Record<string, string> } = {},
): Promise<Result> {
  const child = mailCommand(args, { stdin: "piped", ...(opts.env ? { env: opts.env } : {}) })
    .spawn();
  const writer = child.stdin.getWriter();
  if (opts.stdin !== undefined) {
    await writer.write(
      typeof opts.stdin === "string" ? new TextEncoder().encode(opts.stdin) : opts.stdin,
    );
  }
  await writer.close();
  // Bounded: a command that hangs is killed (and its test fails on the status) instead of
  // hanging the suite.
  const stuck = setTimeout(() => child.kill("SIGKILL"), WAIT_LIMIT_MS);
  const { code, stdout, stderr } = await child.output().finally(() => clearTimeout(stuck));
  return {
    code,
    stdout,
    out: new TextDecoder().decode(stdout),
    err: new TextDecoder().decode(stderr),
  };
}

/** Fails when stderr looks like a crash rather than a one-line message. */
export function assertNoStackTrace(err: string): void {
  if (/^\s+at .+:\d+:\d+\)?$/m.test(err) || /Uncaught|internal error/i.test(err)) {
    throw new Error(`stack trace or internal error on stderr:\n${err}`);
  }
}

/** A running `mail serve`. */
export interface ServeProcess {
  readonly smtpPort: number;
  readonly submissionPort: number;
  readonly imapPort: number;
  readonly pop3Port: number;
  readonly dataDir: string;
  /** Everything logged so far. */
  log(): string;
  /** SIGTERM and wait; resolves with the exit code. */
  stop(signal?: Deno.Signal): Promise<number>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
  /** Sends a signal without waiting (SIGHUP: reload). */
  signal(signal: Deno.Signal): void;
  /**
   * Resolves once the log, from offset FROM on, contains TEXT; throws if the server exits
   * first (so that a test fails instead of hanging).
   */
  waitForLog(text: string, from?: number): Promise<void>;
}

/** Default flags: the configuration the transcript files assume. */
export const TEST_SERVE_FLAGS = [
  "--hostname",
  "mx.test",
  "--domain",
  "example.test",
  "--smtp",
  "127.0.0.1:0",
  "--submission",
  "127.0.0.1:0",
  "--imap",
  "127.0.0.1:0",
  "--pop3",
  "127.0.0.1:0",
];

/** The longest a helper here waits for the server before failing the test. */
const WAIT_LIMIT_MS = 60_000;

/** Starts `mail serve --data DIR` plus FLAGS and waits for its readiness line. */
export async function startServe(
  dataDir: string,
  flags: string[] = TEST_SERVE_FLAGS,
): Promise<ServeProcess> {
  const child = mailCommand(["serve", "--data", dataDir, ...flags]).spawn();
  void child.stdout.cancel();
  let text = "";
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let line: string | undefined;
  // Bounded: a server that never gets ready is killed and the test fails, rather than hanging.
  const stuck = setTimeout(() => child.kill("SIGKILL"), WAIT_LIMIT_MS);
  while (line === undefined) {
    const { value, done } = await reader.read();
    if (done) {
      await child.status;
      throw new Error(`mail serve exited before it was ready:\n${text}`);
    }
    text += value;
    line = text.split("\n").slice(0, -1).find((l) => l.includes("Listening"));
  }
  clearTimeout(stuck);
  // The readiness line in either log format: `smtp=HOST:PORT` or JSON `"smtp": "HOST:PORT"`.
  const listening = line.startsWith("{")
    ? JSON.parse(line).properties as Record<string, string>
    : undefined;
  const port = (role: string) =>
    Number(
      (listening
        ? /:(\d+)$/.exec(listening[role] ?? "")
        : new RegExp(`\\b${role}=[^\\s]*:(\\d+)`).exec(line))?.[1] ?? 0,
    );
  let exited = false;
  void child.status.then(() => (exited = true));
  // Keep draining stderr so the child never blocks on a full pipe.
  const drained = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
    } catch { /* stream closed */ }
  })();
  return {
    smtpPort: port("smtp"),
    submissionPort: port("submission"),
    imapPort: port("imap"),
    pop3Port: port("pop3"),
    dataDir,
    log: () => text,
    async stop(signal: Deno.Signal = "SIGTERM") {
      child.kill(signal);
      const status = await child.status;
      await drained;
      return status.code;
    },
    signal(signal: Deno.Signal) {
      child.kill(signal);
    },
    async waitForLog(needle: string, from = 0) {
      // A bound on a stuck test, not a measurement: log lines come within milliseconds.
      const giveUp = Date.now() + WAIT_LIMIT_MS;
      while (!text.slice(from).includes(needle)) {
        if (Date.now() > giveUp) {
          throw new Error(
            `No ${JSON.stringify(needle)} in the log within ${WAIT_LIMIT_MS} ms:\n${text}`,
          );
        }
        if (exited) {
          throw new Error(
            `mail serve exited while waiting for ${JSON.stringify(needle)}:\n${text}`,
          );
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async kill() {
      child.kill("SIGKILL");
      await child.status;
      await drained;
    },
  };
}

/**
 * Runs SOURCE, a module, in a Deno process of its own with the project's configuration (a
 * fresh module cache: nothing a test has loaded), and gives its standard output's lines.
 * Throws with its standard error when it fails; it is stopped after a minute.
 */
export async function runFreshModule(source: string): Promise<string[]> {
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, source);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", CONFIG, file],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    if (out.code !== 0) {
      throw new Error(`The module failed (${out.code}):\n${new TextDecoder().decode(out.stderr)}`);
    }
    return new TextDecoder().decode(out.stdout).trim().split("\n");
  } finally {
    await Deno.remove(file);
  }
}
