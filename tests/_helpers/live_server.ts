/** An in-process `mail serve` on port 0 over a real SQLite store in a temp directory. */
import { defaults, type ServeConfig } from "../../src/config.ts";
import { LocalBackend } from "../../src/server/local_backend.ts";
import { MailServer } from "../../src/server/server.ts";
import { openStore, type Store } from "../../src/store/mod.ts";
import { TEST_DOMAIN, TEST_HOSTNAME, TEST_MAX_SIZE, TEST_USERS } from "./session_peer.ts";

export interface LiveServer {
  readonly port: number;
  readonly store: Store;
  readonly server: MailServer;
  /** Every stored message in order of arrival, as exact bytes. */
  messages(): Uint8Array[];
  close(): Promise<void>;
}

export async function startLiveServer(overrides: Partial<ServeConfig> = {}): Promise<LiveServer> {
  const dataDir = await Deno.makeTempDir({ prefix: "mail-live-" });
  const config: ServeConfig = {
    ...defaults(dataDir, TEST_HOSTNAME),
    domains: [TEST_DOMAIN],
    smtp: { host: "127.0.0.1", port: 0 },
    submission: undefined,
    maxSize: TEST_MAX_SIZE,
    ...overrides,
  };
  const store = openStore(dataDir);
  // A cheap stand-in hash: these users never log in.
  for (const u of TEST_USERS) store.addUser(u, "x");
  const server = new MailServer(config, new LocalBackend(store, config));
  const [bound] = await server.listen();
  return {
    port: bound!.port,
    store,
    server,
    messages() {
      const seen = new Map<string, { id: number; bytes: Uint8Array }>();
      for (const mb of store.mailboxes()) {
        for (const e of store.list(mb, { limit: 100000 })) {
          if (!seen.has(e.messageId)) {
            seen.set(e.messageId, { id: e.id, bytes: store.read(mb, e.id)! });
          }
        }
      }
      return [...seen.values()].sort((a, b) => a.id - b.id).map((x) => x.bytes);
    },
    async close() {
      await server.close(1000);
      store.close();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}
