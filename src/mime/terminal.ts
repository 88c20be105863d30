/**
 * A decoded message laid out for a terminal: main headers, a blank line, the text, then the
 * attachments. Every piece of message text goes through the sanitizer first.
 *
 * @module
 */
import { humanSize } from "./human_size.ts";
import { sanitizeLine, sanitizeText } from "./sanitize.ts";
import { type Style, styler } from "./style.ts";
import { textWidth } from "./text_width.ts";
import type { DisplayAddress, DisplayMessage, TerminalOptions } from "./types.ts";

/** `Name <address>` or `address`, made safe for one line. */
export function formatAddress(a: DisplayAddress): string {
  const name = sanitizeLine(a.name);
  const address = sanitizeLine(a.address);
  if (name === "" || name === address) return address;
  return address === "" ? name : `${name} <${address}>`;
}

const LABEL_WIDTH = 9; // "Subject: "

/** Wraps VALUE at spaces so that `label + value` lines fit WIDTH, continuing under the value. */
function wrapValue(value: string, width: number | undefined): string {
  if (width === undefined || width <= LABEL_WIDTH + 10) return value;
  const room = width - LABEL_WIDTH;
  const lines: string[] = [];
  let line = "";
  for (const word of value.split(" ")) {
    if (line !== "" && textWidth(line) + 1 + textWidth(word) > room) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines.join("\n" + " ".repeat(LABEL_WIDTH));
}

/** What an attachment without a file name is called in the list. */
function unnamed(contentType: string): string {
  if (contentType === "message/rfc822") return "(attached message)";
  if (contentType === "message/delivery-status") return "(delivery status)";
  return "(unnamed)";
}

/** Lays MSG out as text for a terminal, ending in a newline. Contains no control characters
 * other than newlines, tabs and (when `color`) the styles this function adds. */
export function formatForTerminal(msg: DisplayMessage, opts: TerminalOptions): string {
  const s = styler(opts.color);
  const out: string[] = [];
  const header = (label: string, value: string, style?: Style) => {
    const v = wrapValue(value, opts.width);
    out.push(`${s("bold", (label + ":").padEnd(LABEL_WIDTH))}${style ? s(style, v) : v}`);
  };
  header("From", msg.from.map(formatAddress).join(", "));
  if (msg.to.length > 0) header("To", msg.to.map(formatAddress).join(", "));
  if (msg.cc.length > 0) header("Cc", msg.cc.map(formatAddress).join(", "));
  if (msg.date !== "") header("Date", sanitizeLine(msg.date));
  header("Subject", sanitizeLine(msg.subject) || "(no subject)", "bold");
  out.push("");

  const text = sanitizeText(msg.text).replace(/\s+$/, "");
  if (text !== "") out.push(text);
  else out.push(s("dim", "(no text)"));
  if (msg.textSource === "html") out.push("", s("dim", "[converted from HTML]"));

  if (msg.attachments.length > 0) {
    out.push("", s("bold", `Attachments (${msg.attachments.length}):`));
    for (const a of msg.attachments) {
      const name = sanitizeLine(a.name) || unnamed(a.contentType);
      const type = sanitizeLine(a.contentType);
      out.push(`  ${s("cyan", name)}  ${s("dim", `${type}, ${humanSize(a.size)}`)}`);
    }
  }
  return out.join("\n") + "\n";
}
