/**
 * POP3 commands parsed into typed values (RFC 1939 §3, §5-§7; RFC 2449 CAPA; RFC 2595 STLS;
 * RFC 5034 AUTH). A command is a case-insensitive keyword of three or four characters,
 * optionally followed by arguments separated by a space.
 *
 * Parsing is in two steps so that the session can check the state before the arguments: a
 * wrong-state command is refused as such whatever its arguments say. {@link splitCommand}
 * finds the keyword, {@link parseArguments} reads what follows it. Bad input throws a
 * {@link Pop3CommandError}, whose message is the `-ERR` text; nothing the client sent is echoed.
 *
 * @module
 */

/** The commands this server knows. */
export const COMMAND_NAMES = [
  "USER",
  "PASS",
  "AUTH",
  "STLS",
  "CAPA",
  "STAT",
  "LIST",
  "UIDL",
  "TOP",
  "RETR",
  "DELE",
  "RSET",
  "NOOP",
  "QUIT",
] as const;
export type CommandName = typeof COMMAND_NAMES[number];

/** A parsed command. Message numbers are as sent (1-based); the session checks their range. */
export type Command =
  | { readonly name: "USER"; readonly user: string }
  /** RFC 1939 §7: the whole rest of the line is the password, spaces included. */
  | { readonly name: "PASS"; readonly password: string }
  /**
   * RFC 5034 §4. Without a mechanism: the client asks which mechanisms there are (as many
   * clients do, after the draft RFC 5034 replaced). `initial`: the initial response, as sent.
   */
  | { readonly name: "AUTH"; readonly mechanism?: string; readonly initial?: string }
  | { readonly name: "LIST" | "UIDL"; readonly message?: number }
  | { readonly name: "RETR" | "DELE"; readonly message: number }
  | { readonly name: "TOP"; readonly message: number; readonly lines: number }
  | { readonly name: "STLS" | "CAPA" | "STAT" | "RSET" | "NOOP" | "QUIT" };

/** A command the server cannot read; the message is the text of the `-ERR` reply. */
export class Pop3CommandError extends Error {
  override readonly name = "Pop3CommandError";
}

const NAMES: ReadonlySet<string> = new Set(COMMAND_NAMES);
const utf8 = new TextDecoder("utf-8", { fatal: true });
/** Control characters other than tab have no place in a command line. */
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;
const NUMBER = /^[0-9]{1,10}$/;
/** TOP's line count: any non-negative number (counts past the message's end send it whole). */
const COUNT = /^[0-9]{1,15}$/;

/** Whether KEYWORD (upper-cased) names a command this server knows. */
export function isCommandName(keyword: string): keyword is CommandName {
  return NAMES.has(keyword);
}

/** The upper-cased keyword of LINE and the text after the space that ends it. */
export function splitCommand(line: Uint8Array): { keyword: string; args: string | undefined } {
  let text: string;
  try {
    text = utf8.decode(line);
  } catch {
    throw new Pop3CommandError("Invalid UTF-8 in command");
  }
  if (CONTROL.test(text)) throw new Pop3CommandError("Invalid characters in command");
  const space = text.indexOf(" ");
  if (space < 0) return { keyword: text.toUpperCase(), args: undefined };
  return { keyword: text.slice(0, space).toUpperCase(), args: text.slice(space + 1) };
}

/** Reads the arguments of command NAME (ARGS: the text after the keyword's space, if any). */
export function parseArguments(name: CommandName, args: string | undefined): Command {
  switch (name) {
    case "USER": {
      const user = args?.trim() ?? "";
      if (user === "") throw new Pop3CommandError("Syntax: USER name");
      return { name, user };
    }
    case "PASS":
      if (args === undefined) throw new Pop3CommandError("Syntax: PASS password");
      return { name, password: args };
    case "AUTH": {
      const words = split(args);
      if (words.length > 2) throw new Pop3CommandError("Syntax: AUTH mechanism [initial-response]");
      const [mechanism, initial] = words;
      if (mechanism === undefined) return { name };
      return initial === undefined
        ? { name, mechanism: mechanism.toUpperCase() }
        : { name, mechanism: mechanism.toUpperCase(), initial };
    }
    case "LIST":
    case "UIDL": {
      const words = split(args);
      if (words.length > 1) throw new Pop3CommandError(`Syntax: ${name} [message]`);
      return words[0] === undefined ? { name } : { name, message: messageNumber(words[0]) };
    }
    case "RETR":
    case "DELE": {
      const words = split(args);
      if (words.length !== 1) throw new Pop3CommandError(`Syntax: ${name} message`);
      return { name, message: messageNumber(words[0]!) };
    }
    case "TOP": {
      const words = split(args);
      if (words.length !== 2) throw new Pop3CommandError("Syntax: TOP message lines");
      const lines = words[1]!;
      if (!COUNT.test(lines)) throw new Pop3CommandError("Invalid number of lines");
      return { name, message: messageNumber(words[0]!), lines: Number(lines) };
    }
    default:
      if (split(args).length > 0) throw new Pop3CommandError(`Syntax: ${name}`);
      return { name };
  }
}

/** Both steps at once: a known command with valid arguments, or a {@link Pop3CommandError}. */
export function parseCommand(line: Uint8Array): Command {
  const { keyword, args } = splitCommand(line);
  if (!isCommandName(keyword)) throw new Pop3CommandError("Unknown command");
  return parseArguments(keyword, args);
}

/** Arguments separated by spaces; runs of spaces and trailing spaces are forgiven. */
function split(args: string | undefined): string[] {
  if (args === undefined) return [];
  return args.split(" ").filter((w) => w !== "");
}

function messageNumber(word: string): number {
  if (!NUMBER.test(word)) throw new Pop3CommandError("Invalid message number");
  return Number(word);
}
