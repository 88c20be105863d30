/**
 * Reading mail: the summary headers taken at delivery, and (loaded on demand) decoding a message
 * for display, listing a mailbox, and laying both out for a terminal.
 *
 * This face exports only what is light: the server takes each message's summary on its hot path
 * and must not load the MIME, HTML and text-width libraries that only `mail inbox` needs. Those
 * come with {@link loadReader}, which a command awaits where it reads mail.
 *
 * @module
 */
export { MAX_HEADER_BYTES, summarize } from "./summary.ts";
export { sanitizeLine, sanitizeText } from "./sanitize.ts";
export { humanSize } from "./human_size.ts";
export { type Style, styler } from "./style.ts";
export type {
  DecodedEntry,
  DisplayAddress,
  DisplayAttachment,
  DisplayMessage,
  ListEntry,
  ListLayout,
  MessageSummary,
  TerminalOptions,
  TextSource,
} from "./types.ts";

/** The reader's functions: see reader.ts. */
export type Reader = typeof import("./reader.ts");

/** Loads the reader (postal-mime, string-width; html-to-text later, for HTML-only mail). */
export function loadReader(): Promise<Reader> {
  return import("./reader.ts");
}
