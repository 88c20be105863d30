/**
 * The reading side of the mime folder, loaded when a command lists or shows mail (through
 * {@link loadReader} in mod.ts), never at start-up: it brings postal-mime and string-width, and
 * html-to-text when a message has only HTML.
 *
 * @module
 */
export { parseForDisplay, rawBody } from "./display.ts";
export { formatAddress, formatForTerminal } from "./terminal.ts";
export { decodeEntry, formatListRow, idWidth, shortDate, splitNameAddress } from "./list_format.ts";
export { fit, textWidth, truncate } from "./text_width.ts";
