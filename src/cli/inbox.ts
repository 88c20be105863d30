/**
 * `mail inbox`: list a mailbox, show, export or delete one message. The list's `--json` is the
 * whole mailbox unless a page is asked for, so that a script never gets part of a mailbox
 * without knowing it; the human list says how many there are and how to see the next page.
 *
 * @module
 */
import { InvalidArgumentError } from "@commander-js/extra-typings";
import { CliError, EXIT } from "../exit_codes.ts";
import { prompts } from "./prompts.ts";
import { loadReader, type Reader, styler } from "../mime/mod.ts";
import type { MailboxAccess, MailboxEntry, Store } from "../store/mod.ts";
import {
  addressArg,
  dataDir,
  mailboxPages,
  newCommand,
  openExistingStore,
  printJson,
  storeFailure,
} from "./_common.ts";

/** Entries per page unless `--limit` says otherwise. */
export const DEFAULT_LIMIT = 50;

function nonNegativeInt(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    }
    return n;
  };
}

/** How output should look: colours and width only on a terminal. */
interface Output {
  readonly tty: boolean;
  readonly color: boolean;
  readonly width: number | undefined;
}

function outputSettings(): Output {
  const tty = Deno.stdout.isTerminal();
  // https://no-color.org: NO_COLOR set to a non-empty value disables colour.
  const color = tty && !Deno.env.get("NO_COLOR");
  let width: number | undefined;
  if (tty) {
    try {
      width = Deno.consoleSize().columns;
    } catch {
      width = 80;
    }
  }
  return { tty, color, width };
}

/**
 * Writes all of DATA to stdout; a reader that went away (`| head`) ends the output quietly.
 * Returns false when it did (there is no point writing more).
 */
export async function writeStdout(data: string | Uint8Array): Promise<boolean> {
  let bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  try {
    while (bytes.length > 0) bytes = bytes.subarray(await Deno.stdout.write(bytes));
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.BrokenPipe) return false;
    throw err;
  }
}

/** One entry of `--json` on the list. */
export interface ListJson {
  id: number;
  /** Decoded From (RFC 2047), e.g. `Jürgen Müller <juergen@example.test>`. */
  from: string;
  subject: string;
  /**
   * ISO 8601 (UTC). The Date header when it parses, else the time the server received the
   * message. Chosen over the raw header text so that scripts get one format in every row
   * (the raw header is in the single-message JSON); `received` is always the arrival time.
   */
  date: string;
  size: number;
  seen: boolean;
  received: string;
}

/** The `--json` form of a listing entry. */
export function listJson(entry: MailboxEntry, reader: Pick<Reader, "decodeEntry">): ListJson {
  const d = reader.decodeEntry(entry);
  return {
    id: entry.id,
    from: d.from,
    subject: d.subject,
    date: d.date.toISOString(),
    size: entry.size,
    seen: entry.seen,
    received: new Date(entry.receivedAt).toISOString(),
  };
}

interface Page {
  readonly offset: number;
  readonly limit: number;
}

/** How the page was asked for: the flags given, for the hint that names the next page. */
export interface PageFlags {
  readonly limit?: number | undefined;
  readonly offset?: number | undefined;
  readonly page?: number | undefined;
}

/**
 * The line under the human list: how many messages there are, which of them are shown, and the
 * flags that show the next page (`50 of 812 shown (1-50), 812 unread; --page 2 for more`).
 */
export function listFooter(
  page: Page,
  shown: number,
  count: { total: number; unseen: number },
  flags: PageFlags,
): string {
  const { total, unseen } = count;
  const last = page.offset + shown;
  if (page.offset === 0 && last >= total) {
    return `${total} message${total === 1 ? "" : "s"}, ${unseen} unread`;
  }
  let footer = `${shown} of ${total} shown (${page.offset + 1}-${last}), ${unseen} unread`;
  if (last < total) {
    const limit = flags.limit === undefined ? "" : `--limit ${flags.limit} `;
    const next = flags.offset === undefined
      ? `--page ${Math.floor(page.offset / page.limit) + 2}`
      : `--offset ${last}`;
    footer += `; ${limit}${next} for more`;
  }
  return footer;
}

function mailboxOrFail(store: MailboxAccess, address: string): void {
  if (!store.mailboxExists(address)) {
    throw new CliError(`No mailbox for ${address}`, EXIT.NOINPUT);
  }
}

function entryOrFail(store: MailboxAccess, address: string, id: number): MailboxEntry {
  const entry = store.entry(address, id);
  if (entry === undefined) throw new CliError(`No message ${id} in ${address}`, EXIT.NOINPUT);
  return entry;
}

/** One list entry as `printJson` would indent it inside the array. */
function jsonElement(entry: MailboxEntry, reader: Reader): string {
  // JSON escapes newlines inside strings, so every line break here is the layout's own.
  return JSON.stringify(listJson(entry, reader), null, 2).replace(/^/gm, "  ");
}

/**
 * The whole mailbox as one JSON array, written a page at a time: the same text as `printJson`
 * of every entry, without holding a mailbox of any size in memory.
 */
async function printWholeListJson(
  store: MailboxAccess,
  address: string,
  reader: Reader,
): Promise<void> {
  let text = "[";
  let first = true;
  for (const page of mailboxPages(store, address)) {
    for (const entry of page) {
      text += (first ? "\n" : ",\n") + jsonElement(entry, reader);
      first = false;
    }
    if (!await writeStdout(text)) return;
    text = "";
  }
  await writeStdout(first ? "[]\n" : "\n]\n");
}

async function printList(
  store: MailboxAccess,
  address: string,
  page: Page,
  flags: PageFlags,
  json: boolean,
): Promise<void> {
  const reader = await loadReader();
  if (json) {
    const paged = flags.limit !== undefined || flags.offset !== undefined ||
      flags.page !== undefined;
    if (paged) printJson(store.list(address, page).map((e) => listJson(e, reader)));
    else await printWholeListJson(store, address, reader);
    return;
  }
  const entries = store.list(address, page);
  const out = outputSettings();
  const count = store.count(address);
  if (entries.length === 0) {
    await writeStdout(
      count.total === 0
        ? `No messages in ${address}\n`
        : `No messages ${
          flags.page === undefined ? `at offset ${page.offset}` : `on page ${flags.page}`
        } (${count.total} in all)\n`,
    );
    return;
  }
  const s = styler(out.color);
  const layout = { idWidth: reader.idWidth(entries), ...(out.width ? { width: out.width } : {}) };
  const lines = entries.map((e) => {
    const row = reader.formatListRow(e, layout);
    return e.seen ? row : s("bold", row);
  });
  const footer = listFooter(page, entries.length, count, flags);
  await writeStdout(lines.join("\n") + "\n" + s("dim", footer) + "\n");
}

/** Shows one message, marking it seen (as reading it does in any mail reader). */
async function showMessage(
  store: MailboxAccess,
  address: string,
  entry: MailboxEntry,
  json: boolean,
): Promise<void> {
  const bytes = store.read(address, entry.id);
  if (bytes === undefined) throw new CliError(`No message ${entry.id} in ${address}`, EXIT.NOINPUT);
  const { parseForDisplay, formatForTerminal } = await loadReader();
  const msg = await parseForDisplay(bytes);
  if (json) {
    printJson({
      id: entry.id,
      from: msg.from,
      to: msg.to,
      cc: msg.cc,
      subject: msg.subject,
      date: msg.date,
      message_id: msg.messageId,
      size: entry.size,
      seen: true,
      received: new Date(entry.receivedAt).toISOString(),
      text: msg.text,
      text_source: msg.textSource,
      attachments: msg.attachments.map((a) => ({
        name: a.name,
        content_type: a.contentType,
        size: a.size,
      })),
    });
  } else {
    const out = outputSettings();
    await writeStdout(
      formatForTerminal(msg, { color: out.color, ...(out.width ? { width: out.width } : {}) }),
    );
  }
  store.setSeen(address, entry.id, true);
}

// --- The interactive list ---

/** A choice of the interactive list: `open:ID`, `next`, `prev` or `quit`. */
export type ListAction = `open:${number}` | "next" | "prev" | "quit";

export interface ListChoice {
  readonly name: string;
  readonly value: ListAction;
  /** What the prompt shows as the answer once chosen (the whole row would wrap). */
  readonly short: string;
}

/**
 * The choices for one page of the interactive list (kept pure so that it can be tested without a
 * terminal): one per entry, then paging and Quit.
 */
export function listChoices(
  entries: readonly MailboxEntry[],
  page: Page,
  total: number,
  width: number | undefined,
  reader: Pick<Reader, "formatListRow" | "idWidth">,
): ListChoice[] {
  // The prompt indents each choice by two columns (cursor and space).
  const layout = { idWidth: reader.idWidth(entries), ...(width ? { width: width - 2 } : {}) };
  const choices: ListChoice[] = entries.map((e) => ({
    name: reader.formatListRow(e, layout),
    value: `open:${e.id}` as const,
    short: `message ${e.id}`,
  }));
  if (page.offset + entries.length < total) {
    const name = `Next page (after ${page.offset + entries.length} of ${total})`;
    choices.push({ name, value: "next", short: "next page" });
  }
  if (page.offset > 0) {
    choices.push({ name: "Previous page", value: "prev", short: "previous page" });
  }
  choices.push({ name: "Quit", value: "quit", short: "quit" });
  return choices;
}

/** Parses a ListAction back into an id (for `open:ID`) or the action. */
export function parseAction(
  action: ListAction,
): { id: number } | { action: "next" | "prev" | "quit" } {
  if (action.startsWith("open:")) return { id: Number(action.slice(5)) };
  return { action: action as "next" | "prev" | "quit" };
}

function isPromptExit(err: unknown): boolean {
  // Ctrl-C in an @inquirer prompt rejects with ExitPromptError (from @inquirer/core).
  return err instanceof Error && err.name === "ExitPromptError";
}

async function interactive(store: MailboxAccess, address: string, first: Page): Promise<void> {
  const { confirm, select, Separator } = await prompts();
  const reader = await loadReader();
  let offset = first.offset;
  let lastId: ListAction | undefined;
  try {
    for (;;) {
      const out = outputSettings();
      const { total, unseen } = store.count(address);
      if (total > 0 && offset >= total) offset = Math.max(0, total - first.limit);
      const entries = store.list(address, { offset, limit: first.limit });
      const choices = listChoices(
        entries,
        { offset, limit: first.limit },
        total,
        out.width,
        reader,
      );
      const rows = (() => {
        try {
          return Deno.consoleSize().rows;
        } catch {
          return 24;
        }
      })();
      const action = await select<ListAction>({
        message: `${address}: ${total} message${total === 1 ? "" : "s"}, ${unseen} unread`,
        choices: [...choices.slice(0, -1), new Separator(), ...choices.slice(-1)],
        pageSize: Math.max(5, rows - 3),
        loop: false,
        ...(lastId && choices.some((c) => c.value === lastId) ? { default: lastId } : {}),
      });
      const parsed = parseAction(action);
      if ("action" in parsed) {
        if (parsed.action === "quit") return;
        offset = parsed.action === "next"
          ? offset + first.limit
          : Math.max(0, offset - first.limit);
        lastId = undefined;
        continue;
      }
      lastId = action;
      const entry = store.entry(address, parsed.id);
      if (entry === undefined) continue; // removed meanwhile (another process)
      await writeStdout("\n");
      await showMessage(store, address, entry, false);
      const next = await select({
        message: `Message ${entry.id}`,
        choices: [
          { name: "Back to the list", value: "back" },
          { name: "Delete", value: "delete" },
          { name: "Quit", value: "quit" },
        ],
      });
      if (next === "quit") return;
      if (next === "delete") {
        if (await confirm({ message: `Delete message ${entry.id}?`, default: false })) {
          store.remove(address, entry.id);
          lastId = undefined;
        }
      }
    }
  } catch (err) {
    if (isPromptExit(err)) return; // Ctrl-C: leave cleanly, status 0
    throw err;
  }
}

/**
 * The view of folder NAME of ADDRESS's mailbox (INBOX, or another IMAP folder); a folder that
 * does not exist is exit 66. INBOX is named in any case, as in IMAP.
 */
function folderOrFail(store: Store, address: string, name: string): MailboxAccess {
  if (name.toUpperCase() === "INBOX") return store;
  if (!store.folders.folderList(address).some((f) => f.name === name)) {
    throw new CliError(`No folder ${name} in ${address}`, EXIT.NOINPUT);
  }
  return store.inFolder(name);
}

/** The `mail inbox` command. */
export function inboxCommand() {
  return newCommand("inbox", "List a mailbox, or show, export or delete one message")
    .argument("<address>", "mailbox address")
    .argument("[id]", "message id (from the list)", nonNegativeInt("ID", 1))
    .option("--json", "print JSON: the whole list (unless paged), or the decoded message")
    .option("--raw", "with ID: print the message's exact stored bytes")
    .option("--delete", "with ID: delete the message")
    .option(
      "--limit <n>",
      `entries per page (default ${DEFAULT_LIMIT})`,
      nonNegativeInt("--limit", 1),
    )
    .option("--offset <n>", "skip the N newest entries", nonNegativeInt("--offset", 0))
    .option(
      "--folder <name>",
      "the folder to read (as IMAP names it: Sent, Archive/2026, …)",
      "INBOX",
    )
    .option(
      "--page <n>",
      "page number, 1 for the newest (with --limit)",
      nonNegativeInt("--page", 1),
    )
    .action(async (addressInput, id, opts) => {
      if (id === undefined && (opts.raw || opts.delete)) {
        throw new CliError(`--${opts.raw ? "raw" : "delete"} needs a message ID`, EXIT.USAGE);
      }
      if (opts.raw && opts.delete) {
        throw new CliError("Use --raw or --delete, not both", EXIT.USAGE);
      }
      if (opts.raw && opts.json) throw new CliError("Use --raw or --json, not both", EXIT.USAGE);
      if (opts.offset !== undefined && opts.page !== undefined) {
        throw new CliError("Use --offset or --page, not both", EXIT.USAGE);
      }
      const address = addressArg(addressInput);
      const limit = opts.limit ?? DEFAULT_LIMIT;
      const page = { limit, offset: opts.offset ?? ((opts.page ?? 1) - 1) * limit };

      let store: Store;
      try {
        store = openExistingStore(dataDir(opts.data));
      } catch (err) {
        return storeFailure(err);
      }
      try {
        mailboxOrFail(store, address);
        const box = folderOrFail(store, address, opts.folder);
        if (id === undefined) {
          const json = opts.json === true;
          if (!json && Deno.stdin.isTerminal() && Deno.stdout.isTerminal()) {
            await interactive(box, address, page);
          } else {
            await printList(box, address, page, opts, json);
          }
          return;
        }
        const entry = entryOrFail(box, address, id);
        if (opts.raw) {
          // Exact bytes, no newline added. Not marked seen: this is an export (like IMAP's
          // BODY.PEEK), e.g. to pipe into another program.
          const bytes = box.read(address, id);
          if (bytes === undefined) {
            throw new CliError(`No message ${id} in ${address}`, EXIT.NOINPUT);
          }
          await writeStdout(bytes);
        } else if (opts.delete) {
          if (!box.remove(address, id)) {
            throw new CliError(`No message ${id} in ${address}`, EXIT.NOINPUT);
          }
          if (opts.json) printJson({ id, deleted: true });
          else console.error(`Deleted message ${id} from ${address}`);
        } else {
          await showMessage(box, address, entry, opts.json === true);
        }
      } catch (err) {
        storeFailure(err);
      } finally {
        store.close();
      }
    });
}
