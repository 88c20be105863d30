/**
 * Display width of text on a terminal, to pad and truncate table cells so that columns line up.
 * Widths come from string-width (Unicode's East Asian Width, UAX #11, and emoji presentation,
 * UTS #51), measured per grapheme cluster (UAX #29) so that a ZWJ sequence such as 👨‍👩‍👧 or a
 * flag counts as the one glyph a terminal draws, and is never cut in the middle.
 *
 * @module
 */
import stringWidth from "string-width";

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** Columns TEXT takes. */
export function textWidth(text: string): number {
  return stringWidth(text);
}

/** Printable ASCII takes one column a character: the common case, measured without segmenting. */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** TEXT cut to at most WIDTH columns, with the columns it then takes. */
function cut(text: string, width: number): { text: string; width: number } {
  if (width <= 0) return { text: "", width: 0 };
  if (PRINTABLE_ASCII.test(text)) {
    return text.length <= width
      ? { text, width: text.length }
      : { text: text.slice(0, width - 1) + "…", width };
  }
  const whole = stringWidth(text);
  if (whole <= width) return { text, width: whole };
  let out = "";
  let w = 0;
  for (const { segment } of graphemes.segment(text)) {
    const cw = stringWidth(segment);
    if (w + cw > width - 1) break;
    out += segment;
    w += cw;
  }
  return { text: out + "…", width: w + 1 };
}

/** TEXT cut to at most WIDTH columns, at a grapheme boundary, ending in "…" when cut. */
export function truncate(text: string, width: number): string {
  return cut(text, width).text;
}

/** TEXT truncated or padded with spaces to exactly WIDTH columns. */
export function fit(text: string, width: number): string {
  const t = cut(text, width);
  return t.text + " ".repeat(Math.max(0, width - t.width));
}
