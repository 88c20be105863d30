/**
 * What `mail send` and `mail sendmail` read from the user: files and standard input, address
 * lists, and the check that a message is fit for the wire. Both commands take their input the
 * same way and fail on bad input with the same one-line errors and sysexits statuses.
 *
 * @module
 */
import { CliError, EXIT } from "../exit_codes.ts";
import { AddressError } from "../smtp/address.ts";
import { MAX_TEXT_LINE, messageNeeds } from "../smtp/client_commands.ts";
import { type NamedAddress, parseAddressList } from "../client/addresses.ts";

/** Collects the values of a repeatable flag, in the order given. */
export const collect = (value: string, previous: string[] | undefined): string[] => [
  ...(previous ?? []),
  value,
];

/** Reads a file the user named; a missing one is exit 66. */
export async function readInputFile(path: string, what: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new CliError(`${what} ${path} not found`, EXIT.NOINPUT);
    }
    if (err instanceof Deno.errors.IsADirectory) {
      throw new CliError(`${what} ${path} is a directory`, EXIT.NOINPUT);
    }
    throw new CliError(`Cannot read ${what} ${path}: ${(err as Error).message}`, EXIT.NOINPUT);
  }
}

/** All of standard input. */
export async function readStdin(): Promise<Uint8Array> {
  return new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer());
}

/** Runs F, turning a bad address into bad input (65). */
export function parsingAddresses<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof AddressError) throw new CliError(err.message, EXIT.DATAERR);
    throw err;
  }
}

/** Parses address flags; a bad address is bad input (65). */
export function addresses(values: readonly string[] | undefined): NamedAddress[] {
  return parsingAddresses(() => (values ?? []).flatMap((v) => parseAddressList(v)));
}

/** Checks a message ready for the wire (RFC 5321 §2.3.8 CRLF, §4.5.3.1.6 line length). */
export function checkMessage(message: Uint8Array): void {
  const needs = messageNeeds(message);
  if (needs.bareLineEnding) {
    throw new CliError("The message has a bare CR (a CR not followed by LF)", EXIT.DATAERR);
  }
  if (needs.longLine > 0) {
    throw new CliError(
      `Line ${needs.longLine} of the message is longer than ${MAX_TEXT_LINE} octets`,
      EXIT.DATAERR,
    );
  }
}
