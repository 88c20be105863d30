/**
 * `mail sendmail`: the sendmail(8) command line, so that cron, git send-email and PHP's mail()
 * work unchanged. Reads a message on standard input and submits it like `mail send --raw`.
 *
 * Flags as sendmail and Postfix take them: `-t` (recipients from To/Cc/Bcc, added to those on
 * the command line, as Postfix does; Bcc removed), `-i`/`-oi` (a lone "." does not end the
 * input), `-f FROM` (envelope sender), `-F NAME` (full name for a From header we add). `-o`
 * options other than `-oi`, `-B` and `-v` are accepted for compatibility.
 *
 * @module
 */
import { CliError, EXIT } from "../exit_codes.ts";
import { type NamedAddress, parseSingleAddress, uniqueAddresses } from "../client/addresses.ts";
import { newMessageId } from "../client/compose.ts";
import {
  addressesIn,
  cutAtDotLine,
  fieldValues,
  prependFields,
  removeFields,
  toCrlf,
} from "../client/raw_message.ts";
import { submit } from "../client/submit.ts";
import { newCommand } from "./_common.ts";
import { addresses, checkMessage, collect, parsingAddresses, readStdin } from "./_input.ts";
import { heloName, report, serverOptions, transport } from "./send_options.ts";

/** RFC 5322 §3.3 date-time, in UTC. */
export function rfc5322Date(d: Date): string {
  return d.toUTCString().replace(/GMT$/, "+0000");
}

/** The envelope sender: `-f`, else the From header, else `$USER@hostname` as sendmail does. */
function senderOf(message: Uint8Array, flag: string | undefined): NamedAddress {
  if (flag !== undefined) return parsingAddresses(() => parseSingleAddress(flag));
  const from = parsingAddresses(() => addressesIn(message, ["From"]))[0];
  if (from) return from;
  const user = Deno.env.get("USER") ?? Deno.env.get("LOGNAME") ?? "root";
  return parsingAddresses(() => parseSingleAddress(`${user}@${heloName()}`));
}

/** A display name as an RFC 5322 quoted-string (§3.2.4), or an encoded word (RFC 2047). */
function displayName(name: string): string {
  if (/[^\x20-\x7e]/.test(name)) {
    const b64 = btoa(String.fromCharCode(...new TextEncoder().encode(name)));
    return `=?UTF-8?B?${b64}?=`;
  }
  return `"${name.replace(/["\\]/g, "\\$&")}"`;
}

/**
 * Adds the fields RFC 5322 §3.6 requires when the input lacks them (From, Date) and a
 * Message-ID, as sendmail and Postfix's cleanup do; nothing else is changed.
 */
function completeHeader(message: Uint8Array, sender: string, fullName?: string): Uint8Array {
  const add: string[] = [];
  if (fieldValues(message, "From").length === 0) {
    add.push(`From: ${fullName ? `${displayName(fullName)} <${sender}>` : sender}`);
  }
  if (fieldValues(message, "Date").length === 0) add.push(`Date: ${rfc5322Date(new Date())}`);
  if (fieldValues(message, "Message-ID").length === 0) {
    add.push(`Message-ID: ${newMessageId(sender)}`);
  }
  return prependFields(message, add);
}

export function sendmailCommand() {
  return newCommand("sendmail", "Submit a message from standard input (sendmail-compatible)")
    .argument("[recipients...]", "envelope recipients")
    .option("-t", "read recipients from the To, Cc and Bcc headers (Bcc is then removed)")
    .option("-i", "a line with a single dot does not end the message")
    .option("-f <from>", "envelope sender (default: the From header)")
    .option("-F <name>", "full name, for a From header added when there is none")
    .option("-o <option>", "sendmail option (-oi is -i; the others are ignored)", collect)
    .option("-B <type>", "body type (ignored: the message decides)")
    .option("-v, --verbose", "print the SMTP conversation on stderr")
    .addOption(serverOptions.server())
    .addOption(serverOptions.tls())
    .addOption(serverOptions.ca())
    .addOption(serverOptions.insecure())
    .addOption(serverOptions.user())
    .addOption(serverOptions.passwordFile())
    .action(async (args, opts) => {
      const ignoreDots = opts.i === true || (opts.o ?? []).includes("i");
      let input = await readStdin();
      if (!ignoreDots) input = cutAtDotLine(input);
      let message = toCrlf(input);
      const recipients = addresses(args);
      if (opts.t) {
        recipients.push(...parsingAddresses(() => addressesIn(message, ["To", "Cc", "Bcc"])));
        // Bcc recipients are in the envelope; the header must not show them (RFC 5322 §3.6.3).
        message = removeFields(message, ["Bcc"]);
      }
      if (recipients.length === 0) {
        throw new CliError("No recipients: give them as arguments, or use -t", EXIT.USAGE);
      }
      const sender = senderOf(message, opts.f);
      message = completeHeader(message, sender.address, opts.F ?? (sender.name || undefined));
      checkMessage(message);
      const envelope = {
        sender: sender.address,
        recipients: uniqueAddresses(recipients.map((r) => r.address)),
      };
      const [plan, options] = await transport(opts);
      const results = await submit(envelope, message, plan, options);
      // sendmail is silent when all went well; failures are one line each on stderr.
      for (const r of results.filter((r) => r.status !== "sent")) {
        if (results.some((o) => o.text !== r.text)) console.error(`${r.recipient}: ${r.text}`);
      }
      report(results, { json: false, quiet: true });
    });
}
