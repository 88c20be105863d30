/** Shared fixtures for the store tests: temp directories, stores and messages. */
import { DatabaseSync } from "node:sqlite";
import { type NewMessage, openStore, type Store, type StoreOptions } from "../../src/store/mod.ts";

/** Runs `fn` with a fresh temp directory, removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => T | Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "mail-store-test-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs `fn` with a store opened in a fresh temp directory, closed afterwards. */
export function withStore<T>(
  fn: (store: Store, dir: string) => T | Promise<T>,
  options: StoreOptions = {},
): Promise<T> {
  return withTempDir(async (dir) => {
    const store = openStore(dir, options);
    try {
      return await fn(store, dir);
    } finally {
      store.close();
    }
  });
}

const encoder = new TextEncoder();

/** A message to `recipients`; `body` split into `chunks` (string bodies are UTF-8). */
export function message(
  id: string,
  recipients: readonly string[],
  body: string | Uint8Array = `Subject: ${id}\r\n\r\nHello\r\n`,
  overrides: Partial<NewMessage> = {},
): NewMessage {
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  return {
    id,
    sender: "sender@example.org",
    recipients,
    chunks: [bytes],
    size: bytes.length,
    summary: { from: "Sender <sender@example.org>", subject: id, date: "", messageId: `<${id}@x>` },
    receivedAt: Date.now(),
    createMailboxes: true,
    ...overrides,
  };
}

/** Splits `bytes` into chunks of `size` octets (views, not copies). */
export function split(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

/** Runs one query on the store's file through a separate connection (to inspect raw state). */
export function query<T>(store: Store, sql: string, ...params: (string | number)[]): T {
  const db = new DatabaseSync(store.path);
  try {
    return db.prepare(sql).get(...params) as T;
  } finally {
    db.close();
  }
}

/** Octets of message bytes in the database: those kept in messages rows plus the chunks. */
export function storedOctets(store: Store): number {
  return query<{ n: number }>(
    store,
    `SELECT (SELECT coalesce(sum(length(body)), 0) FROM messages)
      + (SELECT coalesce(sum(length(data)), 0) FROM message_chunks) AS n`,
  ).n;
}
