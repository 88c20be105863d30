/**
 * Folder names on the wire: modified UTF-7 for IMAP4rev1 clients (RFC 3501 §5.1.3), UTF-8 for
 * IMAP4rev2 (RFC 9051 §5.1) and clients that enabled UTF8=ACCEPT; INBOX in any case; LIST
 * patterns with `*` and `%` (RFC 9051 §6.3.9).
 *
 * @module
 */
import { Buffer } from "node:buffer";

/** Encodes NAME in modified UTF-7: `&` as `&-`, non-ASCII runs as `&` base64(UTF-16BE) `-`. */
export function encodeMutf7(name: string): string {
  let out = "";
  let run: number[] = [];
  const flush = () => {
    if (run.length === 0) return;
    const bytes = new Uint8Array(run.length * 2);
    run.forEach((u, i) => {
      bytes[2 * i] = u >> 8;
      bytes[2 * i + 1] = u & 0xff;
    });
    out += "&" + Buffer.from(bytes).toString("base64").replace(/=+$/, "").replace(/\//g, ",") + "-";
    run = [];
  };
  for (let i = 0; i < name.length; i++) {
    const u = name.charCodeAt(i);
    if (u >= 0x20 && u <= 0x7e) {
      flush();
      out += u === 0x26 ? "&-" : name[i];
    } else run.push(u);
  }
  flush();
  return out;
}

/** Decodes modified UTF-7; undefined when TEXT is not valid modified UTF-7. */
export function decodeMutf7(text: string): string | undefined {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const code = c.charCodeAt(0);
    if (code < 0x20 || code > 0x7e) return undefined;
    if (c !== "&") {
      out += c;
      continue;
    }
    const end = text.indexOf("-", i);
    if (end < 0) return undefined;
    const b64 = text.slice(i + 1, end);
    i = end;
    if (b64 === "") {
      out += "&";
      continue;
    }
    if (!/^[A-Za-z0-9+,]+$/.test(b64)) return undefined;
    const bytes = Buffer.from(b64.replace(/,/g, "/"), "base64");
    if (bytes.length % 2 !== 0 || bytes.length === 0) return undefined;
    let run = "";
    for (let j = 0; j < bytes.length; j += 2) {
      run += String.fromCharCode((bytes[j]! << 8) | bytes[j + 1]!);
    }
    // A run must hold characters that needed encoding (RFC 3501 §5.1.3).
    if (/[\x20-\x7e]/.test(run)) return undefined;
    out += run;
  }
  return out;
}

/** INBOX is case-insensitive, and so is its first level (`inbox/x` is `INBOX/x`). */
export function canonicalName(name: string, delimiter = "/"): string {
  if (name.toUpperCase() === "INBOX") return "INBOX";
  if (name.slice(0, 6).toUpperCase() === "INBOX" + delimiter) return "INBOX" + name.slice(5);
  return name;
}

/**
 * Whether NAME matches PATTERN (RFC 9051 §6.3.9): `*` matches anything, `%` anything but the
 * delimiter. Matching is linear in the lengths (no backtracking blow-up on `*%*%…`).
 */
export function matchesPattern(name: string, pattern: string, delimiter = "/"): boolean {
  // Dynamic programming over pattern positions: the set of positions reachable so far.
  let states = new Set<number>([0]);
  const close = (set: Set<number>) => {
    for (const p of [...set]) {
      let q = p;
      while (pattern[q] === "*" || pattern[q] === "%") set.add(++q);
    }
    return set;
  };
  states = close(states);
  for (let i = 0; i < name.length; i++) {
    const ch = name[i];
    const next = new Set<number>();
    for (const p of states) {
      const pc = pattern[p];
      if (pc === undefined) continue;
      if (pc === "*") next.add(p);
      else if (pc === "%") {
        if (ch !== delimiter) next.add(p);
      } else if (pc === ch) next.add(p + 1);
    }
    states = close(next);
    if (states.size === 0) return false;
  }
  return states.has(pattern.length);
}

/** A valid folder name to create: not empty, no empty levels, no control characters, bounded. */
export function validFolderName(name: string, delimiter = "/"): boolean {
  if (name.length === 0 || name.length > 512) return false;
  if (/[\x00-\x1f\x7f*%]/.test(name)) return false;
  return name.split(delimiter).every((level) => level.length > 0 && level.length <= 255) &&
    name.split(delimiter).length <= 16;
}
