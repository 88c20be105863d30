/**
 * Delivery: the write side of an SMTP transaction. A message is stored in one transaction, or
 * several in one (group commit), each in a savepoint so that one that fails is undone alone;
 * {@link SqliteDelivery.deliverManyAsync} waits for the disk off the main thread (./wal_sync.ts).
 *
 * @module
 */
import type { Connection } from "./connection.ts";
import { toStoreError } from "./errors.ts";
import { insertMessage } from "./messages.ts";
import type { MailDelivery, NewMessage } from "./types.ts";

/** {@link MailDelivery} over one connection. */
export class SqliteDelivery implements MailDelivery {
  readonly #conn: Connection;

  constructor(conn: Connection) {
    this.#conn = conn;
  }

  deliver(message: NewMessage): void {
    this.#conn.write(() => insertMessage(this.#conn, message));
  }

  deliverMany(messages: readonly NewMessage[]): (Error | undefined)[] {
    const conn = this.#conn;
    // One transaction, one fsync for the lot (group commit); a savepoint per message so that
    // one that fails (a mailbox removed meanwhile) is undone alone. A batch of one needs none:
    // the transaction is undone with it, and the savepoint would only copy the pages it changes.
    if (messages.length === 1) {
      let failed: unknown;
      try {
        conn.write(() => {
          try {
            insertMessage(conn, messages[0]!);
          } catch (e) {
            failed = e;
            throw e;
          }
        });
        return [undefined];
      } catch (e) {
        // As below: the message's own failure is its result; the transaction's is thrown.
        if (failed === undefined) throw e;
        return [this.#messageError(failed)];
      }
    }
    const s = conn.stmt;
    return conn.write(() =>
      messages.map((message): Error | undefined => {
        s.savepoint.run();
        try {
          insertMessage(conn, message);
          s.release.run();
          return undefined;
        } catch (e) {
          s.rollbackTo.run();
          s.release.run();
          return this.#messageError(e);
        }
      })
    );
  }

  deliverManyAsync(messages: readonly NewMessage[]): Promise<(Error | undefined)[]> {
    return this.#conn.log.commitThenSync(() => this.deliverMany(messages));
  }

  #messageError(e: unknown): Error {
    const err = toStoreError(e, this.#conn.path);
    return err instanceof Error ? err : new Error(String(err));
  }
}
