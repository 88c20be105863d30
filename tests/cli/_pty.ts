/**
 * Runs `mail` on a pseudo-terminal (through pty_drive.py), for the tests of what a command does
 * only on a terminal: the interactive list, progress lines.
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { mailArgs } from "./_run.ts";

const DRIVER = fileURLToPath(new URL("./pty_drive.py", import.meta.url));

/** What a driven run gave: its status, everything it wrote (ANSI escapes removed), an error. */
export interface Driven {
  status: number | null;
  output: string;
  error: string | null;
}

/**
 * Runs `mail ARGS` on a pseudo-terminal of 100 columns, typing KEYS when the output matches each
 * pattern of STEPS (none: just run it to the end). Every wait is bounded by the driver.
 */
export async function drive(steps: [string, string][], args: string[]): Promise<Driven> {
  const { stdout, stderr } = await new Deno.Command("python3", {
    args: [DRIVER, JSON.stringify(steps), "--", Deno.execPath(), ...mailArgs(args)],
    env: { TERM: "xterm-256color", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stdout);
  assert.ok(text.trim() !== "", new TextDecoder().decode(stderr));
  return JSON.parse(text);
}

/** Whether python3 with its pty module is there to drive a terminal. */
export const hasPython = await new Deno.Command("python3", { args: ["-c", "import pty"] })
  .output()
  .then((o) => o.success, () => false);
