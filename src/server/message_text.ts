/**
 * The text IMAP's SEARCH BODY and TEXT look in (RFC 9051 §6.4.4): the header, and the text of
 * every text part with its transfer encoding and charset undone, nested messages' headers
 * included. Both the scan and the store's text index (src/store/fts.ts) take it from here, so
 * they search the same text.
 *
 * @module
 */
import { latin1 } from "../bytes.ts";
import type { Part } from "../imap/message_parts.ts";
import { binaryContent } from "../imap/sections.ts";
import { foldText, type TextWhere } from "../store/mod.ts";

/** A message's searchable text. */
export interface SearchableText {
  /** The message's header, octets as Latin-1 characters. */
  readonly head: string;
  /** What BODY searches: the text parts and nested headers, a line break between each. */
  readonly body: string;
  /** What TEXT searches: the header and then the body's pieces, a line break between each. */
  readonly text: string;
}

function decodeCharset(content: Uint8Array, charset: string): string {
  try {
    return new TextDecoder(charset).decode(content);
  } catch {
    // An unknown charset is read as UTF-8 (with U+FFFD for what is not).
    return new TextDecoder().decode(content);
  }
}

/** The searchable text of the message BYTES whose structure is ROOT. */
export function searchableText(bytes: Uint8Array, root: Part): SearchableText {
  const head = latin1(bytes.subarray(root.headerStart, root.bodyStart));
  const pieces: string[] = [];
  const walk = (p: Part, numbers: number[]) => {
    if (p.children) {
      p.children.forEach((c, i) => walk(c, [...numbers, i + 1]));
      return;
    }
    if (p.message) {
      const m = p.message;
      pieces.push(latin1(bytes.subarray(m.headerStart, m.bodyStart)));
      walk(m, numbers);
      return;
    }
    if (p.type !== "text") return;
    let content: Uint8Array;
    try {
      content = binaryContent(bytes, root, numbers.length ? numbers : [1])?.bytes ??
        new Uint8Array();
    } catch {
      // An unknown transfer encoding: the part as it is stored.
      content = bytes.subarray(p.bodyStart, p.bodyEnd);
    }
    const charset = p.params.find(([k]) => k.toLowerCase() === "charset")?.[1] ?? "utf-8";
    pieces.push(decodeCharset(content, charset));
  };
  walk(root, []);
  const body = pieces.join("\n");
  return { head, body, text: pieces.length ? `${head}\n${body}` : head };
}

/** Whether TEXT holds TERM in WHERE, case-insensitively: the scan that the index must equal. */
export function textHas(text: SearchableText, where: TextWhere, term: string): boolean {
  return foldText(where === "body" ? text.body : text.text).includes(foldText(term));
}
