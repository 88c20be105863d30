/**
 * Flags (RFC 9051 §2.3.2): which a client may set, and how they are written in responses,
 * one message's FLAGS and a folder's FLAGS and PERMANENTFLAGS.
 *
 * @module
 */
import { SYSTEM_FLAGS } from "./backend.ts";
import { atom, type Encoding, type Item, list, untagged, untaggedStatus } from "./response.ts";

const SYSTEM = new Map(
  ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"].map((f) => [f.toLowerCase(), f]),
);

/** Flags a client may set: system flags (canonical case) and keywords; undefined if invalid. */
export function validStoreFlags(flags: readonly string[]): string[] | undefined {
  const out: string[] = [];
  for (const f of flags) {
    if (f.startsWith("\\")) {
      const system = SYSTEM.get(f.toLowerCase());
      // \Recent cannot be set (RFC 3501 §6.4.6); other backslash flags are not ours to keep.
      if (!system) return undefined;
      out.push(system);
    } else out.push(f);
  }
  return [...new Set(out)];
}

/** The FLAGS list of a message. */
export function flagItems(flags: readonly string[]): Item {
  return list(flags.map((f) => atom(f)));
}

/**
 * `* FLAGS` and `* OK [PERMANENTFLAGS]` for a folder with KEYWORDS (RFC 9051 §7.3.5, §7.1):
 * at SELECT, and again whenever a keyword new to the client appears.
 */
export function flagsResponses(
  keywords: readonly string[],
  readOnly: boolean,
  enc: Encoding,
): Uint8Array[][] {
  const flags = [...SYSTEM_FLAGS, ...keywords].map((f) => atom(f));
  return [
    untagged([atom("FLAGS"), list(flags)], enc),
    untaggedStatus("OK", readOnly ? "No permanent flags permitted" : "Flags permitted", {
      name: "PERMANENTFLAGS",
      args: [list(readOnly ? [] : [...flags, atom("\\*")])],
    }),
  ];
}
