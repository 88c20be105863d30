/**
 * The mail store: messages, mailboxes, users and the outbound queue, kept in one SQLite database.
 *
 * The write side is shaped like the SMTP transaction: a delivery names the sender and the local
 * recipients and hands over the body; it becomes visible, in every mailbox at once, only when
 * its single database transaction commits, and the caller replies 250 only after that.
 *
 * Consumers take the role they need ({@link MailDelivery}, {@link MailboxAccess},
 * {@link OutboundQueue}, {@link UserAccounts}); {@link openStore} returns a {@link Store}, which
 * is all of them.
 *
 * @module
 */

export type {
  FolderChangeRows,
  FolderEntry,
  FolderRow,
  FolderStatusRow,
  ListPage,
  MailboxAccess,
  MailboxEntry,
  MailDelivery,
  MailFolders,
  MessageSummaryHeaders,
  MtaStsPolicies,
  MtaStsPolicyRow,
  NewMessage,
  OutboundQueue,
  QueueEntry,
  QueueSettlement,
  Store,
  UnindexedMessage,
  UserAccounts,
  UserInfo,
} from "./types.ts";
export {
  DATABASE_FILE,
  databasePath,
  LEGACY_DATABASE_FILE,
  openStore,
  type StoreOptions,
} from "./open.ts";
export { StoreError, toStoreError } from "./errors.ts";
export { SCHEMA_VERSION, schemaVersion } from "./schema.ts";
export type { BodyRow, DerivedData, EnvelopeRow, KeptEnvelope } from "./derived.ts";
export { foldText, indexable, type IndexAnswer, type MessageText, type TextWhere } from "./fts.ts";
export { hashPassword, verifyPassword } from "./password.ts";
