/**
 * Makes untrusted message text safe to print on a terminal. A message is written by whoever
 * sent it: escape sequences in a subject or body could otherwise move the cursor, rewrite what
 * is on screen, set the window title, or (on some terminals) answer back into the input.
 *
 * @module
 */

// C0 controls except TAB and LF, DEL, and the C1 controls (U+0080..U+009F: 8-bit CSI, OSC...).
// deno-lint-ignore no-control-regex
const CONTROLS_TEXT = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;
// Bidirectional embeddings, overrides and isolates can reorder what a line appears to say
// (CVE-2021-42574, "Trojan Source"); a one-line header has no need for them.
const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069]/g;
// deno-lint-ignore no-control-regex
const LINE_BREAKS_AND_TABS = /[\t\n\r]+/g;

/** Text for a multi-line display (a body): newlines kept, CRLF made LF, other controls removed. */
export function sanitizeText(text: string): string {
  return text.replace(/\r\n?/g, "\n").replace(CONTROLS_TEXT, "");
}

/** Text for one line (a header value, a list cell): white space runs folded to one space. */
export function sanitizeLine(text: string): string {
  return text
    .replace(LINE_BREAKS_AND_TABS, " ")
    .replace(CONTROLS_TEXT, "")
    .replace(BIDI_CONTROLS, "")
    .replace(/ {2,}/g, " ")
    .trim();
}
