/**
 * ANSI styles for terminal output, or none: whether to colour is the caller's decision.
 *
 * @module
 */
import { styleText } from "node:util";

/** A style name as `node:util`'s styleText takes it (`"bold"`, `"dim"`, `"cyan"`...). */
export type Style = Parameters<typeof styleText>[0];

/** A styler that is the identity when colour is off. */
export function styler(color: boolean): (style: Style, text: string) => string {
  // validateStream: false — whether to colour was decided by the caller (TTY and NO_COLOR).
  return color ? (style, text) => styleText(style, text, { validateStream: false }) : (_s, t) => t;
}
