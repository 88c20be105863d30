/**
 * Reduces an HTML message body to readable plain text for a terminal, for messages that have
 * no text/plain alternative (RFC 2046 §5.1.4). html-to-text does the work (htmlparser2 parses,
 * and decodes every named character reference of HTML through the entities package); this module
 * chooses how things look (links as `text <url>`, lists with `-`, no upper-casing, no wrapping:
 * the terminal wraps) and bounds the input first (see html_limits.ts).
 *
 * html-to-text is several times slower than the tokenizer this replaced on HTML that is mostly
 * tags (docs/performance.md); the input bound keeps the worst case near a second.
 *
 * @module
 */
import { compile, type HtmlToTextOptions } from "html-to-text";
import { boundHtml, MAX_DEPTH, MAX_HTML_CHARS } from "./html_limits.ts";

/** Shown after the text when the HTML was longer than the converter takes. */
export const CUT_NOTE = `[… the HTML is longer than ${
  MAX_HTML_CHARS / 1024
} KiB: the rest is not shown; --raw prints the whole message]`;
/** Shown after the text when some of the HTML's layout was dropped. */
export const FLATTENED_NOTE =
  `[… HTML nested more than ${MAX_DEPTH} levels deep, or links inside links: shown flattened]`;

/** Links that lead nowhere a reader can follow from a terminal are not shown. */
const NOT_SHOWN = /^(?:javascript|data|cid|vbscript):/i;

/** What a link shows of HREF: `""` for none, the address of a `mailto:` (RFC 6068) without
 * its query, else HREF. */
function linkTarget(href: string): string {
  const url = href.trim();
  if (url === "" || url.startsWith("#") || NOT_SHOWN.test(url)) return "";
  if (/^mailto:/i.test(url)) return url.slice(7).split("?")[0] ?? "";
  return url;
}

const OPTIONS: HtmlToTextOptions = {
  wordwrap: false,
  // A second bound behind html_limits.ts: never recurse deeper than the HTML was cut to.
  limits: { maxDepth: MAX_DEPTH + 16, ellipsis: "…" },
  formatters: {
    /**
     * A link is its text and then where it points, `text <url>`, unless the text says it already
     * or the link leads nowhere a reader can follow. Words are collected as html-to-text adds
     * them, so the text compared is without its spaces (as html-to-text's own anchor does).
     */
    link(elem, walk, builder) {
      const target = linkTarget(String(elem.attribs?.href ?? ""));
      if (target === "") {
        walk(elem.children, builder);
        return;
      }
      let text = "";
      builder.pushWordTransform((word: string) => {
        text += word;
        return word;
      });
      walk(elem.children, builder);
      builder.popWordTransform();
      if (text === "") builder.addInline(`<${target}>`, { noWordTransform: true });
      else if (text !== target) builder.addInline(` <${target}>`, { noWordTransform: true });
    },
    /** An image is its alt text, in brackets; its address says nothing to a reader. */
    imageAlt(elem, _walk, builder) {
      const alt = (elem.attribs?.alt ?? "").trim();
      if (alt !== "") builder.addInline(`[${alt}]`);
    },
    /** A table cell flows inline, with a space before the next cell. */
    cell(elem, walk, builder) {
      walk(elem.children, builder);
      builder.addInline(" ");
    },
  },
  selectors: [
    { selector: "a", format: "link" },
    { selector: "img", format: "imageAlt" },
    { selector: "td", format: "cell" },
    { selector: "th", format: "cell" },
    { selector: "tr", format: "block", options: { leadingLineBreaks: 1, trailingLineBreaks: 1 } },
    { selector: "table", options: { uppercaseHeaderCells: false } },
    { selector: "ul", options: { itemPrefix: "- " } },
    ...["h1", "h2", "h3", "h4", "h5", "h6"].map((h) => ({
      selector: h,
      options: { uppercase: false, leadingLineBreaks: 2 },
    })),
    { selector: "hr", options: { length: 4 } },
    ...["head", "script", "style", "title", "template", "svg", "noscript"].map((selector) => ({
      selector,
      format: "skip",
    })),
  ],
};

let converter: ((html: string) => string) | undefined;

/** Converts HTML to plain text: no tags, references decoded, blocks on their own lines. */
export function htmlToText(html: string): string {
  converter ??= compile(OPTIONS);
  const bounded = boundHtml(html);
  const text = converter(bounded.html)
    .replace(/\u00a0/g, " ")
    .split("\n")
    .map((line) => line.trimEnd())
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
  const notes = [
    ...(bounded.flattened ? [FLATTENED_NOTE] : []),
    ...(bounded.cut ? [CUT_NOTE] : []),
  ];
  return notes.length === 0 ? text : [text, ...notes].filter((s) => s !== "").join("\n\n");
}
