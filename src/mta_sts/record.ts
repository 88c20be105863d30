/**
 * The `_mta-sts.DOMAIN` TXT record (RFC 8461 §3.1): `v=STSv1; id=20240101T000000;` says a
 * domain has a policy and names its version. Only the id matters to a sender: a changed id
 * means the policy must be fetched again.
 *
 * @module
 */
import { PolicySyntaxError } from "./errors.ts";
import { isWsp, trimmed } from "../trim.ts";

/** Most TXT records of one name looked at; more is not an honest `_mta-sts` answer. */
export const MAX_TXT_RECORDS = 32;
/** Longest TXT record (its strings joined) looked at. */
export const MAX_TXT_LENGTH = 2048;

// §3.1: sts-id = 1*32(ALPHA / DIGIT); sts-ext-name = (ALPHA / DIGIT) 0*31(ALPHA / DIGIT / "_" /
// "-" / "."); sts-ext-value = 1*(%x21-3A / %x3C / %x3E-7E).
const ID = /^[A-Za-z0-9]{1,32}$/;
const EXT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
const EXT_VALUE = /^[\x21-\x3a\x3c\x3e-\x7e]+$/;

/**
 * The id of one TXT record's text (its strings already joined), per the §3.1 grammar:
 * `v=STSv1` first, `;`-separated fields with optional white space, an `id`, extensions
 * ignored. Throws {@link PolicySyntaxError} otherwise.
 */
export function parseStsRecord(text: string): string {
  const parts = text.split(";");
  if (parts.length < 2 || !/^v=STSv1[ \t]*$/.test(parts[0]!)) {
    throw new PolicySyntaxError("MTA-STS record does not start with v=STSv1;");
  }
  let id: string | undefined;
  for (let i = 1; i < parts.length; i++) {
    const field = trimmed(parts[i]!, isWsp);
    if (field === "" && i === parts.length - 1) continue; // the optional final ";"
    const eq = field.indexOf("=");
    if (eq < 1) throw new PolicySyntaxError(`MTA-STS record has a malformed field: ${field}`);
    const name = field.slice(0, eq);
    const value = field.slice(eq + 1);
    if (name === "id") {
      if (!ID.test(value)) throw new PolicySyntaxError(`MTA-STS record has a bad id: ${value}`);
      id ??= value;
    } else if (!EXT_NAME.test(name) || !EXT_VALUE.test(value)) {
      throw new PolicySyntaxError(`MTA-STS record has a malformed field: ${field}`);
    }
  }
  if (id === undefined) throw new PolicySyntaxError("MTA-STS record has no id");
  return id;
}

/**
 * The policy id published in the TXT records of `_mta-sts.DOMAIN` (each a list of strings, as
 * DNS gives them), or undefined when there is none. §3.1: records not starting with
 * `v=STSv1` are discarded; more than one left, or one that does not parse, is "no policy"
 * (thrown as {@link PolicySyntaxError}, so the caller can log why).
 */
export function stsRecordId(records: readonly (readonly string[])[]): string | undefined {
  const candidates: string[] = [];
  for (const strings of records.slice(0, MAX_TXT_RECORDS)) {
    const text = strings.join("");
    if (!text.startsWith("v=STSv1")) continue;
    if (text.length > MAX_TXT_LENGTH) {
      throw new PolicySyntaxError(`MTA-STS record longer than ${MAX_TXT_LENGTH} characters`);
    }
    candidates.push(text);
  }
  if (candidates.length === 0) return undefined;
  if (candidates.length > 1) throw new PolicySyntaxError("More than one MTA-STS record");
  return parseStsRecord(candidates[0]!);
}
