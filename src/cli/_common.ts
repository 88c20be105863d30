/**
 * What every subcommand shares: the `--data` option, how a command is created so that usage
 * errors and help behave alike, and output helpers.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { resolve } from "node:path";
import { CliError, EXIT } from "../exit_codes.ts";
import { openStore, type Store } from "../store/mod.ts";
import { StoreError } from "../store/sqlite_store.ts";
import { AddressError, canonicalFromInput } from "../smtp/address.ts";

/** Creates a subcommand with the options every subcommand takes (CONTRACT.md). */
export function newCommand(name: string, description: string) {
  return new Command(name)
    .description(description)
    .option("--data <dir>", "state directory (default: $MAIL_DATA, else ./mail-data)")
    .exitOverride()
    .showHelpAfterError(false);
}

/** The state directory: `--data`, else `$MAIL_DATA`, else `./mail-data` (CONTRACT.md). */
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
