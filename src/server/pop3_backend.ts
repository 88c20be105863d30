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
import { firstBytes } from "../bytes.ts";
import { TopCut } from "../pop3/message_data.ts";
import type { Store } from "../store/mod.ts";
import type { Authenticator } from "./authenticator.ts";

/** How TOP reads a message: its first read, and the most one later read takes (octets). */
export interface TopReads {
  readonly first: number;
  readonly most: number;
}

/** 64 KiB holds almost every header whole; later reads double up to 1 MiB. */
const TOP_READS: TopReads = { first: 64 * 1024, most: 1024 * 1024 };

/**
 * The octets TOP sends for LINES body lines (RFC 1939 §7) of a message of SIZE octets, read
 * through READ (octets START to END of it, undefined when it is gone) in ranges that double
 * from `first` to `most`, each after the last, until {@link TopCut} knows where the cut ends:
 * `TOP n 0` of a 20 MiB message reads its first 64 KiB, not all of it. Only a header that never
 * ends (or a large LINES) reads on to the end, one bounded range at a time, as the whole
 * message is then what TOP sends. Undefined when the message is gone.
 */
export function readTop(
  read: (start: number, end: number) => Uint8Array | undefined,
  size: number,
  lines: number,
  reads: TopReads = TOP_READS,
): Uint8Array | undefined {
  const cut = new TopCut(lines);
  const pieces: Uint8Array[] = [];
  let have = 0;
  let step = Math.max(1, reads.first);
  for (;;) {
    const piece = read(have, have + step);
    if (!piece) return undefined;
    pieces.push(piece);
    have += piece.length;
    // A short read is the message's end too: it cannot have grown, so it lost nothing.
    const length = cut.feed(piece) ??
      (have >= size || piece.length < step ? cut.end() : undefined);
    if (length !== undefined) return firstBytes(pieces, length);
    step = Math.min(step * 2, Math.max(reads.most, reads.first));
  }
}

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
      top: (m, lines) => {
        // A message within the first read comes whole with its row.
        const found = folders.folderMessage(folder.id, m.handle, TOP_READS.first);
        if (!found) return undefined;
        if (found.bytes) return found.bytes;
        const { messageId } = found;
        return readTop(
          (start, end) => folders.messageRange(messageId, start, end),
          found.size,
          lines,
        );
      },
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
