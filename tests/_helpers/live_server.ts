/** An in-process `mail serve` on port 0 over a real SQLite store in a temp directory. */
import { defaults, type ServeConfig } from "../../src/config.ts";
import { LocalBackend } from "../../src/server/local_backend.ts";
import { Authenticator } from "../../src/server/authenticator.ts";
import { StoreImapBackend } from "../../src/server/imap_backend.ts";
import { StorePop3Backend } from "../../src/server/pop3_backend.ts";
import { MailServer } from "../../src/server/server.ts";
import { openStore, type Store } from "../../src/store/mod.ts";
import type { SecureContext } from "node:tls";
import type { DeadlineSweeper } from "../../src/server/deadlines.ts";
import {
  TEST_DOMAIN,
  TEST_HOSTNAME,
  TEST_MAX_SIZE,
  TEST_USERS,
  testGuard,
  testPasswordHash,
} from "./session_peer.ts";

export interface LiveServer {
  /** The MX listener's port. */
  readonly port: number;
  /** The submission listener's port (0 when not configured). */
  readonly submissionPort: number;
  readonly smtpsPort: number;
  /** The IMAP listeners' ports (0 when IMAP is off). */
  readonly imapPort: number;
  readonly imapsPort: number;
  /** The POP3 listeners' ports (0 when POP3 is off). */
  readonly pop3Port: number;
  readonly pop3sPort: number;
  readonly store: Store;
  readonly server: MailServer;
  /** Every stored message in order of arrival, as exact bytes. */
  messages(): Uint8Array[];
  close(): Promise<void>;
}

/**
 * Starts a server like `mail serve --hostname mx.test --domain example.test` with both
 * listeners on port 0 and the test users (password TEST_PASSWORD). `tls` enables STARTTLS
 * (and `smtps` when configured). `deadlines` (a ManualClock's, from clock.ts) lets the test move time.
 */
export async function startLiveServer(
  overrides: Partial<ServeConfig> = {},
  tls?: SecureContext,
  deadlines?: DeadlineSweeper,
  imap: { imap?: boolean; imaps?: boolean; pop3?: boolean; pop3s?: boolean } = {},
): Promise<LiveServer> {
  const dataDir = await Deno.makeTempDir({ prefix: "mail-live-" });
  const config: ServeConfig = {
    ...defaults(dataDir, TEST_HOSTNAME),
    domains: [TEST_DOMAIN],
    smtp: { host: "127.0.0.1", port: 0 },
    submission: { host: "127.0.0.1", port: 0 },
    maxSize: TEST_MAX_SIZE,
    ...overrides,
  };
  const store = openStore(dataDir);
  const hash = await testPasswordHash();
  for (const u of TEST_USERS) store.addUser(u, hash);
  const guard = testGuard(config.authMaxFailures);
  const imapService = imap.imap || imap.imaps
    ? {
      backend: new StoreImapBackend(store, new Authenticator((u) => store.passwordHash(u), guard)),
      ...(imap.imap ? { imap: { host: "127.0.0.1", port: 0 } } : {}),
      ...(imap.imaps ? { imaps: { host: "127.0.0.1", port: 0 } } : {}),
      autologout: 1800,
    }
    : undefined;
  const auth = new Authenticator((u) => store.passwordHash(u), guard);
  const pop3Service = imap.pop3 || imap.pop3s
    ? {
      backend: new StorePop3Backend(store, auth),
      ...(imap.pop3 ? { pop3: { host: "127.0.0.1", port: 0 } } : {}),
      ...(imap.pop3s ? { pop3s: { host: "127.0.0.1", port: 0 } } : {}),
      autologout: 600,
    }
    : undefined;
  const server = new MailServer(
    config,
    new LocalBackend(store, config, guard),
    tls,
    {
      ...(deadlines ? { deadlines } : {}),
      ...(imapService ? { imap: imapService } : {}),
      ...(pop3Service ? { pop3: pop3Service } : {}),
    },
  );
  const bound = await server.listen();
  const port = (role: string) => bound.find((b) => b.role === role)?.port ?? 0;
  return {
    port: port("smtp"),
    submissionPort: port("submission"),
    smtpsPort: port("smtps"),
    imapPort: port("imap"),
    imapsPort: port("imaps"),
    pop3Port: port("pop3"),
    pop3sPort: port("pop3s"),
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
