/**
 * Composing a message (RFC 5322, MIME RFC 2045-2049) for `mail send`. The MIME work (RFC 2047
 * encoded words and folding, quoted-printable, base64, multipart structure, content types
 * from file names) is nodemailer's mail-composer; the envelope, the Message-ID and what is
 * allowed in headers are decided here.
 *
 * Body text is UTF-8. It goes as 7bit when it is ASCII with short lines, else quoted-printable:
 * that is accepted by every server and survives any relay, where 8bit would need 8BITMIME on
 * every hop (RFC 6152 §3). Lines on the wire stay within 78 octets, far below RFC 5322's 998.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { domainPart, type NamedAddress, uniqueAddresses } from "./addresses.ts";
import type { Envelope } from "./smtp_client.ts";

export interface Attachment {
  readonly filename: string;
  readonly content: Uint8Array;
  /** MIME type; guessed from the file name when absent. */
  readonly contentType?: string | undefined;
}

export interface ComposeInput {
  readonly from: NamedAddress;
  readonly to: readonly NamedAddress[];
  readonly cc: readonly NamedAddress[];
  /** Envelope recipients only: never written into the headers. */
  readonly bcc: readonly NamedAddress[];
  readonly subject?: string | undefined;
  /** The text/plain body. */
  readonly text: string;
  /** An HTML alternative (multipart/alternative with the text). */
  readonly html?: string | undefined;
  readonly attachments: readonly Attachment[];
  /** Further header fields, in order. */
  readonly headers: readonly (readonly [string, string])[];
  readonly date?: Date | undefined;
  readonly messageId?: string | undefined;
}

export interface Composed {
  readonly message: Uint8Array;
  readonly envelope: Envelope;
  readonly messageId: string;
}

/** Bad input for composing: a header, a Message-ID. */
export class ComposeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ComposeError";
  }
}

/** Header fields the composer writes itself: given with `--header`, they are refused. */
const RESERVED = new Set([
  "from",
  "to",
  "cc",
  "bcc",
  "subject",
  "mime-version",
  "content-type",
  "content-transfer-encoding",
  "content-disposition",
]);

/** Whether `--header` may not set NAME (the composer writes it from other flags). */
export function reservedHeader(name: string): boolean {
  return RESERVED.has(name.toLowerCase());
}

/**
 * Parses `Name: value` (RFC 5322 §2.2: the name is printable ASCII but colon; the value has no
 * line breaks, which would inject further fields).
 */
export function parseHeaderArg(arg: string): [string, string] {
  const colon = arg.indexOf(":");
  const name = colon < 0 ? "" : arg.slice(0, colon).trim();
  if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) {
    throw new ComposeError(`Invalid header ${JSON.stringify(arg)}: expected "Name: value"`);
  }
  const value = arg.slice(colon + 1).trim();
  if (/[\r\n\0]/.test(value)) throw new ComposeError(`Line break in header ${name}`);
  return [name, value];
}

/** A Message-ID on the sender's domain (RFC 5322 §3.6.4: unique, right side a domain). */
export function newMessageId(sender: string): string {
  const domain = domainPart(sender);
  const safe = /^[A-Za-z0-9.-]+$/.test(domain) ? domain : "localhost";
  return `<${crypto.randomUUID()}@${safe}>`;
}

/** Builds the message and its envelope. */
export async function compose(input: ComposeInput): Promise<Composed> {
  const messageId = input.messageId ?? newMessageId(input.from.address);
  if (!/^<[^<>\s]+@[^<>\s]+>$/.test(messageId)) {
    throw new ComposeError(`Invalid Message-ID ${JSON.stringify(messageId)}`);
  }
  // Loaded here, not at start-up: only `mail send` composes.
  const { default: MailComposer } = await import("nodemailer/lib/mail-composer");
  const composer = new MailComposer({
    from: input.from,
    to: [...input.to],
    ...(input.cc.length > 0 ? { cc: [...input.cc] } : {}),
    ...(input.subject !== undefined ? { subject: input.subject } : {}),
    messageId,
    date: input.date ?? new Date(),
    text: input.text,
    ...(input.html !== undefined ? { html: input.html } : {}),
    attachments: input.attachments.map((a) => ({
      filename: a.filename,
      content: Buffer.from(a.content),
      ...(a.contentType ? { contentType: a.contentType } : {}),
    })),
    headers: input.headers.map(([key, value]) => ({ key, value })),
    // Q encoding for headers and quoted-printable for non-ASCII text, whatever the script:
    // readable on the wire for Latin text, and never base64 for text parts.
    textEncoding: "Q",
    newline: "win",
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  const built = await composer.compile().build();
  const recipients = uniqueAddresses(
    [...input.to, ...input.cc, ...input.bcc].map((a) => a.address),
  );
  return {
    message: new Uint8Array(built.buffer, built.byteOffset, built.byteLength),
    envelope: { sender: input.from.address, recipients },
    messageId,
  };
}
