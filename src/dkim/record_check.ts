/**
 * Whether a key's record is published as it should be: the TXT records at
 * `SELECTOR._domainkey.DOMAIN` compared with the one the key needs (RFC 6376 §3.6.1: the key
 * is `p=`, its type `k=`, rsa when absent).
 *
 * @module
 */

/** What the published records say about a key. */
export type RecordStatus =
  | { readonly kind: "matches" }
  | { readonly kind: "missing" }
  | { readonly kind: "stale"; readonly published: string }
  | { readonly kind: "error"; readonly error: string };

/** The tags of a DKIM key record (RFC 6376 §3.2 tag-list), names lower-cased. */
export function recordTags(record: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const part of record.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    tags.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).replace(/\s+/g, ""));
  }
  return tags;
}

/**
 * Compares what is published at NAME (looked up with TXT, which rejects on failure; an error
 * with `kind` "nxdomain" or "nodata" means nothing is published) with EXPECTED.
 */
export async function checkRecord(
  txt: (name: string) => Promise<string[][]>,
  name: string,
  expected: string,
): Promise<RecordStatus> {
  let answers: string[][];
  try {
    answers = await txt(name);
  } catch (err) {
    const kind = (err as { kind?: string }).kind;
    const code = (err as { code?: string }).code;
    if (kind === "nxdomain" || kind === "nodata" || code === "ENOTFOUND" || code === "ENODATA") {
      return { kind: "missing" };
    }
    return { kind: "error", error: (err as Error).message ?? String(err) };
  }
  const want = recordTags(expected);
  const records = answers.map((strings) => strings.join(""));
  const keys = records.filter((r) => recordTags(r).has("p"));
  if (keys.length === 0) return { kind: "missing" };
  for (const r of keys) {
    const tags = recordTags(r);
    if (tags.get("p") === want.get("p") && (tags.get("k") ?? "rsa") === want.get("k")) {
      return { kind: "matches" };
    }
  }
  return { kind: "stale", published: keys[0]! };
}
