/**
 * `mail queue`: the outbound queue: list it, make recipients due now, delete them. It works on
 * the store while `mail serve` runs; the server notices a `retry` within its poll interval (a
 * second).
 *
 * @module
 */
import { CliError, EXIT } from "../exit_codes.ts";
import { sanitizeLine } from "../mime/mod.ts";
import type { QueueEntry } from "../store/mod.ts";
import {
  dataDir,
  newCommand,
  openExistingStore,
  printJson,
  subcommandDataDir,
  withStore,
} from "./_common.ts";

/** One entry of `mail queue --json`. */
export interface QueueJson {
  /** The queue row id (one per recipient): what `retry` and `delete` take. */
  id: number;
  /** Queue id of the message (as in `250 2.0.0 OK: queued as ID`). */
  message_id: string;
  /** Envelope sender, `""` for the null sender `<>` (bounces). */
  sender: string;
  recipient: string;
  /** Attempts that ended in a temporary failure. */
  attempts: number;
  /** ISO 8601 (UTC). */
  next_attempt: string;
  /** The last attempt's reply or failure; null before the first attempt. */
  last_reply: string | null;
  /** When the message was queued, ISO 8601 (UTC). */
  created_at: string;
}

export function toQueueJson(e: QueueEntry): QueueJson {
  return {
    id: e.id,
    message_id: e.messageId,
    sender: e.sender,
    recipient: e.recipient,
    attempts: e.attempts,
    next_attempt: new Date(e.nextAttempt).toISOString(),
    last_reply: e.lastReply ?? null,
    created_at: new Date(e.createdAt).toISOString(),
  };
}

function idArg(input: string): number {
  const id = Number(input);
  if (!/^\d+$/.test(input) || !Number.isSafeInteger(id) || id < 1) {
    throw new CliError(`Invalid queue id ${JSON.stringify(input)}`, EXIT.USAGE);
  }
  return id;
}

/** The table: one line per recipient, next attempt first. */
export function formatQueue(entries: readonly QueueJson[]): string {
  const rows = entries.map((e) => [
    String(e.id),
    e.next_attempt.replace("T", " ").replace(/\.\d+Z$/, "Z"),
    String(e.attempts),
    e.sender === "" ? "<>" : sanitizeLine(e.sender),
    sanitizeLine(e.recipient),
    sanitizeLine(e.last_reply ?? "-"),
  ]);
  const head = ["ID", "NEXT ATTEMPT", "TRIES", "SENDER", "RECIPIENT", "LAST REPLY"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows]
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  "))
    .join("\n");
}

function retryCommand() {
  return newCommand("retry", "Make a queued recipient (or every one) due now")
    .argument("[id]", "the queue id from `mail queue` (default: all)")
    .action(async (input, opts, cmd) => {
      const id = input === undefined ? undefined : idArg(input);
      const changed = await withStore(
        openExistingStore(subcommandDataDir(opts, cmd.parent)),
        (s) => s.queueRetry(Date.now(), id),
      );
      if (id !== undefined && changed === 0) {
        throw new CliError(`No queued recipient ${id}`, EXIT.NOINPUT);
      }
      console.error(
        id === undefined
          ? `${changed} queued recipient(s) due now`
          : `Queued recipient ${id} due now`,
      );
    });
}

function deleteCommand() {
  return newCommand("delete", "Remove a recipient from the queue, without a bounce")
    .argument("<id>", "the queue id from `mail queue`")
    .action(async (input, opts, cmd) => {
      const id = idArg(input);
      const entry = await withStore(openExistingStore(subcommandDataDir(opts, cmd.parent)), (s) => {
        const e = s.queueEntry(id);
        return e !== undefined && s.queueDelete(id) ? e : undefined;
      });
      if (entry === undefined) throw new CliError(`No queued recipient ${id}`, EXIT.NOINPUT);
      console.error(`Deleted queued recipient ${id} (${sanitizeLine(entry.recipient)})`);
    });
}

/** The `mail queue` command: the list, and `retry` and `delete`. */
export function queueCommand() {
  return newCommand("queue", "List the outbound queue; retry or delete queued recipients")
    .option("--json", "print JSON: [{id, sender, recipient, attempts, next_attempt, last_reply}]")
    .action(async (opts) => {
      const entries = (await withStore(openExistingStore(dataDir(opts.data)), (s) => s.queueList()))
        .map(
          toQueueJson,
        );
      if (opts.json) {
        printJson(entries);
        return;
      }
      if (entries.length === 0) {
        console.error("Queue is empty");
        return;
      }
      console.log(formatQueue(entries));
      console.error(`${entries.length} recipient(s) queued`);
    })
    .addCommand(retryCommand())
    .addCommand(deleteCommand());
}
