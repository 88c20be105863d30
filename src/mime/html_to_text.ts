/**
 * Reduces an HTML message body to readable plain text for a terminal, for messages that have
 * no text/plain alternative (RFC 2046 §5.1.4). Not a full HTML parser: a tolerant tokenizer
 * that keeps the words, turns block structure into line breaks and shows where links point.
 *
 * @module
 */
import { decodeEntities } from "./html_entities.ts";

/** Elements whose content is never shown. */
const DROPPED = /<(script|style|head|title|template|svg)\b[^>]*>[\s\S]*?(?:<\/\1\s*>|$)/gi;
/** Comments, CDATA, doctype and processing instructions. */
const MARKUP_DECLARATIONS =
  /<!--[\s\S]*?(?:-->|$)|<!\[CDATA\[[\s\S]*?(?:\]\]>|$)|<![^>]*>|<\?[^>]*>/g;
const TOKEN = /<(\/?)([a-zA-Z][a-zA-Z0-9:-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>|([^<]+)|(<)/g;
const ATTRIBUTE = /([^\s=/]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/g;

/** Elements after which a paragraph break (a blank line) belongs. */
const PARAGRAPH = new Set([
  "p",
  "h1",
  "h2",
  "h3",
  "h4",
  "h5",
  "h6",
  "blockquote",
  "pre",
  "table",
  "ul",
  "ol",
  "dl",
]);
/** Elements that start and end a line. */
const BLOCK = new Set([
  "address",
  "article",
  "aside",
  "body",
  "center",
  "dd",
  "details",
  "dialog",
  "div",
  "dt",
  "fieldset",
  "figcaption",
  "figure",
  "footer",
  "form",
  "header",
  "html",
  "main",
  "nav",
  "section",
  "summary",
  "tr",
  "caption",
  "tbody",
  "thead",
  "tfoot",
  "li",
]);

interface OpenLink {
  readonly href: string;
  readonly from: number;
}

/** Accumulates output, collapsing white space and merging line breaks as a browser would. */
class TextWriter {
  readonly parts: string[] = [];
  private pendingBreaks = 0;
  private pendingSpace = false;
  private atLineStart = true;
  private started = false;

  /** Requests N line breaks (1: new line, 2: blank line) before the next text. */
  block(n: number): void {
    if (this.started) this.pendingBreaks = Math.max(this.pendingBreaks, n);
  }

  lineBreak(): void {
    if (!this.started) return;
    if (this.pendingBreaks > 0) {
      this.pendingBreaks++;
    } else {
      this.parts.push("\n");
      this.atLineStart = true;
      this.pendingSpace = false;
    }
  }

  space(): void {
    this.pendingSpace = true;
  }

  /** Flowing text: runs of white space become one space. */
  text(s: string): void {
    const collapsed = s.replace(/[ \t\r\n\f]+/g, " ");
    if (collapsed.startsWith(" ")) this.pendingSpace = true;
    const body = collapsed.trim();
    if (body === "") return;
    this.emit(body);
    if (collapsed.endsWith(" ")) this.pendingSpace = true;
  }

  /** Text shown exactly (preformatted content, list markers). */
  verbatim(s: string): void {
    if (s === "") return;
    this.emit(s);
    this.atLineStart = s.endsWith("\n");
  }

  private emit(s: string): void {
    if (this.pendingBreaks > 0) {
      this.parts.push("\n".repeat(this.pendingBreaks));
      this.pendingBreaks = 0;
      this.atLineStart = true;
    } else if (this.pendingSpace && !this.atLineStart) {
      this.parts.push(" ");
    }
    this.pendingSpace = false;
    this.parts.push(s);
    this.atLineStart = false;
    this.started = true;
  }
}

function attributes(source: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of source.matchAll(ATTRIBUTE)) {
    const name = (m[1] ?? "").toLowerCase();
    if (!out.has(name)) out.set(name, decodeEntities(m[2] ?? m[3] ?? m[4] ?? ""));
  }
  return out;
}

/** What a link adds after its text: ` <url>`, unless the text already says it. */
function linkSuffix(href: string, linkText: string): string {
  const url = href.trim();
  if (url === "" || url.startsWith("#") || /^(javascript|data|cid):/i.test(url)) return "";
  const shown = /^mailto:/i.test(url) ? url.slice(7).split("?")[0] ?? "" : url;
  const t = linkText.trim();
  if (t === shown || t === url || t === "") return t === "" ? `<${shown}>` : "";
  return ` <${shown}>`;
}

/** Converts HTML to plain text: no tags, entities decoded, blocks on their own lines. */
export function htmlToText(html: string): string {
  const source = html.replace(MARKUP_DECLARATIONS, "").replace(DROPPED, "");
  const out = new TextWriter();
  const lists: { ordered: boolean; n: number }[] = [];
  const links: OpenLink[] = [];
  let pre = 0;

  for (const m of source.matchAll(TOKEN)) {
    const [, slash, rawName, attrSource, text, lone] = m;
    if (text !== undefined || lone !== undefined) {
      const t = decodeEntities(text ?? lone ?? "");
      if (pre > 0) out.verbatim(t.replace(/\r\n?/g, "\n"));
      else out.text(t);
      continue;
    }
    const name = (rawName ?? "").toLowerCase();
    const closing = slash === "/";
    if (name === "br") {
      out.lineBreak();
    } else if (name === "hr") {
      out.block(1);
      out.verbatim("----");
      out.block(1);
    } else if (name === "pre") {
      out.block(2);
      pre = Math.max(0, pre + (closing ? -1 : 1));
    } else if (name === "ul" || name === "ol") {
      if (closing) lists.pop();
      else lists.push({ ordered: name === "ol", n: 0 });
      out.block(lists.length > 0 ? 1 : 2);
    } else if (name === "li" && !closing) {
      out.block(1);
      const list = lists.at(-1);
      const depth = Math.max(0, lists.length - 1);
      const marker = list?.ordered ? `${++list.n}. ` : "- ";
      out.verbatim("  ".repeat(depth) + marker);
    } else if (name === "td" || name === "th") {
      out.space();
    } else if (name === "a") {
      if (!closing) {
        links.push({
          href: attributes(attrSource ?? "").get("href") ?? "",
          from: out.parts.length,
        });
      } else {
        const link = links.pop();
        if (link) {
          const suffix = linkSuffix(link.href, out.parts.slice(link.from).join(""));
          if (suffix !== "") out.text(suffix);
        }
      }
    } else if (name === "img" && !closing) {
      const alt = attributes(attrSource ?? "").get("alt")?.trim();
      if (alt) out.text(`[${alt}]`);
    } else if (PARAGRAPH.has(name)) {
      out.block(2);
    } else if (BLOCK.has(name)) {
      out.block(1);
    }
  }

  return out.parts.join("")
    .replace(/\u00a0/g, " ")
    .split("\n")
    .map((line) => line.trimEnd())
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}
