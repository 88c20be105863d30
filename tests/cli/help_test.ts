/**
 * `mail CMD --help` of every command and subcommand, compared with a stored copy in
 * tests/cli/help/, so that a changed flag or description shows as a diff in review. The
 * commands are found by following each help's `Commands:` list, so a new one is covered (and
 * fails until its copy is stored). After a deliberate change, rewrite the copies with
 *
 *     UPDATE_HELP=1 deno test -A tests/cli/help_test.ts
 *
 * The help is printed by the entrypoint with the binary's permissions, to a pipe (commander
 * then wraps at 80 columns whatever the terminal), without the caller's MAIL_* settings.
 */
import assert from "node:assert/strict";
import { mailCommand } from "../_helpers/mail_process.ts";

const HELP_DIR = new URL("./help/", import.meta.url);
const UPDATE = Deno.env.get("UPDATE_HELP") === "1";

/** The environment of the test run without MAIL_* (a `$MAIL_DATA` must not change the text). */
function cleanEnv(): Record<string, string> {
  const env = Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([k]) => !k.startsWith("MAIL_")),
  );
  return { ...env, COLUMNS: "80", NO_COLOR: "1", TERM: "dumb" };
}

async function help(path: readonly string[]): Promise<string> {
  const child = mailCommand([...path, "--help"], { clearEnv: true, env: cleanEnv() }).spawn();
  // Bounded: a help that hangs is killed and fails the test.
  const stuck = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const { code, stdout, stderr } = await child.output().finally(() => clearTimeout(stuck));
  const err = new TextDecoder().decode(stderr);
  assert.equal(code, 0, `mail ${path.join(" ")} --help: ${err}`);
  assert.equal(err, "", `mail ${path.join(" ")} --help wrote to stderr`);
  return new TextDecoder().decode(stdout);
}

/** The subcommands a help text lists under `Commands:` (without commander's own `help`). */
export function subcommands(text: string): string[] {
  const section = /^Commands:\n((?: {2}.*\n?)*)/m.exec(text)?.[1] ?? "";
  return section.split("\n")
    .map((line) => /^ {2}([a-z][\w-]*)/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined && name !== "help");
}

/** The stored copy's file name: `mail.txt`, `serve.txt`, `user-add.txt`. */
function fileName(path: readonly string[]): string {
  return `${path.length === 0 ? "mail" : path.join("-")}.txt`;
}

/** Every command's help, from `mail --help` down, by file name. */
async function allHelp(): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  let level: string[][] = [[]];
  while (level.length > 0) {
    const texts = await Promise.all(level.map(help));
    const next: string[][] = [];
    level.forEach((path, i) => {
      found.set(fileName(path), texts[i]!);
      for (const sub of subcommands(texts[i]!)) next.push([...path, sub]);
    });
    level = next;
  }
  return found;
}

async function storedNames(): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(HELP_DIR)))
      .filter((e) => e.isFile && e.name.endsWith(".txt")).map((e) => e.name).sort();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

Deno.test("subcommands: the names under Commands:", () => {
  const text = "Usage: mail [options] [command]\n\nOptions:\n  -h, --help  display help\n\n" +
    "Commands:\n  serve [options]        Run the server\n  inbox [options] <a>    List a\n" +
    "                         mailbox\n  help [command]         display help for command\n";
  assert.deepEqual(subcommands(text), ["serve", "inbox"]);
  assert.deepEqual(subcommands("Usage: mail user add [options] <address>\n"), []);
});

Deno.test("--help of every command matches its stored copy", async (t) => {
  const helps = await allHelp();
  for (const expected of ["mail.txt", "serve.txt", "user-add.txt", "queue-retry.txt"]) {
    assert.ok(helps.has(expected), `${expected} among ${[...helps.keys()].join(", ")}`);
  }
  if (UPDATE) await Deno.mkdir(HELP_DIR, { recursive: true });
  for (const [name, text] of helps) {
    await t.step(name, async () => {
      const file = new URL(name, HELP_DIR);
      if (UPDATE) {
        await Deno.writeTextFile(file, text);
        return;
      }
      let stored: string;
      try {
        stored = await Deno.readTextFile(file);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
        throw new Error(
          `No stored help for ${name}: run UPDATE_HELP=1 deno test -A tests/cli/help_test.ts`,
        );
      }
      assert.equal(
        text,
        stored,
        `The help differs from tests/cli/help/${name}; if the change is meant, run ` +
          "UPDATE_HELP=1 deno test -A tests/cli/help_test.ts and commit the copies",
      );
    });
  }
  const stale = (await storedNames()).filter((name) => !helps.has(name));
  if (UPDATE) {
    for (const name of stale) await Deno.remove(new URL(name, HELP_DIR));
  } else {
    assert.deepEqual(stale, [], "stored help of commands that no longer exist");
  }
});
