/**
 * `mail send`: compose a message and submit it to a server, or deliver it end to end to each
 * recipient domain's MX hosts (`--direct`). docs/cli.md describes every flag.
 *
 * @module
 */
import { basename } from "node:path";
import { CliError, EXIT } from "../exit_codes.ts";
import { type NamedAddress, parseSingleAddress, uniqueAddresses } from "../client/addresses.ts";
import {
  type Attachment,
  compose,
  ComposeError,
  parseHeaderArg,
  reservedHeader,
} from "../client/compose.ts";
import { addressesIn, fieldValues, toCrlf } from "../client/raw_message.ts";
import type { Envelope } from "../client/smtp_client.ts";
import { submit } from "../client/submit.ts";
import { newCommand } from "./_common.ts";
import {
  addresses,
  checkMessage,
  collect,
  parsingAddresses,
  readInputFile,
  readStdin,
} from "./_input.ts";
import { report, serverOptions, transport } from "./send_options.ts";

function utf8(bytes: Uint8Array, what: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new CliError(`${what} is not valid UTF-8`, EXIT.DATAERR);
  }
}

interface SendOptions {
  from?: string;
  to?: string[];
  cc?: string[];
  bcc?: string[];
  subject?: string;
  body?: string;
  bodyFile?: string;
  html?: string;
  attach?: string[];
  header?: string[];
  raw?: string;
}

/** The message and envelope of a `--raw` send: the bytes untouched but for CRLF. */
async function rawMessage(opts: SendOptions): Promise<[Uint8Array, Envelope, string | null]> {
  const composing = [
    ["--subject", opts.subject],
    ["--body", opts.body],
    ["--body-file", opts.bodyFile],
    ["--html", opts.html],
    ["--attach", opts.attach?.length ? "x" : undefined],
    ["--header", opts.header?.length ? "x" : undefined],
  ].filter(([, v]) => v !== undefined).map(([f]) => f);
  if (composing.length > 0) {
    throw new CliError(
      `--raw sends a prepared message: ${composing.join(", ")} not allowed`,
      EXIT.USAGE,
    );
  }
  const bytes = toCrlf(
    opts.raw === "-" ? await readStdin() : await readInputFile(opts.raw!, "Message file"),
  );
  checkMessage(bytes);
  const headerAddrs = (names: string[]) => parsingAddresses(() => addressesIn(bytes, names));
  const sender = opts.from !== undefined
    ? addresses([opts.from])[0]
    : headerAddrs(["Sender"])[0] ?? headerAddrs(["From"])[0];
  if (!sender) throw new CliError("No sender: give --from or a From header", EXIT.USAGE);
  const flagged = addresses([...(opts.to ?? []), ...(opts.cc ?? []), ...(opts.bcc ?? [])]);
  const rcpts = flagged.length > 0 ? flagged : headerAddrs(["To", "Cc", "Bcc"]);
  if (rcpts.length === 0) {
    throw new CliError("No recipients: give --to or To/Cc headers", EXIT.USAGE);
  }
  const recipients = uniqueAddresses(rcpts.map((a) => a.address));
  const messageId = fieldValues(bytes, "Message-ID")[0] ?? null;
  return [bytes, { sender: sender.address, recipients }, messageId];
}

/** The composed message and envelope. */
async function composedMessage(opts: SendOptions): Promise<[Uint8Array, Envelope, string]> {
  if (opts.from === undefined) throw new CliError("--from is required", EXIT.USAGE);
  const from: NamedAddress = parsingAddresses(() => parseSingleAddress(opts.from!));
  const to = addresses(opts.to);
  const cc = addresses(opts.cc);
  const bcc = addresses(opts.bcc);
  if (to.length + cc.length + bcc.length === 0) {
    throw new CliError("No recipients: give --to, --cc or --bcc", EXIT.USAGE);
  }
  if (opts.body !== undefined && opts.bodyFile !== undefined) {
    throw new CliError("--body and --body-file exclude each other", EXIT.USAGE);
  }
  const text = opts.body ??
    (opts.bodyFile !== undefined
      ? utf8(await readInputFile(opts.bodyFile, "Body file"), `Body file ${opts.bodyFile}`)
      : Deno.stdin.isTerminal()
      ? ""
      : utf8(await readStdin(), "Standard input"));
  const html = opts.html !== undefined
    ? utf8(await readInputFile(opts.html, "HTML file"), `HTML file ${opts.html}`)
    : undefined;
  const attachments: Attachment[] = [];
  for (const path of opts.attach ?? []) {
    attachments.push({ filename: basename(path), content: await readInputFile(path, "File") });
  }
  const headers: [string, string][] = [];
  let date: Date | undefined;
  let messageId: string | undefined;
  try {
    for (const h of opts.header ?? []) {
      const [name, value] = parseHeaderArg(h);
      const lower = name.toLowerCase();
      if (reservedHeader(name)) {
        throw new CliError(`--header cannot set ${name}: use the flag for it`, EXIT.USAGE);
      }
      if (lower === "date") {
        date = new Date(value);
        if (Number.isNaN(date.getTime())) throw new ComposeError(`Invalid Date ${value}`);
      } else if (lower === "message-id") messageId = value;
      else headers.push([name, value]);
    }
    const composed = await compose({
      from,
      to,
      cc,
      bcc,
      subject: opts.subject,
      text,
      html,
      attachments,
      headers,
      date,
      messageId,
    });
    return [composed.message, composed.envelope, composed.messageId];
  } catch (err) {
    if (err instanceof ComposeError) throw new CliError(err.message, EXIT.USAGE);
    throw err;
  }
}

export function sendCommand() {
  return newCommand("send", "Compose a message and submit it (or deliver it with --direct)")
    .option("--from <address>", "sender (From header and envelope)")
    .option("--to <address>", "recipient (repeatable; comma-separated lists too)", collect)
    .option("--cc <address>", "copy recipient (repeatable)", collect)
    .option("--bcc <address>", "blind copy: envelope only, never in the headers", collect)
    .option("--subject <text>", "subject (any Unicode)")
    .option("--body <text>", "body text (default: standard input when it is not a terminal)")
    .option("--body-file <file>", "read the body text from FILE (UTF-8)")
    .option("--html <file>", "HTML alternative of the body (multipart/alternative)")
    .option("--attach <file>", "attach FILE (repeatable)", collect)
    .option("--header <field>", '"Name: value" header to add (repeatable)', collect)
    .option("--raw <file>", "send a prepared message as it is (- for standard input)")
    .addOption(serverOptions.server())
    .addOption(serverOptions.tls())
    .addOption(serverOptions.ca())
    .addOption(serverOptions.insecure())
    .addOption(serverOptions.user())
    .addOption(serverOptions.passwordFile())
    .option("--direct", "no server: deliver to each recipient domain's MX hosts")
    .option("--dns <host:port>", "DNS server for --direct (default: the system's)")
    .option("--mx-port <port>", "port of MX hosts for --direct (default: 25)")
    .option(
      "--route <route>",
      "DOMAIN=HOST:PORT instead of the MX (repeatable; * for all)",
      collect,
    )
    .option("-v, --verbose", "print the SMTP conversation on stderr")
    .option("--json", "print the per-recipient results as JSON")
    .action(async (opts) => {
      const [message, envelope, messageId] = opts.raw !== undefined
        ? await rawMessage(opts)
        : await composedMessage(opts);
      const [plan, options] = await transport(opts);
      const results = await submit(envelope, message, plan, options);
      report(results, {
        json: opts.json === true,
        quiet: false,
        extra: { message_id: messageId, sender: envelope.sender, size: message.length },
      });
    });
}
