/**
 * A stand-in for libmime, put where mailauth will look for it before mailauth is loaded.
 *
 * mailauth loads libmime, a MIME library that loads two character set libraries (iconv-lite,
 * encoding-japanese) with it, for one function in the checks `mail serve` runs: `foldLines`,
 * which folds the Received-SPF field and the Authentication-Results rows it formats. This
 * module folds lines as libmime does, to the character (a test compares both on random input),
 * and registers itself in the CommonJS module cache under libmime's path (`stand_in.ts`), so
 * mailauth's `require("libmime")` finds it. Anything else asked of it (mailauth's DKIM verifier,
 * run for a message with an ARC set, parses a Content-Type with it) is handed to the real
 * libmime, loaded then. Where the module cache cannot be reached, mailauth loads libmime as
 * usual.
 *
 * @module
 */
import { installStandIn, memberOf } from "./stand_in.ts";

type Libmime = Record<string | symbol, unknown>;

/** What libmime counts as white space: JavaScript's `\s`. */
const SPACE = /\s/;
const isSpace = (c: string | undefined) => c !== undefined && SPACE.test(c);

/**
 * Folds TEXT into lines of at most WIDTH UTF-16 code units where it can, as libmime's
 * `foldLines` does (it is not RFC 5322 §2.2.3 folding to the letter: a word longer than WIDTH
 * stays whole, and a line break in TEXT ends a line as it is).
 *
 * Taken WIDTH units at a time: a shorter rest is the last line. A window holding a CR or LF
 * ends just after it (CRLF when both are in the window), and no CRLF is added. Otherwise the
 * line breaks at the last run of white space in the window: before the run (it starts the next
 * line), or after it when AFTER_SPACE; when that would leave an empty line (the run opens the
 * window) or the window has no white space, the line is the window plus the rest of the word
 * it cuts (and the white space after that word when AFTER_SPACE). CRLF goes between lines.
 */
export function foldText(text: string, width: number, afterSpace: boolean): string {
  let out = "";
  let pos = 0;
  while (pos < text.length) {
    const end = pos + width;
    if (end > text.length) {
      out += text.slice(pos);
      break;
    }
    let stop = lineBreakEnd(text, pos, end);
    if (stop !== undefined) {
      out += text.slice(pos, stop);
      pos = stop;
      continue;
    }
    stop = end;
    let runEnd = end;
    while (runEnd > pos && !isSpace(text[runEnd - 1])) runEnd--;
    let runStart = runEnd;
    while (runStart > pos && isSpace(text[runStart - 1])) runStart--;
    // No white space in the window leaves runEnd (and so the cut) at pos.
    const cut = afterSpace ? runEnd : runStart;
    if (cut > pos) {
      stop = cut;
    } else if (end < text.length && !isSpace(text[end])) {
      while (stop < text.length && !isSpace(text[stop])) stop++;
      while (afterSpace && stop < text.length && isSpace(text[stop])) stop++;
    }
    out += text.slice(pos, stop);
    pos = stop;
    if (pos < text.length) out += "\r\n";
  }
  return out;
}

/** Where the first line break in TEXT[FROM, TO) ends (CR, LF, or a CRLF within), if any. */
function lineBreakEnd(text: string, from: number, to: number): number | undefined {
  for (let i = from; i < to; i++) {
    const c = text[i];
    if (c === "\n") return i + 1;
    if (c === "\r") return i + 1 < to && text[i + 1] === "\n" ? i + 2 : i + 1;
  }
  return undefined;
}

/**
 * The stand-in: `foldLines(str, lineLength?, afterSpace?)` of a string (or nothing) with a
 * whole positive length (or none: 76) is answered here; any other argument, and any other
 * member, is handed to the real libmime, which LOAD loads then.
 */
export function libmimeStandIn(load: () => Libmime): Libmime {
  // deno-lint-ignore no-explicit-any
  const real = () => load() as any;
  const foldLines = (str?: unknown, lineLength?: unknown, afterSpace?: unknown): unknown => {
    // libmime: a falsy string is "", a falsy length is 76.
    const width = lineLength || 76;
    if ((str && typeof str !== "string") || !Number.isSafeInteger(width) || (width as number) < 1) {
      return real().foldLines(str, lineLength, afterSpace);
    }
    return foldText((str || "") as string, width as number, Boolean(afterSpace));
  };
  return new Proxy({ foldLines } as Libmime, {
    get: (target, prop) => (prop === "foldLines" ? target.foldLines : memberOf(real(), prop)),
  });
}

installStandIn<Libmime>("libmime", libmimeStandIn);
