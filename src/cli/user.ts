/**
 * `mail user`: accounts that may log in to submission and receive mail. Passwords are read from a
 * file, a prompt without echo, or one line of a pipe, never from the command line (where any
 * local user could read them in the process list).
 *
 * @module
 */
import { CliError, EXIT } from "../exit_codes.ts";
import { prompts } from "./prompts.ts";
import { hashPassword } from "../store/password.ts";
import { StoreError } from "../store/mod.ts";
import {
  addressArg,
  newCommand,
  openExistingStore,
  openOrCreateStore,
  printJson,
  subcommandDataDir,
  withStore,
} from "./_common.ts";

/** Longest password line read from a file or a pipe; more is certainly a mistake. */
const MAX_PASSWORD_BYTES = 4096;

/** The first line of TEXT, without its line ending. */
export function firstLine(text: string): string {
  const end = text.search(/\r?\n/);
  return end < 0 ? text : text.slice(0, end);
}

async function readPasswordFile(path: string): Promise<string> {
  try {
    return firstLine(await Deno.readTextFile(path));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new CliError(`Password file ${path} not found`, EXIT.NOINPUT);
    }
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new CliError(`Cannot read password file ${path}: permission denied`, EXIT.NOINPUT);
    }
    if (err instanceof Deno.errors.IsADirectory) {
      throw new CliError(`Password file ${path} is a directory`, EXIT.NOINPUT);
    }
    throw new CliError(`Cannot read password file ${path}: ${(err as Error).message}`, EXIT.IOERR);
  }
}

/** Reads one line from a non-terminal stdin (a pipe or a file), stopping at the first newline. */
async function readStdinLine(): Promise<string> {
  const buf = new Uint8Array(MAX_PASSWORD_BYTES + 1);
  let used = 0;
  while (used < buf.length) {
    const n = await Deno.stdin.read(buf.subarray(used));
    if (n === null) break;
    const lf = buf.subarray(used, used + n).indexOf(0x0a);
    used += n;
    if (lf >= 0) break;
  }
  if (used > MAX_PASSWORD_BYTES && buf.subarray(0, used).indexOf(0x0a) < 0) {
    throw new CliError(`Password longer than ${MAX_PASSWORD_BYTES} bytes`, EXIT.DATAERR);
  }
  try {
    return firstLine(new TextDecoder("utf-8", { fatal: true }).decode(buf.subarray(0, used)));
  } catch {
    throw new CliError("Password is not valid UTF-8", EXIT.DATAERR);
  }
}

/** Asks twice on the terminal, without echo. */
async function promptPassword(): Promise<string> {
  try {
    const { password: passwordPrompt } = await prompts();
    const first = await passwordPrompt({ message: "Password:" });
    const again = await passwordPrompt({ message: "Password (again):" });
    if (first !== again) throw new CliError("Passwords do not match", EXIT.DATAERR);
    return first;
  } catch (err) {
    // Ctrl-C: nothing was changed; say so and fail (a script must not think the user exists).
    if (err instanceof Error && err.name === "ExitPromptError") {
      throw new CliError("Cancelled: no password given", EXIT.DATAERR);
    }
    throw err;
  }
}

/**
 * The new password: the first line of `--password-file`, else a prompt on a terminal, else
 * the first line of stdin. Empty passwords are refused (65).
 */
async function readPassword(file: string | undefined): Promise<string> {
  const pw = file !== undefined
    ? await readPasswordFile(file)
    : Deno.stdin.isTerminal()
    ? await promptPassword()
    : await readStdinLine();
  if (pw === "") throw new CliError("Empty password", EXIT.DATAERR);
  return pw;
}

// 65 (data error): the input names an account that is already there.
const exists = (address: string) => new CliError(`User ${address} already exists`, EXIT.DATAERR);

function addCommand() {
  return newCommand("add", "Add a user (and their mailbox)")
    .argument("<address>", "the user's address (also their login name)")
    .option("--password-file <file>", "read the password from the first line of FILE")
    .action(async (input, opts, cmd) => {
      const address = addressArg(input);
      await withStore(openOrCreateStore(subcommandDataDir(opts, cmd.parent)), async (store) => {
        // Checked first so that nobody types a password for an account that cannot be added.
        if (store.userExists(address)) throw exists(address);
        const hash = await hashPassword(await readPassword(opts.passwordFile));
        try {
          store.addUser(address, hash);
        } catch (err) {
          // Added by another process since the check.
          if (err instanceof StoreError && err.kind === "exists") throw exists(address);
          throw err;
        }
      });
      console.error(`Added user ${address}`);
    });
}

function listCommand() {
  return newCommand("list", "List users")
    .option("--json", "print JSON: [{address, created_at}]")
    .action(async (opts, cmd) => {
      const users = await withStore(
        openExistingStore(subcommandDataDir(opts, cmd.parent)),
        (s) => s.listUsers(),
      );
      const rows = users.map((u) => ({
        address: u.address,
        created_at: new Date(u.createdAt).toISOString(),
      }));
      if (opts.json) {
        printJson(rows);
        return;
      }
      if (rows.length === 0) {
        console.error("No users");
        return;
      }
      const w = Math.max(...rows.map((r) => r.address.length));
      for (const r of rows) console.log(`${r.address.padEnd(w)}  ${r.created_at}`);
    });
}

function removeCommand() {
  return newCommand("remove", "Remove a user (their mailbox and its mail are kept)")
    .argument("<address>", "the user's address")
    .action(async (input, opts, cmd) => {
      const address = addressArg(input);
      const removed = await withStore(
        openExistingStore(subcommandDataDir(opts, cmd.parent)),
        (s) => s.removeUser(address),
      );
      if (!removed) throw new CliError(`No user ${address}`, EXIT.NOINPUT);
      console.error(`Removed user ${address} (the mailbox and its mail are kept)`);
    });
}

function passwdCommand() {
  return newCommand("passwd", "Change a user's password")
    .argument("<address>", "the user's address")
    .option("--password-file <file>", "read the password from the first line of FILE")
    .action(async (input, opts, cmd) => {
      const address = addressArg(input);
      const dir = subcommandDataDir(opts, cmd.parent);
      // Check before asking for a password that would be thrown away.
      const exists = await withStore(openExistingStore(dir), (s) => s.userExists(address));
      if (!exists) throw new CliError(`No user ${address}`, EXIT.NOINPUT);
      const hash = await hashPassword(await readPassword(opts.passwordFile));
      const changed = await withStore(
        openExistingStore(dir),
        (s) => s.setPasswordHash(address, hash),
      );
      if (!changed) throw new CliError(`No user ${address}`, EXIT.NOINPUT);
      console.error(`Changed the password of ${address}`);
    });
}

/** The `mail user` command and its subcommands. */
export function userCommand() {
  return newCommand("user", "Manage user accounts")
    .addCommand(addCommand())
    .addCommand(listCommand())
    .addCommand(removeCommand())
    .addCommand(passwdCommand());
}
