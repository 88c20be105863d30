/**
 * BODY and BODYSTRUCTURE (RFC 9051 §7.5.2): a message's MIME structure as the client reads it,
 * built from a parsed {@link Part} tree. BODYSTRUCTURE adds the extension data (MD5,
 * disposition, language, location) that BODY leaves out.
 *
 * @module
 */
import { envelope, latin1Bytes } from "./envelope.ts";
import { parseHeader, type Part } from "./message_parts.ts";
import { type Item, list, NIL, nstr, num, str } from "./response.ts";

function params(p: readonly (readonly [string, string])[]): Item {
  if (p.length === 0) return NIL;
  return list(p.flatMap(([k, v]) => [str(latin1Bytes(k)), str(latin1Bytes(v))]));
}

function raw(v: string | null): Item {
  return nstr(v === null ? null : latin1Bytes(v));
}

/** The structure of PART within MESSAGE; `extended` for BODYSTRUCTURE, not for BODY. */
export function bodyStructure(message: Uint8Array, part: Part, extended: boolean): Item {
  if (part.children) {
    const items: Item[] = [{
      concat: part.children.map((c) => bodyStructure(message, c, extended)),
    }, str(part.rawSubtype)];
    if (extended) {
      items.push(params(part.params), disposition(part), language(part), raw(part.location));
    }
    return list(items);
  }
  let p = part.params;
  // RFC 2045 §5.2: a text part without a charset is US-ASCII; say so, as Dovecot does.
  if (part.type === "text" && !p.some(([k]) => k.toLowerCase() === "charset")) {
    p = [...p, ["charset", "us-ascii"]];
  }
  const items: Item[] = [
    str(part.rawType),
    str(part.rawSubtype),
    params(p),
    raw(part.id),
    raw(part.description),
    str(part.encoding),
    num(part.bodyEnd - part.bodyStart),
  ];
  if (part.message) {
    const inner = part.message;
    items.push(
      envelope(parseHeader(message, inner.headerStart, inner.bodyStart)),
      bodyStructure(message, inner, extended),
      num(part.lines),
    );
  } else if (part.type === "text") items.push(num(part.lines));
  if (extended) {
    items.push(raw(part.md5), disposition(part), language(part), raw(part.location));
  }
  return list(items);
}

function disposition(part: Part): Item {
  if (!part.disposition) return NIL;
  return list([str(part.disposition.type), params(part.disposition.params)]);
}

function language(part: Part): Item {
  if (!part.language || part.language.length === 0) return NIL;
  if (part.language.length === 1) return str(part.language[0]!);
  return list(part.language.map((l) => str(l)));
}
