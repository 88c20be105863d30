/**
 * Addresses as people type them and as headers hold them: `ann@example.com`,
 * `"Ann Lee" <ann@example.com>`, lists separated by commas (RFC 5322 §3.4). Parsing is
 * nodemailer's address parser; every address it yields is then checked against our own path
 * grammar (RFC 5321 §4.1.2), the one that decides what goes on the wire.
 *
 * @module
 */
import addressparser from "nodemailer/lib/addressparser";
import { AddressError, parseMailbox } from "../smtp/address.ts";

/** A mailbox with its optional display name. */
export interface NamedAddress {
  readonly name: string;
  readonly address: string;
}

/**
 * Parses one or more comma-separated addresses from INPUT. Throws AddressError naming the
 * input when any of them is not a valid mailbox. Groups (`team: a@x, b@y;`) are flattened.
 */
export function parseAddressList(input: string): NamedAddress[] {
  if (/[\r\n]/.test(input)) {
    throw new AddressError(`Line break in address ${JSON.stringify(input)}`);
  }
  const parsed = addressparser(input, { flatten: true });
  const out: NamedAddress[] = [];
  for (const { name, address } of parsed) {
    try {
      parseMailbox(address, true);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new AddressError(`Invalid address ${JSON.stringify(address || input)}: ${why}`);
    }
    out.push({ name, address });
  }
  return out;
}

/** Exactly one address (for `--from`, `-f`). */
export function parseSingleAddress(input: string): NamedAddress {
  const list = parseAddressList(input);
  if (list.length !== 1) {
    throw new AddressError(`Expected one address, got ${list.length}: ${JSON.stringify(input)}`);
  }
  return list[0]!;
}

/** Unique addresses in first-seen order; addresses differing only in case are the same. */
export function uniqueAddresses(addresses: readonly string[]): string[] {
  const seen = new Set<string>();
  return addresses.filter((a) => {
    const key = a.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The domain of ADDRESS (what follows the last `@`), lower-cased for grouping. */
export function domainPart(address: string): string {
  return address.slice(address.lastIndexOf("@") + 1).toLowerCase();
}
