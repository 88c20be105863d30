/**
 * Group commit: messages whose data ends in the same turn of the event loop share one SQLite
 * transaction, so one fsync makes all of them durable. Each caller's promise settles only after
 * that commit (a 250 is never sent before its message is on disk), and with its own outcome: a
 * message that fails does not fail the others.
 *
 * A lone client waits only for the rest of the current event-loop turn (setImmediate), not for
 * a timer: group commit costs it nothing measurable.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import type { NewMessage } from "../store/mod.ts";

/** A store that can commit several deliveries in one transaction. */
export interface BatchSink {
  /**
   * Stores each message in one transaction; returns, per message, undefined for success or
   * the error that message alone failed with (its own changes rolled back).
   */
  deliverMany(messages: readonly NewMessage[]): (Error | undefined)[];
}

interface Pending {
  readonly message: NewMessage;
  readonly done: PromiseWithResolvers<void>;
}

/** Collects deliveries and commits them together at the end of the event-loop turn. */
export class GroupCommitter {
  readonly #sink: BatchSink;
  readonly #maxBatch: number;
  #pending: Pending[] = [];
  #scheduled = false;

  constructor(sink: BatchSink, maxBatch = 256) {
    this.#sink = sink;
    this.#maxBatch = maxBatch;
  }

  /** Resolves once MESSAGE is durably committed; rejects with its own error otherwise. */
  deliver(message: NewMessage): Promise<void> {
    const done = Promise.withResolvers<void>();
    this.#pending.push({ message, done });
    if (this.#pending.length >= this.#maxBatch) this.#flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
    return done.promise;
  }

  #flush(): void {
    this.#scheduled = false;
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    let results: (Error | undefined)[];
    try {
      results = this.#sink.deliverMany(batch.map((p) => p.message));
    } catch (err) {
      // The transaction itself failed (disk full, I/O error): nothing of it was committed.
      for (const p of batch) p.done.reject(err);
      return;
    }
    batch.forEach((p, i) => {
      const err = results[i];
      if (err) p.done.reject(err);
      else p.done.resolve();
    });
  }
}
