/**
 * The verifier's faster reading of a message's header fields ({@link readHeaderFields}, as
 * `parseHeader` of `src/dkim/canon.ts`, which the signer uses, gives them). Every received
 * message goes through it, so it works on lines where that goes byte by byte; the tests hold
 * it to the same output over any input.
 *
 * @module
 */
import { latin1 } from "../bytes.ts";
import { fieldKey, type HeaderField } from "../dkim/canon.ts";

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;

/**
 * The header fields of HEADER (the header section, without the empty line), as `parseHeader`
 * reads them: a line that starts with white space continues the field before it, empty lines
 * and text without a colon (or before the first field) are not fields, and a field's lines are
 * joined with CRLF whatever ended them.
 */
export function readHeaderFields(header: Uint8Array): HeaderField[] {
  const text = latin1(header);
  const fields: HeaderField[] = [];
  // The field being read: where its text starts and ends, and its lines when one ended in a
  // bare LF (then the text between is not the field as parseHeader joins it).
  let start = -1;
  let end = -1;
  let lines: string[] | undefined;
  const flush = () => {
    if (start < 0) return;
    const raw = lines ? lines.join("\r\n") : text.slice(start, end);
    const colon = raw.indexOf(":");
    if (colon > 0) {
      fields.push({ key: fieldKey(raw, colon), raw });
    }
    start = -1;
    lines = undefined;
  };
  let at = 0;
  while (at <= text.length) {
    let lf = text.indexOf("\n", at);
    if (lf < 0) lf = text.length;
    const crlf = lf < text.length && lf > at && text.charCodeAt(lf - 1) === CR;
    const lineEnd = crlf ? lf - 1 : lf;
    if (lineEnd === at) {
      // An empty line is skipped; a field open across it is joined without it.
      if (start >= 0 && !lines && lf < text.length) lines = [text.slice(start, end)];
    } else {
      const first = text.charCodeAt(at);
      if ((first === SP || first === HTAB) && start >= 0) {
        if (lines) lines.push(text.slice(at, lineEnd));
        else if (!endedWithCrlf(text, end)) {
          lines = [text.slice(start, end), text.slice(at, lineEnd)];
        }
        end = lineEnd;
      } else {
        flush();
        start = at;
        end = lineEnd;
      }
    }
    at = lf + 1;
  }
  flush();
  return fields;
}

/** Whether the line that ends at END (before its line break) ended with CRLF. */
function endedWithCrlf(text: string, end: number): boolean {
  return text.charCodeAt(end) === CR && text.charCodeAt(end + 1) === LF;
}
