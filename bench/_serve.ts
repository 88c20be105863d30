/**
 * Starting `mail serve` for a benchmark: the server as `deno task serve` runs it, its log read
 * until it says where it listens, then drained so that it never blocks on a full pipe.
 *
 * @module
 */
import { mailArgs } from "../tests/_helpers/mail_process.ts";

/** A running `mail serve` and the ports its listeners were given. */
export interface BenchServer {
  readonly child: Deno.ChildProcess;
  /** The port of listener ROLE (`smtp`, `submission`, `imap`…), 0 when it is off. */
  port(role: string): number;
}

/** Starts `mail serve ARGS` and waits until listener ROLE is listening. */
export async function spawnServe(args: readonly string[], role = "smtp"): Promise<BenchServer> {
  const child = new Deno.Command(Deno.execPath(), {
    args: mailArgs(["serve", ...args]),
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const listening = new RegExp(`Listening.*${role}=[^\\s]*:(\\d+)`);
  let text = "";
  while (!listening.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`mail serve exited:\n${text}`);
    text += value;
  }
  void (async () => {
    while (!(await reader.read()).done) { /* drain the log */ }
  })();
  return {
    child,
    port: (name) => Number(new RegExp(`${name}=[^\\s]*:(\\d+)`).exec(text)?.[1] ?? 0),
  };
}
