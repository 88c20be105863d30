/**
 * What a command handler sees of its session: the account, the selected folder, how to encode
 * names and strings for this client, and the backend. Handlers (session_folders.ts,
 * session_messages.ts) return a {@link Result}; the session writes it, with any updates owed
 * to the client before the tagged status (RFC 9051 §7.5).
 *
 * @module
 */
import type { Account, ImapBackend } from "./backend.ts";
import type { Command } from "./command.ts";
import type { Encoding, ResponseCode } from "./response.ts";
import type { SelectedView } from "./selected.ts";

/** What a handler produced. */
export interface Result {
  /** Untagged responses, already encoded, in order. */
  readonly data: Uint8Array[][];
  readonly status: "OK" | "NO" | "BAD";
  readonly text: string;
  readonly code?: ResponseCode;
  /** Updates may include EXPUNGE after this command (not after FETCH, STORE, SEARCH by number). */
  readonly expungesAllowed?: boolean;
  /** Force a look for changes after the command (it changed the folder itself). */
  readonly refresh?: boolean;
}

/** The session as its handlers use it. */
export interface SessionContext {
  readonly backend: ImapBackend;
  readonly account: Account;
  readonly selected: SelectedView | undefined;
  readonly encoding: Encoding;
  /** IMAP4rev2 has been enabled (RFC 9051 §6.3.1). */
  readonly rev2: boolean;
  /** CONDSTORE is in effect (RFC 7162 §3.1: enabled, or used by a command). */
  readonly condstore: boolean;
  readonly qresync: boolean;
  readonly maxMessageSize: number;
  /** A folder name as the client sent it, decoded (modified UTF-7 for rev1); throws BAD. */
  folderName(wire: string): string;
  /** A folder name as this client reads it. */
  wireName(name: string): string;
  /** Selects VIEW (undefined: deselect). */
  select(view: SelectedView | undefined): void;
  /** Marks CONDSTORE in effect (a command used it). */
  useCondstore(): void;
  /**
   * Writes untagged responses now, ahead of the command's answer, and resolves once the client
   * has taken them: a long FETCH goes out as it is made, never held whole in memory.
   */
  flush(data: Uint8Array[][]): Promise<void>;
}

/** A result with status OK and TEXT. */
export function ok(text: string, data: Uint8Array[][] = [], extra: Partial<Result> = {}): Result {
  return { data, status: "OK", text, ...extra };
}

/** A result with status NO (with a response code) or BAD. */
export function no(text: string, code?: string, status: "NO" | "BAD" = "NO"): Result {
  return { data: [], status, text, ...(code ? { code: { name: code } } : {}) };
}

/** The parsed form of the commands named N (one union member may serve several names). */
export type CommandOf<N extends Command["name"]> = Command extends infer C
  ? C extends { readonly name: infer M } ? N extends M ? C : never : never
  : never;
