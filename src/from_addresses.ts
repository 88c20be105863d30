/**
 * The addresses of a From: field (RFC 5322 §3.6.2), read in one place for the two that need
 * them: the DMARC check of received mail (the addresses it evaluates, RFC 7489 §6.6.1) and the
 * DKIM signer of submitted mail (the domains whose keys sign). They must read alike: a domain
 * DMARC sees but the signer does not goes unsigned and fails DMARC at the receiver.
 *
 * They are read as mailauth reads them (nodemailer's addressparser), with the mailboxes of a
 * group (RFC 6854: they are authors too). The plain forms most mail has are read without it; it
 * is loaded by the first other form, so the signer, which `mail serve` loads at start, does not
 * bring it.
 *
 * @module
 */
import { fromLatin1 } from "./bytes.ts";

const utf8 = new TextDecoder();

/**
 * The value of a From: field RAW as header parsers give it (the name, the colon, the value with
 * its folds, as a Latin-1 "binary" string), UTF-8 decoded (RFC 6532), without white space at
 * the ends.
 */
export function fromFieldValue(raw: string): string {
  return utf8.decode(fromLatin1(raw.slice(raw.indexOf(":") + 1))).trim();
}

// No control characters: addressparser drops them (DEL is dropped before it reads), so DMARC is
// asked about the domain the message shows ("bank.test\x01" has no policy, "bank.test" has).
const ATOMS = '[^\\s<>()",;:\\\\@\\[\\]\\x00-\\x1f\\x7f]+';
const ADDR = `${ATOMS}@${ATOMS}`;
/** `Name <local@domain>` or `local@domain`, nothing that needs a parser. */
const PLAIN_FROM = new RegExp(`^(?:[A-Za-z0-9 ._-]*<(${ADDR})>|(${ADDR}))$`);

/**
 * How much of a From: value is read: a header line's worth many times over (RFC 5322 §2.1.1
 * allows 998 octets a line). An author controls the field, and its cost is linear in its
 * length; past this, the addresses are those of the first 64 KiB, cut after a comma.
 */
export const MAX_FROM_VALUE = 64 * 1024;

type AddressParser = typeof import("nodemailer/lib/addressparser/index.js").default;
let parser: AddressParser | undefined;

/**
 * The addresses of a From: field's VALUE ({@link fromFieldValue}), in order, those of a group
 * included; an address as addressparser gives it (it may lack an "@" or a valid domain).
 */
export async function fromAddresses(value: string): Promise<string[]> {
  if (value.length > MAX_FROM_VALUE) {
    value = value.slice(0, MAX_FROM_VALUE);
    const comma = value.lastIndexOf(",");
    if (comma > 0) value = value.slice(0, comma);
  }
  // DEL, which addressparser keeps, as it drops the other control characters.
  if (value.includes("\x7f")) value = value.replaceAll("\x7f", "");
  const plain = PLAIN_FROM.exec(value);
  if (plain) return [(plain[1] ?? plain[2])!];
  parser ??= (await import("nodemailer/lib/addressparser/index.js")).default;
  const out: string[] = [];
  for (const a of parser(value)) {
    for (const m of a.group ?? [a]) if (m.address) out.push(m.address);
  }
  return out;
}
