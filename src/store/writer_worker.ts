/**
 * The store's writer thread (a Web Worker started by {@link StoreWriter}): it owns a second
 * connection to the database and commits batches of deliveries on it, so that SQLite's work and
 * the fsync that makes each 250 true happen beside the event loop that serves the sockets,
 * not inside it.
 *
 * After replying to a batch it checkpoints the WAL when enough has been written since the last
 * checkpoint, counting what the server committed on its own connection too: SQLite would
 * otherwise do it inside the COMMIT that crosses its threshold, and the clients of that batch
 * would wait for it.
 *
 * @module
 */
import { openStore, type Store } from "./sqlite_store.ts";
import type { WriterReply, WriterRequest } from "./writer_protocol.ts";
import { encodeError } from "./writer_protocol.ts";

/** Deliveries between two checkpoints; small enough that SQLite's own (1000 pages) rarely runs. */
const CHECKPOINT_EVERY_MESSAGES = 128;
/** Stored octets between two checkpoints. */
const CHECKPOINT_EVERY_BYTES = 2 * 1024 * 1024;

// Workers have `self`; the DOM/worker lib types are not in this program's compilation.
const port = self as unknown as {
  onmessage: ((e: MessageEvent<WriterRequest>) => void) | null;
  postMessage(message: WriterReply): void;
};

let store: Store | undefined;
let sinceCheckpoint = { messages: 0, bytes: 0 };

port.onmessage = (e) => {
  const request = e.data;
  switch (request.type) {
    case "open": {
      try {
        store = openStore(request.dataDir, { ...request.options, mustExist: true });
        port.postMessage({ type: "opened" });
      } catch (err) {
        port.postMessage({ type: "failed", error: encodeError(err) });
      }
      return;
    }
    case "deliver": {
      let reply: WriterReply;
      try {
        if (!store) throw new Error("The writer's store is not open");
        const results = store.deliverMany(request.messages);
        reply = { type: "delivered", id: request.id, results: results.map(encodeOptional) };
      } catch (err) {
        reply = { type: "delivered", id: request.id, error: encodeError(err) };
      }
      port.postMessage(reply);
      for (const m of request.messages) count(1, m.size);
      return;
    }
    case "committed-elsewhere": {
      count(request.messages, request.bytes);
      return;
    }
    case "close": {
      store?.close();
      store = undefined;
      port.postMessage({ type: "closed" });
      return;
    }
  }
};

/** Counts committed messages, and checkpoints once enough have been. */
function count(messages: number, bytes: number): void {
  sinceCheckpoint.messages += messages;
  sinceCheckpoint.bytes += bytes;
  if (
    !store || (sinceCheckpoint.messages < CHECKPOINT_EVERY_MESSAGES &&
      sinceCheckpoint.bytes < CHECKPOINT_EVERY_BYTES)
  ) return;
  sinceCheckpoint = { messages: 0, bytes: 0 };
  try {
    store.checkpoint();
  } catch {
    // A checkpoint that fails (another process holds a lock) is retried after the next
    // batches, and SQLite's own threshold still bounds the WAL.
  }
}

function encodeOptional(err: Error | undefined) {
  return err === undefined ? undefined : encodeError(err);
}
