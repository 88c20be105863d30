/**
 * `mail export ADDRESS OUT`: writes a mailbox as mbox or Maildir, every message exactly as
 * stored (backup, or moving mail to another program). `mail import` reads it back.
 *
 * @module
 */
import { Option } from "@commander-js/extra-typings";
import { basename, dirname, join } from "node:path";
import { CliError, EXIT } from "../exit_codes.ts";
import {
  createMaildir,
  maildirHost,
  mboxEntry,
  uniqueName,
  writeMaildirMessage,
} from "../mailbox_formats/mod.ts";
import type { MailboxAccess, MailboxEntry } from "../store/mod.ts";
import { type ProgressMeter, terminalProgress } from "./progress.ts";
import {
  addressArg,
  dataDir,
  mailboxPages,
  newCommand,
  openExistingStore,
  printJson,
  storeFailure,
} from "./_common.ts";

/**
 * Every entry of the mailbox, oldest first. The entries (not the messages) are held: a few
 * hundred bytes each.
 */
export function allEntries(store: MailboxAccess, address: string): MailboxEntry[] {
  return [...mailboxPages(store, address)].flat().reverse();
}

/** Tells PROGRESS how much there is to write, and starts it. */
function startProgress(progress: ProgressMeter | undefined, entries: readonly MailboxEntry[]) {
  if (progress === undefined) return;
  const bytes = entries.reduce((sum, e) => sum + e.size, 0);
  progress.setTotals({ messages: entries.length, bytes });
  progress.start();
}

/** What an export did. */
export interface ExportResult {
  readonly address: string;
  readonly format: "mbox" | "maildir";
  readonly path: string;
  readonly messages: number;
  readonly bytes: number;
}

function safeHostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}

async function isDirectory(path: string): Promise<boolean | undefined> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

function ioError(path: string, e: unknown): CliError {
  if (e instanceof CliError) return e;
  const why = e instanceof Deno.errors.PermissionDenied
    ? "permission denied"
    : (e as Error).message;
  return new CliError(`Cannot write ${path}: ${why}`, EXIT.IOERR);
}

/** Writes ADDRESS's mail to an mbox file at PATH (`-`: stdout), created anew. */
export async function exportMbox(
  store: MailboxAccess,
  address: string,
  path: string,
  progress?: ProgressMeter,
): Promise<ExportResult> {
  const entries = allEntries(store, address);
  let messages = 0;
  let bytes = 0;
  const toStdout = path === "-";
  // A file is written beside its final name and renamed at the end: an interrupted export
  // never leaves a truncated mbox that looks complete.
  const tmp = toStdout ? "" : join(dirname(path), `.${basename(path)}.tmp-${Deno.pid}`);
  let file: Deno.FsFile | undefined;
  try {
    if (!toStdout) {
      if (await isDirectory(path) !== undefined) {
        throw new CliError(`${path} already exists: remove it or choose another name`, EXIT.IOERR);
      }
      file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
    }
    const out = file ?? Deno.stdout;
    startProgress(progress, entries);
    for (const entry of entries) {
      const message = store.read(address, entry.id);
      if (message === undefined) continue; // deleted meanwhile
      for (let part of mboxEntry({ ...entry, bytes: message })) {
        while (part.length > 0) part = part.subarray(await out.write(part));
      }
      messages++;
      bytes += message.length;
      progress?.update(messages, bytes);
    }
    progress?.done();
    if (file) {
      await file.syncData();
      file.close();
      file = undefined;
      await Deno.rename(tmp, path);
    }
  } catch (e) {
    progress?.done();
    if (file) {
      file.close();
      await Deno.remove(tmp).catch(() => {});
    }
    if (e instanceof Deno.errors.BrokenPipe) {
      return { address, format: "mbox", path, messages, bytes };
    }
    throw ioError(path, e);
  }
  return { address, format: "mbox", path, messages, bytes };
}

/**
 * Writes ADDRESS's mail into the Maildir DIR (created if needed; an existing Maildir gets the
 * messages added, as Maildir delivery always does). Seen messages go to cur/ with `:2,S`.
 */
export async function exportMaildir(
  store: MailboxAccess,
  address: string,
  dir: string,
  progress?: ProgressMeter,
): Promise<ExportResult> {
  const entries = allEntries(store, address);
  const host = maildirHost(safeHostname());
  let messages = 0;
  let bytes = 0;
  try {
    if (await isDirectory(dir) === false) {
      throw new CliError(`${dir} is a file; a Maildir is a directory`, EXIT.IOERR);
    }
    if (await isDirectory(dir) && await isDirectory(join(dir, "cur")) !== true) {
      const empty = (await Array.fromAsync(Deno.readDir(dir))).length === 0;
      if (!empty) {
        throw new CliError(
          `${dir} is a directory but not a Maildir (no cur/): choose an empty or new directory`,
          EXIT.IOERR,
        );
      }
    }
    await createMaildir(dir);
    startProgress(progress, entries);
    for (const entry of entries) {
      const message = store.read(address, entry.id);
      if (message === undefined) continue;
      const name = uniqueName(entry.receivedAt, messages + 1, host, message.length);
      await writeMaildirMessage(dir, name, message, entry.seen);
      messages++;
      bytes += message.length;
      progress?.update(messages, bytes);
    }
  } catch (e) {
    throw ioError(dir, e);
  } finally {
    progress?.done();
  }
  return { address, format: "maildir", path: dir, messages, bytes };
}

export function exportCommand() {
  return newCommand("export", "Write a mailbox as mbox or Maildir, messages byte for byte")
    .argument("<address>", "the mailbox")
    .argument(
      "<out>",
      "mbox: a new file (a directory: DIR/ADDRESS.mbox; - for stdout); maildir: a directory",
    )
    .addOption(
      new Option("--format <format>", "mbox (mboxrd) or maildir")
        .choices(["mbox", "maildir"] as const)
        .default("mbox" as const),
    )
    .option("--json", "print what was written as JSON")
    .action(async (addressInput, out, opts) => {
      const address = addressArg(addressInput);
      const store = openExistingStore(dataDir(opts.data));
      try {
        if (!store.mailboxExists(address)) {
          throw new CliError(`No mailbox for ${address}`, EXIT.NOINPUT);
        }
        // No progress line when the mbox itself is being written to the terminal.
        const toTerminal = out === "-" && Deno.stdout.isTerminal();
        const progress = terminalProgress("Exporting", opts.json === true || toTerminal);
        let result: ExportResult;
        if (opts.format === "maildir") {
          result = await exportMaildir(store, address, out, progress);
        } else {
          const path = out !== "-" && await isDirectory(out) ? join(out, `${address}.mbox`) : out;
          result = await exportMbox(store, address, path, progress);
        }
        const summary = `Exported ${result.messages} message${
          result.messages === 1 ? "" : "s"
        } (${result.bytes} bytes) from ${address} to ${result.path} (${result.format})`;
        if (result.path === "-") console.error(opts.json ? JSON.stringify(result) : summary);
        else if (opts.json) printJson(result);
        else console.log(summary);
      } catch (e) {
        storeFailure(e);
      } finally {
        store.close();
      }
    });
}
