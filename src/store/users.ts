/**
 * User accounts: who may log in and receive mail, with their password hashes (made and checked
 * by ./password.ts; the store only keeps them). Removing a user keeps their mailbox.
 *
 * @module
 */
import type { Connection } from "./connection.ts";
import { DEFAULT_FOLDERS } from "./imap_store.ts";
import { StoreError } from "./errors.ts";
import type { UserAccounts, UserInfo } from "./types.ts";

/** {@link UserAccounts} over one connection. */
export class SqliteUsers implements UserAccounts {
  readonly #conn: Connection;

  constructor(conn: Connection) {
    this.#conn = conn;
  }

  userExists(address: string): boolean {
    return this.#conn.run(() => this.#conn.stmt.userExists.get(address) !== undefined);
  }

  addUser(address: string, passwordHash: string): void {
    const s = this.#conn.stmt;
    this.#conn.write(() => {
      if (s.userExists.get(address) !== undefined) {
        throw new StoreError("exists", `User ${address} already exists`);
      }
      const now = Date.now();
      s.insertUser.run(address, passwordHash, now);
      // The mailbox may already exist: catch-all mail, or a user removed and added again.
      s.insertMailboxIfMissing.run(address, now);
      // Its folders: INBOX and the special-use ones mail programs look for (RFC 6154).
      const mailboxId = (s.mailboxId.get(address) as { id: number }).id;
      for (const [name, use] of DEFAULT_FOLDERS) {
        if (!this.#conn.folders.get(mailboxId, name)) {
          this.#conn.folders.create(mailboxId, name, use, now);
          this.#conn.folders.subscribe(mailboxId, name, true);
        }
      }
    });
  }

  removeUser(address: string): boolean {
    return this.#conn.run(() => Number(this.#conn.stmt.deleteUser.run(address).changes) > 0);
  }

  setPasswordHash(address: string, passwordHash: string): boolean {
    return this.#conn.run(() =>
      Number(this.#conn.stmt.setPasswordHash.run(passwordHash, address).changes) > 0
    );
  }

  passwordHash(address: string): string | undefined {
    return this.#conn.run(() => {
      const row = this.#conn.stmt.passwordHash.get(address) as
        | { password_hash: string }
        | undefined;
      return row?.password_hash;
    });
  }

  listUsers(): UserInfo[] {
    return this.#conn.run(() =>
      (this.#conn.stmt.listUsers.all() as unknown as { address: string; created_at: number }[])
        .map((r) => ({ address: r.address, createdAt: r.created_at }))
    );
  }
}
