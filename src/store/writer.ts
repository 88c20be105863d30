/**
 * Commits deliveries on a thread of their own (./writer_worker.ts), with its own connection to
 * the database. `node:sqlite` is synchronous: on the server's thread, every commit and its fsync
 * would stop all sockets for their duration. Here the server's thread keeps reading and parsing
 * while a batch is committed, and the next batch gathers meanwhile (group commit).
 *
 * Each promise settles only after the writer thread's COMMIT returned, that is after the fsync:
 * a 250 sent when it resolves is true.
 *
 * @module
 */
import type { NewMessage } from "./mod.ts";
import { StoreError } from "./errors.ts";
import type { StoreOptions } from "./sqlite_store.ts";
import { decodeError, type WriterReply, type WriterRequest } from "./writer_protocol.ts";

type Results = (Error | undefined)[];

/** The store's writer thread, seen from the server. */
export class StoreWriter {
  readonly #worker: Worker;
  readonly #pending = new Map<number, PromiseWithResolvers<Results>>();
  #nextId = 1;
  #failure: Error | undefined;
  #closed: PromiseWithResolvers<void> | undefined;

  private constructor(worker: Worker) {
    this.#worker = worker;
  }

  /**
   * Starts the thread and opens DATADIR's database on it (it must exist: the server's own
   * connection created and migrated it). Rejects with a StoreError when it cannot be opened.
   */
  static async start(dataDir: string, options: StoreOptions = {}): Promise<StoreWriter> {
    // deno compile embeds this module because the compile task names it with --include.
    const worker = new Worker(new URL("./writer_worker.ts", import.meta.url).href, {
      type: "module",
    });
    const writer = new StoreWriter(worker);
    const opened = Promise.withResolvers<void>();
    worker.onmessage = (e: MessageEvent<WriterReply>) => {
      const reply = e.data;
      if (reply.type === "opened") opened.resolve();
      else if (reply.type === "failed") opened.reject(decodeError(reply.error));
      else writer.#onReply(reply);
    };
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      const err = new StoreError("io", `The store's writer thread failed: ${e.message}`);
      opened.reject(err);
      writer.#fail(err);
    };
    writer.#post({ type: "open", dataDir, options });
    try {
      await opened.promise;
    } catch (err) {
      worker.terminate();
      throw err;
    }
    return writer;
  }

  /** Set once the thread has died: later deliveries must go elsewhere. */
  get failed(): boolean {
    return this.#failure !== undefined;
  }

  /**
   * Stores MESSAGES in one transaction on the writer thread (see Store.deliverMany).
   *
   * The chunks' buffers are moved to the thread, not copied, when each is a whole ArrayBuffer
   * (a 25 MiB message is never held twice): the caller must not read the chunks afterwards.
   */
  deliverMany(messages: readonly NewMessage[]): Promise<Results> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closed) return Promise.reject(new StoreError("io", "The store writer is closed"));
    const id = this.#nextId++;
    const done = Promise.withResolvers<Results>();
    this.#pending.set(id, done);
    this.#post({ type: "deliver", id, messages }, transferable(messages));
    return done.promise;
  }

  /**
   * Tells the thread that MESSAGES messages of BYTES octets were committed on another
   * connection, so that its checkpoints also keep that connection's commits free of them.
   */
  committedElsewhere(messages: number, bytes: number): void {
    if (this.#failure || this.#closed) return;
    this.#post({ type: "committed-elsewhere", messages, bytes });
  }

  /** Waits for the batches in flight, closes the thread's connection and stops the thread. */
  async close(): Promise<void> {
    if (this.#closed) return this.#closed.promise;
    const closed = this.#closed = Promise.withResolvers<void>();
    if (this.#failure) {
      this.#worker.terminate();
      closed.resolve();
      return closed.promise;
    }
    // Replies come in request order, so "closed" arrives after every batch's reply.
    this.#post({ type: "close" });
    await closed.promise;
  }

  #post(request: WriterRequest, transfer: Transferable[] = []): void {
    this.#worker.postMessage(request, transfer);
  }

  #onReply(reply: WriterReply): void {
    if (reply.type === "closed") {
      this.#worker.terminate();
      this.#closed?.resolve();
      return;
    }
    if (reply.type !== "delivered") return;
    const done = this.#pending.get(reply.id);
    if (!done) return;
    this.#pending.delete(reply.id);
    if (reply.error) done.reject(decodeError(reply.error));
    else done.resolve((reply.results ?? []).map((e) => e && decodeError(e)));
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    for (const done of this.#pending.values()) done.reject(err);
    this.#pending.clear();
    this.#worker.terminate();
    this.#closed?.resolve();
  }
}

/** The distinct, whole ArrayBuffers behind the messages' chunks. */
function transferable(messages: readonly NewMessage[]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const m of messages) {
    for (const c of m.chunks) {
      const b = c.buffer;
      if (b instanceof ArrayBuffer && c.byteOffset === 0 && c.byteLength === b.byteLength) {
        out.add(b);
      }
    }
  }
  return [...out];
}
