/**
 * Mailbox file formats for backup and moving mail between programs: mbox (mboxrd) and Maildir.
 * Both keep every message's bytes exactly.
 *
 * @module
 */
export * from "./mbox.ts";
export * from "./maildir.ts";

/** The formats `mail export` writes and `mail import` reads. */
export const FORMATS = ["mbox", "maildir"] as const;
export type MailboxFormat = typeof FORMATS[number];
