/**
 * `mail`: one executable, several subcommands (docs/cli.md). This file composes the commands
 * and turns every failure into one line on stderr and a sysexits status.
 *
 * @module
 */
import { Command, CommanderError } from "@commander-js/extra-typings";
import denoJson from "./deno.json" with { type: "json" };
import { CliError, EXIT } from "./src/exit_codes.ts";
import { serveCommand } from "./src/cli/serve.ts";
import { inboxCommand } from "./src/cli/inbox.ts";
import { userCommand } from "./src/cli/user.ts";
import { sendCommand } from "./src/cli/send.ts";
import { sendmailCommand } from "./src/cli/sendmail.ts";
import { queueCommand } from "./src/cli/queue.ts";
import { exportCommand } from "./src/cli/export.ts";
import { importCommand } from "./src/cli/import.ts";
import { dkimCommand } from "./src/cli/dkim.ts";
import { COMMIT } from "./src/build_info.ts";
import { flushLogs } from "./src/log.ts";

export const VERSION: string = denoJson.version;

/** What `mail --version` prints: the version, and the commit when the build recorded it. */
export const VERSION_TEXT: string = COMMIT ? `${VERSION} (commit ${COMMIT})` : VERSION;

function program() {
  return new Command("mail")
    .description("A small mail server and mail user agent in one executable")
    .version(VERSION_TEXT, "-V, --version")
    .exitOverride()
    .addCommand(serveCommand())
    .addCommand(inboxCommand())
    .addCommand(userCommand())
    .addCommand(sendCommand())
    .addCommand(sendmailCommand())
    .addCommand(queueCommand())
    .addCommand(exportCommand())
    .addCommand(importCommand())
    .addCommand(dkimCommand());
}

/** Runs the CLI with ARGS and returns the exit status. */
export async function run(args: string[]): Promise<number> {
  try {
    await program().parseAsync(args, { from: "user" });
    return EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has already printed its message (or the help / version text).
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    if (err instanceof CliError) {
      console.error(`mail: ${err.message}`);
      return err.exitCode;
    }
    console.error(`mail: internal error: ${err instanceof Error ? err.message : String(err)}`);
    if (Deno.env.get("MAIL_DEBUG")) console.error(err);
    return EXIT.SOFTWARE;
  }
}

if (import.meta.main) {
  const status = await run(Deno.args);
  flushLogs();
  Deno.exit(status);
}
