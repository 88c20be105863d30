/**
 * `mail import ADDRESS [IN]`: adds the messages of an mbox file (or a Maildir) to a mailbox,
 * each exactly as it is in the file, so that `mail export` then `mail import` gives back the
 * stored bytes. Messages are added, never merged: importing the same file twice adds them twice.
 *
 * @module
 */
import { Option } from "@commander-js/extra-typings";
import { CliError, EXIT } from "../exit_codes.ts";
import {
  listMaildir,
  type MaildirMessage,
  MboxFormatError,
  readMbox,
} from "../mailbox_formats/mod.ts";
import { summarize } from "../mime/mod.ts";
import { newQueueId } from "../queue_id.ts";
import { type MailboxAccess, type MailDelivery, openStore, type Store } from "../store/mod.ts";
import { type ProgressMeter, terminalProgress } from "./progress.ts";
import {
  addressArg,
  dataDir,
  newCommand,
  openExistingStore,
  printJson,
  storeFailure,
} from "./_common.ts";

/** One message to add. */
export interface ImportMessage {
  readonly sender: string;
  readonly receivedAt: number | undefined;
  readonly bytes: Uint8Array;
  readonly seen?: boolean;
}

/** Adds MESSAGE to ADDRESS's mailbox; returns its queue id. */
export function importOne(
  store: MailDelivery & MailboxAccess,
  address: string,
  message: ImportMessage,
  createMailboxes: boolean,
): string {
  const id = newQueueId();
  const chunks = [message.bytes];
  store.deliver({
    id,
    sender: message.sender,
    recipients: [address],
    chunks,
    size: message.bytes.length,
    summary: summarize(chunks),
    receivedAt: message.receivedAt ?? Date.now(),
    createMailboxes,
  });
  if (message.seen) {
    // The newest entries: the one just added is among them unless many arrived meanwhile.
    const entry = store.list(address, { limit: 50 }).find((e) => e.messageId === id);
    if (entry) store.setSeen(address, entry.id, true);
  }
  return id;
}

/** What an import did. */
export interface ImportResult {
  readonly address: string;
  readonly format: "mbox" | "maildir";
  readonly source: string;
  readonly messages: number;
  readonly bytes: number;
}

async function* maildirMessages(list: readonly MaildirMessage[]): AsyncGenerator<ImportMessage> {
  for (const m of list) {
    // Maildir keeps no envelope sender; Return-Path, which we write first, has it.
    const bytes = await Deno.readFile(m.path);
    yield { sender: returnPath(bytes), receivedAt: m.receivedAt, bytes, seen: m.seen };
  }
}

/** The address of a leading `Return-Path: <...>` field, else `""`. */
export function returnPath(bytes: Uint8Array): string {
  const head = new TextDecoder("latin1").decode(bytes.subarray(0, 1024));
  return /^Return-Path:[ \t]*<([^>\r\n]*)>/i.exec(head)?.[1] ?? "";
}

/** The input, and its size when it is a regular file (also stdin redirected from one). */
async function openInput(
  path: string,
): Promise<{ stream: ReadableStream<Uint8Array>; size: number | undefined }> {
  const file = path === "-" ? undefined : await Deno.open(path, { read: true });
  let size: number | undefined;
  try {
    // /dev/stdin names whatever stdin is (Linux, macOS): a file when redirected from one.
    const info = file ? await file.stat() : await Deno.stat("/dev/stdin");
    if (info.isFile) size = info.size;
  } catch {
    // A pipe, a terminal, or no /dev/stdin: no size, no percentage.
  }
  return { stream: (file ?? Deno.stdin).readable, size };
}

/** STREAM, counting its bytes into COUNT as they are read. */
function counted(
  stream: ReadableStream<Uint8Array>,
  count: { bytes: number },
): ReadableStream<Uint8Array> {
  return stream.pipeThrough(
    new TransformStream({
      transform(chunk, controller) {
        count.bytes += chunk.length;
        controller.enqueue(chunk);
      },
    }),
  );
}

function inputError(path: string, e: unknown): never {
  if (e instanceof CliError) throw e;
  if (e instanceof Deno.errors.NotFound) throw new CliError(`${path} not found`, EXIT.NOINPUT);
  if (e instanceof Deno.errors.PermissionDenied) {
    throw new CliError(`Cannot read ${path}: permission denied`, EXIT.NOINPUT);
  }
  if (e instanceof MboxFormatError) throw new CliError(`${path}: ${e.message}`, EXIT.DATAERR);
  throw e;
}

/**
 * Imports from PATH (`-`: stdin, mbox only) into ADDRESS. PROGRESS, when given, counts the
 * messages and the bytes read: of the mbox file (of which the size is known when it is a
 * file), or of the Maildir's messages (of which the number is known).
 */
export async function importMailbox(
  store: MailDelivery & MailboxAccess,
  address: string,
  path: string,
  format: "mbox" | "maildir",
  createMailboxes: boolean,
  progress?: ProgressMeter,
): Promise<ImportResult> {
  let messages = 0;
  let bytes = 0;
  const input = { bytes: 0 };
  try {
    let source: AsyncGenerator<ImportMessage>;
    if (format === "maildir") {
      const list = await listMaildir(path);
      progress?.setTotals({ messages: list.length });
      source = maildirMessages(list);
    } else {
      const { stream, size } = await openInput(path);
      progress?.setTotals({ bytes: size });
      source = readMbox(progress ? counted(stream, input) : stream);
    }
    progress?.start();
    for await (const message of source) {
      importOne(store, address, message, createMailboxes);
      messages++;
      bytes += message.bytes.length;
      progress?.update(messages, format === "maildir" ? bytes : input.bytes);
    }
    progress?.done();
  } catch (e) {
    // The line goes before any message, so that the message starts a line of its own.
    progress?.done();
    if (messages > 0 && !(e instanceof CliError)) {
      // Say how far it got: what was added stays added.
      const why = e instanceof Error ? e.message : String(e);
      console.error(`mail: stopped after ${messages} messages were imported: ${why}`);
    }
    inputError(path, e);
  }
  return { address, format, source: path, messages, bytes };
}

async function detectFormat(path: string): Promise<"mbox" | "maildir"> {
  if (path === "-") return "mbox";
  try {
    return (await Deno.stat(path)).isDirectory ? "maildir" : "mbox";
  } catch (e) {
    inputError(path, e);
  }
}

export function importCommand() {
  return newCommand("import", "Add the messages of an mbox file or a Maildir to a mailbox")
    .argument("<address>", "the mailbox")
    .argument("[in]", "an mbox file (- for stdin) or a Maildir directory", "-")
    .addOption(
      new Option("--format <format>", "mbox or maildir (default: maildir for a directory)")
        .choices(["mbox", "maildir"] as const),
    )
    .option("--create", "create the mailbox if it does not exist")
    .option("--json", "print what was imported as JSON")
    .action(async (addressInput, input, opts) => {
      const address = addressArg(addressInput);
      const format = opts.format ?? await detectFormat(input);
      if (format === "maildir" && input === "-") {
        throw new CliError("A Maildir is a directory; stdin can only be an mbox", EXIT.USAGE);
      }
      if (input === "-" && Deno.stdin.isTerminal()) {
        throw new CliError("Give an mbox file or a Maildir, or pipe an mbox in", EXIT.USAGE);
      }
      const dir = dataDir(opts.data);
      let store: Store;
      try {
        store = opts.create ? openStore(dir) : openExistingStore(dir);
      } catch (e) {
        storeFailure(e);
      }
      try {
        if (!opts.create && !store.mailboxExists(address)) {
          throw new CliError(
            `No mailbox for ${address}: add the user first (mail user add) or use --create`,
            EXIT.NOINPUT,
          );
        }
        const progress = terminalProgress("Importing", opts.json === true);
        const result = await importMailbox(
          store,
          address,
          input,
          format,
          opts.create === true,
          progress,
        );
        if (opts.json) printJson(result);
        else {
          console.log(
            `Imported ${result.messages} message${
              result.messages === 1 ? "" : "s"
            } (${result.bytes} bytes) into ${address} from ${
              input === "-" ? "stdin" : input
            } (${format})`,
          );
        }
      } catch (e) {
        storeFailure(e);
      } finally {
        store.close();
      }
    });
}
