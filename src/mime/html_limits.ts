/**
 * Bounds what a message's HTML can make the converter do, before html-to-text sees it. The HTML
 * is written by whoever sent the message, and html-to-text (through htmlparser2) costs time in
 * proportion to nesting depth times tags, then recurses once per level: 100,000 nested tags
 * overflow the stack, and a few thousand take seconds. So:
 *
 * - the HTML is cut at {@link MAX_HTML_CHARS} (a reader in a terminal has no use for more; Gmail
 *   clips at 102 KB), and
 * - opening tags that would nest deeper than {@link MAX_DEPTH} are removed, keeping their text
 *   (browsers stop nesting at 512; mail written by programs stays well below 100), as are `<a>`
 *   tags inside an open `<a>`, which HTML does not allow (HTML §13.2.6.4.7, "a" start tag) and
 *   whose link text html-to-text would otherwise collect once per enclosing link.
 *
 * Depth is measured by htmlparser2's own Parser, the one html-to-text parses with, so that it
 * counts the elements that parser keeps open (void elements, implied end tags, stray end tags)
 * and no hand-written approximation of HTML can disagree with it. A removed tag is replaced by a
 * space, which the tokenizer reads as text in whatever state the tag started in, so that the
 * second parse sees the same tokens as the first minus the removed tags. At the bound itself,
 * an opening tag is refused even where the parser would not nest it (a void element, or a `<td>`
 * that closes the one before): its rules for those are not repeated here, and HTML that deep is
 * not written by people. Raw-text elements (`script`, `style`, `title`, `textarea`, `xmp`) are
 * never removed: the tokenizer switches mode on their name, and removing one would expose its
 * content as markup to the second parse.
 *
 * @module
 */
import { Parser } from "htmlparser2";

/** The most HTML (UTF-16 code units) converted to text. */
export const MAX_HTML_CHARS = 512 * 1024;
/** The most elements open at once; deeper opening tags are dropped and their text kept. */
export const MAX_DEPTH = 128;

/** The tokenizer reads these elements' content as text: exact ASCII names, any case. */
const RAW_TEXT = /^(?:script|style|title|textarea|xmp)$/i;

/** What {@link boundHtml} did to the HTML. */
export interface BoundedHtml {
  readonly html: string;
  /** The HTML was longer than {@link MAX_HTML_CHARS} and was cut. */
  readonly cut: boolean;
  /** Opening tags were dropped (too deep, or a link inside a link). */
  readonly flattened: boolean;
}

/**
 * Runs htmlparser2's Parser over the HTML with the same options html-to-text uses, mirroring its
 * stack through the open and close callbacks, and refuses to open the tags that would take it
 * past the limits. The refused tags' ranges are collected for {@link boundHtml} to remove.
 */
class BoundingParser extends Parser {
  /** The parser's stack of open element names, bottom first, as its callbacks report it. */
  private readonly open: string[] = [];
  private openLinks = 0;
  /** Start of a refused tag whose end the tokenizer has not reported yet, else -1. */
  private refusedFrom = -1;
  /** Pairs of [start, end) offsets of refused tags. */
  readonly refused: number[] = [];

  constructor(private readonly source: string) {
    super({
      onopentagname: (name) => {
        this.open.push(name);
        if (name === "a") this.openLinks++;
      },
      onclosetag: (name) => {
        // The parser reports every element it pops, innermost first, so the top is NAME.
        this.open.pop();
        if (name === "a") this.openLinks--;
      },
    }, { decodeEntities: true });
  }

  /** The tokenizer found an opening tag's name at [start, end); `<` is at start - 1. */
  override onopentagname(start: number, end: number): void {
    const name = this.source.slice(start, end);
    const refuse = !RAW_TEXT.test(name) &&
      (this.open.length >= MAX_DEPTH || (this.openLinks > 0 && name.toLowerCase() === "a"));
    if (refuse) {
      // Not calling the parser leaves its stack and state as if the tag were not there; the
      // attribute callbacks that follow find no tag to add to and do nothing.
      this.refusedFrom = start - 1;
      return;
    }
    super.onopentagname(start, end);
  }

  override onopentagend(end: number): void {
    this.endRefused(end + 1);
    super.onopentagend(end);
  }

  override onselfclosingtag(end: number): void {
    this.endRefused(end + 1);
    super.onselfclosingtag(end);
  }

  /** Ends a tag cut off by the end of the input. */
  finish(): void {
    this.endRefused(this.source.length);
  }

  private endRefused(end: number): void {
    if (this.refusedFrom < 0) return;
    this.refused.push(this.refusedFrom, end);
    this.refusedFrom = -1;
  }
}

/** HTML cut to {@link MAX_HTML_CHARS} and with nesting bounded to {@link MAX_DEPTH}. */
export function boundHtml(input: string): BoundedHtml {
  let html = input;
  const cut = html.length > MAX_HTML_CHARS;
  if (cut) {
    let end = MAX_HTML_CHARS;
    // Do not split a surrogate pair.
    const last = html.charCodeAt(end - 1);
    if (last >= 0xd800 && last <= 0xdbff) end--;
    html = html.slice(0, end);
  }
  const parser = new BoundingParser(html);
  parser.end(html);
  parser.finish();
  const refused = parser.refused;
  if (refused.length === 0) return { html, cut, flattened: false };
  const parts: string[] = [];
  let pos = 0;
  for (let i = 0; i < refused.length; i += 2) {
    parts.push(html.slice(pos, refused[i]), " ");
    pos = refused[i + 1]!;
  }
  parts.push(html.slice(pos));
  return { html: parts.join(""), cut, flattened: true };
}
