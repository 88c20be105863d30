/**
 * Group commit: messages whose data ends in the same turn of the event loop, or while the batch
 * before them is waiting for the disk, share one transaction, so one fsync makes all of them
 * durable. Each caller's promise settles only after that commit (a 250 is never sent before its
 * message is on disk), and with its own outcome: a message that fails does not fail the others.
 *
 * One batch is committed at a time. A batch waits only for the rest of the current event-loop
 * turn (setImmediate), not for a timer; a lone client skips even that (its backend commits in
 * place when the committer is {@link GroupCommitter.idle}). Under load the sink waits for the
 * disk off the main thread (the store's deliverManyAsync): the event loop goes on reading other
 * clients' data meanwhile, and what they finish forms the next batch, so fsyncs are shared
 * without any waiting added.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import type { NewMessage } from "../store/mod.ts";

/** A store that can commit several deliveries in one transaction. */
export interface BatchSink {
  /**
   * Stores each message in one transaction; returns (or resolves to), per message, undefined
   * for success or the error that message alone failed with (its own changes rolled back).
   */
  deliverMany(
    messages: readonly NewMessage[],
  ): (Error | undefined)[] | Promise<(Error | undefined)[]>;
}

interface Pending {
  readonly message: NewMessage;
  readonly done: PromiseWithResolvers<void>;
}

/** Collects deliveries and commits them together, one batch at a time. */
export class GroupCommitter {
  readonly #sink: BatchSink;
  readonly #maxBatch: number;
  #pending: Pending[] = [];
  #scheduled = false;
  #committing = false;

  constructor(sink: BatchSink, maxBatch = 256) {
    this.#sink = sink;
    this.#maxBatch = maxBatch;
  }

  /** Nothing is waiting or being committed: a message now would be a batch of its own. */
  get idle(): boolean {
    return this.#pending.length === 0 && !this.#committing;
  }

  /** Resolves once MESSAGE is durably committed; rejects with its own error otherwise. */
  deliver(message: NewMessage): Promise<void> {
    const done = Promise.withResolvers<void>();
    this.#pending.push({ message, done });
    if (!this.#committing && !this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        void this.#commit();
      });
    }
    return done.promise;
  }

  async #commit(): Promise<void> {
    if (this.#committing) return;
    this.#committing = true;
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending.splice(0, this.#maxBatch);
        let results: (Error | undefined)[];
        try {
          results = await this.#sink.deliverMany(batch.map((p) => p.message));
        } catch (err) {
          // The transaction itself failed (disk full, I/O error): nothing of it was committed.
          for (const p of batch) p.done.reject(err);
          continue;
        }
        batch.forEach((p, i) => {
          const err = results[i];
          if (err) p.done.reject(err);
          else p.done.resolve();
        });
      }
    } finally {
      this.#committing = false;
    }
  }
}
