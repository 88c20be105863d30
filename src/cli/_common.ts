/**
 * What every subcommand shares: the `--data` option, how a command is created so that usage
 * errors and help behave alike, and output helpers.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { resolve } from "node:path";
import { CliError, EXIT } from "../exit_codes.ts";
import { type MailboxEntry, openStore, type Store, StoreError } from "../store/mod.ts";
import { AddressError, canonicalFromInput } from "../smtp/address.ts";

/**
 * Creates a subcommand with the options every subcommand takes (`--data`, `--help`), failing on
 * usage errors through commander's exit override so that `main.ts` maps them to exit 64.
 */
export function newCommand(name: string, description: string) {
  return new Command(name)
    .description(description)
    .option("--data <dir>", "state directory (default: $MAIL_DATA, else ./mail-data)")
    .exitOverride()
    .showHelpAfterError(false);
}

/** The state directory: `--data`, else `$MAIL_DATA`, else `./mail-data` (docs/cli.md). */
export function dataDir(flag: string | undefined): string {
  return resolve(flag ?? Deno.env.get("MAIL_DATA") ?? "mail-data");
}

/**
 * Opens the store for a reading/managing command. These commands never create a data
 * directory by accident: a mistyped `--data` is an error, not a new empty store.
 */
export function openExistingStore(dir: string): Store {
  try {
    return openStore(dir, { mustExist: true });
  } catch (err) {
    if (err instanceof StoreError && err.kind === "not-found") {
      throw new CliError(
        `No mail store in ${dir}: start 'mail serve --data ${dir}' or add a user first`,
        EXIT.NOINPUT,
      );
    }
    throw err;
  }
}

/** Opens (creating if needed) the store for commands that write accounts. */
export function openOrCreateStore(dir: string): Store {
  return openStore(dir);
}

/** Parses a user-typed address into its canonical form, or fails with exit 65. */
export function addressArg(input: string): string {
  try {
    return canonicalFromInput(input);
  } catch (err) {
    if (err instanceof AddressError) {
      throw new CliError(`Invalid address ${JSON.stringify(input)}: ${err.message}`, EXIT.DATAERR);
    }
    throw err;
  }
}

/** Writes one JSON document to stdout. */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

/** Turns store failures the user can act on into exit statuses; anything else stays internal. */
export function storeFailure(err: unknown): never {
  if (err instanceof StoreError) {
    if (err.kind === "io") throw new CliError(`Mail store unavailable: ${err.message}`, EXIT.IOERR);
    if (err.kind === "corrupt") {
      throw new CliError(`Mail store damaged: ${err.message}`, EXIT.IOERR);
    }
  }
  throw err;
}

/** Runs F with STORE, closing it afterwards and mapping store failures to exit statuses. */
export async function withStore<T>(store: Store, f: (s: Store) => T | Promise<T>): Promise<T> {
  try {
    return await f(store);
  } catch (err) {
    return storeFailure(err);
  } finally {
    store.close();
  }
}

/**
 * The data directory of a sub-subcommand (`mail user add`): its own `--data`, or the one given
 * to its parent before it (`mail user --data DIR add`).
 */
export function subcommandDataDir(
  opts: { data?: string },
  parent: { opts(): { data?: string } } | null,
): string {
  return dataDir(opts.data ?? parent?.opts().data);
}

/** Entries read per listing call when walking a whole mailbox. */
export const WALK_PAGE = 5000;

/**
 * Every entry of ADDRESS's mailbox, newest first, a page at a time, so that a mailbox of any
 * size is walked in bounded memory. Another process may deliver or delete meanwhile, which
 * shifts the store's offset-based pages: each page starts at the last entry of the one before
 * (ids only decrease down the list), repeats are dropped by id, and a page that no longer
 * starts at or above that entry means entries above it were removed, so the walk steps back
 * rather than skip the entries that moved up. Every entry present for the whole walk is
 * yielded exactly once.
 */
export function* mailboxPages(
  store: Pick<Store, "list">,
  address: string,
  pageSize: number = WALK_PAGE,
): Generator<MailboxEntry[]> {
  if (!Number.isSafeInteger(pageSize) || pageSize < 2) {
    throw new RangeError(`Invalid page size: ${pageSize}`);
  }
  // Keyset pages: each starts below the last entry already given, so a walk costs the size of
  // the mailbox (no entries skipped again and again, as an offset would), and deliveries and
  // removals meanwhile neither repeat nor hide an entry that stays.
  let below: number | undefined;
  for (;;) {
    const page = store.list(address, {
      limit: pageSize,
      ...(below !== undefined ? { before: below } : {}),
    });
    if (page.length > 0) yield page;
    const tail = page[page.length - 1];
    if (page.length < pageSize || tail === undefined) return;
    below = tail.id;
  }
}
