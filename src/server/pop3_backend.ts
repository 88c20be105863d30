/**
 * The POP3 session's backend over the SQLite store: logins through the shared
 * {@link Authenticator}, the maildrop as the account's INBOX (the folder IMAP serves) with
 * unique-ids from its UIDVALIDITY and UIDs, one session per mailbox, and the session's end
 * applied in one transaction.
 *
 * @module
 */
import {
  type Account,
  type LoginResult,
  type Maildrop,
  type MaildropMessage,
  type MaildropUpdate,
  type Pop3Backend,
  Pop3BackendError,
  uniqueId,
} from "../pop3/backend.ts";
import type { Store } from "../store/mod.ts";
import type { Authenticator } from "./authenticator.ts";

/** {@link Pop3Backend} over the store. */
export class StorePop3Backend implements Pop3Backend {
  readonly #store: Store;
  readonly #auth: Authenticator;
  /** Mailboxes a POP3 session holds now (RFC 1939 §8: an exclusive-access lock). */
  readonly #locked = new Set<string>();

  constructor(store: Store, auth: Authenticator) {
    this.#store = store;
    this.#auth = auth;
  }

  async authenticate(user: string, password: string, client: string): Promise<LoginResult> {
    const outcome = await this.#auth.login(user, password, client, "pop3");
    if (outcome.kind === "ok") return { kind: "ok", account: { address: outcome.user } };
    return outcome;
  }

  open(account: Account): Maildrop {
    const address = account.address;
    if (this.#locked.has(address)) {
      throw new Pop3BackendError("IN-USE", "Another POP3 session has this mailbox");
    }
    const folders = this.#store.folders;
    folders.ensureFolders(address);
    const { folder, entries } = folders.openFolder(address, "INBOX");
    this.#locked.add(address);
    const messages: MaildropMessage[] = entries.map((e) => ({
      uid: uniqueId(folder.uidValidity, e.uid),
      size: e.size,
      handle: e.uid,
    }));
    let open = true;
    return {
      messages,
      content: (m) => folders.folderContent(folder.id, m.handle)?.bytes,
      update: (changes: MaildropUpdate) =>
        folders.applyDownload(
          folder.id,
          changes.seen.map((m) => m.handle),
          changes.expunge.map((m) => m.handle),
        ),
      close: () => {
        if (!open) return;
        open = false;
        this.#locked.delete(address);
      },
    };
  }
}
