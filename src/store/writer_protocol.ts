/**
 * The messages between {@link StoreWriter} and its thread (./writer_worker.ts). Errors cross
 * the thread boundary as plain data, and are rebuilt as StoreErrors when they were ones, so
 * the code that maps store failures to SMTP replies sees the same errors either way.
 *
 * @module
 */
import type { NewMessage } from "./mod.ts";
import type { StoreOptions } from "./sqlite_store.ts";
import { StoreError } from "./errors.ts";

/** From the server to the writer thread. */
export type WriterRequest =
  | { readonly type: "open"; readonly dataDir: string; readonly options: StoreOptions }
  | { readonly type: "deliver"; readonly id: number; readonly messages: readonly NewMessage[] }
  /** Checkpoint soon: the server committed this many messages on its own connection. */
  | { readonly type: "committed-elsewhere"; readonly messages: number; readonly bytes: number }
  | { readonly type: "close" };

/** From the writer thread to the server. */
export type WriterReply =
  | { readonly type: "opened" }
  | { readonly type: "failed"; readonly error: EncodedError }
  | {
    readonly type: "delivered";
    readonly id: number;
    /** Per message: undefined when stored, else why that message alone was not. */
    readonly results?: readonly (EncodedError | undefined)[];
    /** The whole batch failed: nothing of it was committed. */
    readonly error?: EncodedError;
  }
  | { readonly type: "closed" };

/** An error as data. */
export interface EncodedError {
  readonly message: string;
  /** Set for a StoreError. */
  readonly kind?: StoreError["kind"];
}

export function encodeError(err: unknown): EncodedError {
  if (err instanceof StoreError) return { message: err.message, kind: err.kind };
  return { message: err instanceof Error ? err.message : String(err) };
}

export function decodeError(e: EncodedError): Error {
  return e.kind ? new StoreError(e.kind, e.message) : new Error(e.message);
}
