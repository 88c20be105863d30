/**
 * Command parsing: verbs and the arguments of MAIL and RCPT (RFC 5321 §4.1.1, §4.1.2), and the
 * ESMTP parameters we implement (RFC 1870 SIZE, RFC 6152 BODY, RFC 6531 SMTPUTF8).
 *
 * Parsers throw {@link SmtpError}s carrying the reply the client should get.
 *
 * @module
 */
import { AddressError, type Mailbox, parseDomain, parsePath } from "./address.ts";
import { SmtpError } from "./reply.ts";

/** A command line split into its verb (upper-cased) and the rest. */
export interface Command {
  readonly verb: string;
  readonly args: string;
}

/** Splits `VERB args`; verbs are case-insensitive (RFC 5321 §2.4). */
export function parseCommand(line: string): Command {
  const sp = line.indexOf(" ");
  const verb = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
  const args = sp < 0 ? "" : line.slice(sp + 1).trim();
  return { verb, args };
}

/** Syntax error in parameters or arguments (RFC 5321 §4.2.3, RFC 3463 §3.6 X.5.4). */
export function syntaxError(text: string): SmtpError {
  return new SmtpError(501, "5.5.4", text);
}

/** ESMTP parameters of a MAIL command that we understand. */
export interface MailParams {
  /** RFC 1870 declared size, if any. */
  readonly size?: number | undefined;
  /** RFC 6152: `8BITMIME` or `7BIT`. */
  readonly body?: "7BIT" | "8BITMIME" | undefined;
  /** RFC 6531 §3.4. */
  readonly smtputf8: boolean;
}

/** A parsed MAIL FROM. `sender` is undefined for the null reverse-path `<>`. */
export interface MailCommand {
  readonly sender: Mailbox | undefined;
  readonly params: MailParams;
}

/** Splits `FROM:<path> params` into path and parameter words; tolerates a space after ':'. */
function splitPathArgs(args: string, keyword: string): [string, string[]] {
  if (args.slice(0, keyword.length + 1).toUpperCase() !== `${keyword}:`) {
    throw syntaxError(
      `Syntax: ${keyword === "FROM" ? "MAIL FROM:<address>" : "RCPT TO:<address>"}`,
    );
  }
  // RFC 5321 has no space after the colon, but many clients send one (Postfix accepts it too).
  const rest = args.slice(keyword.length + 1).trimStart();
  if (!rest.startsWith("<")) {
    throw syntaxError("Address must be enclosed in <>");
  }
  // The path ends at the first ">" that is not inside a quoted local part.
  let i = 1;
  let quoted = false;
  for (; i < rest.length; i++) {
    const c = rest[i];
    if (quoted && c === "\\") i++;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && c === ">") break;
  }
  if (i >= rest.length) throw syntaxError("Unterminated address: missing >");
  const path = rest.slice(0, i + 1);
  const tail = rest.slice(i + 1);
  if (tail !== "" && !tail.startsWith(" ")) throw syntaxError("Space expected after address");
  const words = tail.split(" ").filter((w) => w !== "");
  return [path, words];
}

/** Splits one `keyword[=value]` parameter (RFC 5321 §4.1.2 esmtp-param). */
function splitParam(word: string): [string, string | undefined] {
  const eq = word.indexOf("=");
  const key = (eq < 0 ? word : word.slice(0, eq)).toUpperCase();
  if (!/^[A-Z0-9][A-Z0-9-]*$/.test(key)) throw syntaxError(`Invalid parameter ${word}`);
  return [key, eq < 0 ? undefined : word.slice(eq + 1)];
}

function unknownParam(key: string): SmtpError {
  // RFC 5321 §4.1.1.11 / §4.2.3: 555 for parameters not recognised or not implemented.
  return new SmtpError(555, "5.5.4", `Unsupported parameter ${key}`);
}

/** RFC 3463 §3.2: X.1.7 bad sender mailbox syntax, X.1.3 bad destination mailbox syntax. */
function addressError(err: unknown, enhanced: "5.1.7" | "5.1.3"): never {
  if (err instanceof AddressError) {
    throw new SmtpError(501, enhanced, `Bad address syntax: ${err.message}`);
  }
  throw err;
}

/**
 * Parses the arguments of MAIL. `esmtp` is whether the session began with EHLO (parameters are
 * an ESMTP feature); `maxSize` is the advertised SIZE limit.
 */
export function parseMail(args: string, esmtp: boolean, maxSize: number): MailCommand {
  const [pathText, words] = splitPathArgs(args, "FROM");
  let size: number | undefined;
  let body: MailParams["body"];
  let smtputf8 = false;
  const seen = new Set<string>();
  for (const word of words) {
    const [key, value] = splitParam(word);
    if (!esmtp) throw unknownParam(key);
    if (seen.has(key)) throw syntaxError(`Duplicate parameter ${key}`);
    seen.add(key);
    switch (key) {
      case "SIZE": {
        if (value === undefined || !/^\d{1,20}$/.test(value)) throw syntaxError("Bad SIZE value");
        size = Number(value);
        // RFC 1870 §6.2: a declared size over the fixed maximum gets 552 at MAIL.
        if (size > maxSize) {
          throw new SmtpError(552, "5.3.4", `Message size exceeds fixed maximum of ${maxSize}`);
        }
        break;
      }
      case "BODY": {
        if (value === undefined) throw syntaxError("BODY needs a value");
        const v = value.toUpperCase();
        if (v !== "7BIT" && v !== "8BITMIME") {
          // BINARYMIME needs CHUNKING (RFC 3030), which we do not offer.
          throw new SmtpError(555, "5.5.4", `Unsupported BODY value ${value ?? ""}`);
        }
        body = v;
        break;
      }
      case "SMTPUTF8":
        if (value !== undefined) throw syntaxError("SMTPUTF8 takes no value");
        smtputf8 = true;
        break;
      default:
        throw unknownParam(key);
    }
  }
  let sender: Mailbox | undefined;
  try {
    sender = parsePath(pathText, smtputf8, true).mailbox;
  } catch (err) {
    addressError(err, "5.1.7");
  }
  return { sender, params: { size, body, smtputf8 } };
}

/** A parsed RCPT TO. `postmaster` is set for the domain-less `<Postmaster>` form. */
export interface RcptCommand {
  readonly recipient: Mailbox | undefined;
  /** RFC 5321 §4.1.1.3: `RCPT TO:<Postmaster>` without a domain must be accepted. */
  readonly postmaster: boolean;
}

/** Parses the arguments of RCPT; `smtputf8` is whether MAIL declared SMTPUTF8. */
export function parseRcpt(args: string, smtputf8: boolean): RcptCommand {
  const [pathText, words] = splitPathArgs(args, "TO");
  for (const word of words) {
    const [key] = splitParam(word);
    // No RCPT parameters are implemented (DSN's NOTIFY/ORCPT are not advertised).
    throw unknownParam(key);
  }
  if (pathText.toLowerCase() === "<postmaster>") return { recipient: undefined, postmaster: true };
  try {
    const { mailbox } = parsePath(pathText, smtputf8, false);
    return { recipient: mailbox, postmaster: false };
  } catch (err) {
    addressError(err, "5.1.3");
  }
}

/**
 * Checks the HELO/EHLO argument: a domain or an address literal (RFC 5321 §4.1.1.1). Underscores,
 * common in Windows machine names, are tolerated.
 */
export function parseHeloName(args: string): string {
  const name = args.split(" ")[0] ?? "";
  if (name === "") throw syntaxError("Domain name required");
  if (name.startsWith("[") && name.endsWith("]")) {
    if (/^\[[0-9A-Za-z:.]+\]$/.test(name)) return name;
    throw syntaxError("Invalid address literal");
  }
  try {
    parseDomain(name.replace(/_/g, "-").replace(/\.$/, ""), true);
  } catch {
    throw syntaxError("Invalid domain name");
  }
  return name;
}
