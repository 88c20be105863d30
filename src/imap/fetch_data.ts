/**
 * The FETCH data items that come from a message's content (RFC 9051 §7.5.2, RFC 3516): each
 * as its name and value, ready for the `* n FETCH (…)` response. The items that come from the
 * mailbox (UID, FLAGS, INTERNALDATE, MODSEQ) are the session's.
 *
 * @module
 */
import { bodyStructure } from "./body_structure.ts";
import { envelope } from "./envelope.ts";
import type { FetchItem, Section } from "./fetch_items.ts";
import { parseHeader, type Part } from "./message_parts.ts";
import { astr, atom, encodeItem, type Item, num } from "./response.ts";
import { concatBytes } from "../bytes.ts";
import { binaryOf, binarySize, type MessageSource, sectionOf } from "./sections.ts";

/**
 * A stored message and its structure, parsed once; a store may read either only when asked,
 * and offer `range` to read a section or a partial without the rest (sections.ts).
 */
export interface MessageContent extends MessageSource {
  readonly bytes: Uint8Array;
  readonly structure: Part;
}

/**
 * The name a section has in a response: `1.2.HEADER.FIELDS (FROM SUBJECT)`. Field names are
 * the client's: each goes out as an atom when it is one, else quoted.
 */
export function sectionName(section: Section): string {
  const parts = section.part.join(".");
  if (!section.text) return parts;
  let text: string = section.text;
  if (section.fields) {
    const names = section.fields.map((f) => {
      const out: Uint8Array[] = [];
      encodeItem(astr(f), { utf8: true }, out);
      return new TextDecoder().decode(concatBytes(out));
    });
    text += ` (${names.join(" ")})`;
  }
  return parts ? `${parts}.${text}` : text;
}

function literal8(bytes: Uint8Array, decoded: boolean): boolean {
  if (bytes.includes(0)) return true;
  // Decoded content with 8-bit octets goes as literal8, as Dovecot sends it.
  return decoded && bytes.some((b) => b > 0x7f);
}

/**
 * The name and value of ITEM for MESSAGE; undefined for the items the session answers. Throws
 * UnknownEncodingError (sections.ts) for BINARY of a part whose encoding is unknown.
 */
export function contentItem(message: MessageContent, item: FetchItem): [Item, Item] | undefined {
  // Sections read no more of the message than they name (and BODY[] needs no structure).
  switch (item.kind) {
    case "BODY[]": {
      const data = sectionOf(message, item.section, item.partial);
      const origin = item.partial ? `<${item.partial.start}>` : "";
      return [{ verbatim: `BODY[${sectionName(item.section)}]${origin}` }, { literal: data }];
    }
    case "BINARY[]": {
      const content = binaryOf(message, item.part, item.partial);
      const data = content?.bytes ?? new Uint8Array(0);
      const origin = item.partial ? `<${item.partial.start}>` : "";
      return [
        atom(`BINARY[${item.part.join(".")}]${origin}`),
        { literal: data, binary: literal8(data, content?.decoded ?? false) },
      ];
    }
    case "BINARY.SIZE": {
      const size = binarySize(message, item.part);
      return [atom(`BINARY.SIZE[${item.part.join(".")}]`), num(size ?? 0)];
    }
  }
  const { bytes, structure } = message;
  switch (item.kind) {
    case "ENVELOPE":
      return [
        atom("ENVELOPE"),
        envelope(parseHeader(bytes, structure.headerStart, structure.bodyStart)),
      ];
    case "BODYSTRUCTURE":
      return [atom("BODYSTRUCTURE"), bodyStructure(bytes, structure, true)];
    case "BODY":
      return [atom("BODY"), bodyStructure(bytes, structure, false)];
    case "RFC822.SIZE":
      return [atom("RFC822.SIZE"), num(bytes.length)];
    case "RFC822":
      return [atom("RFC822"), { literal: bytes }];
    case "RFC822.HEADER":
      return [atom("RFC822.HEADER"), { literal: bytes.subarray(0, structure.bodyStart) }];
    case "RFC822.TEXT":
      return [atom("RFC822.TEXT"), { literal: bytes.subarray(structure.bodyStart) }];
  }
  return undefined;
}
