/**
 * envelopeFields looks for a field's colon in its later lines up to the field's end only: it
 * searched to the end of the buffer from each field that had none in its first line, so a
 * header of many lines without a colon took time quadratic in its length.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { envelopeFields } from "../../src/imap/envelope.ts";
import { type HeaderField, octetString } from "../../src/imap/message_parts.ts";

// The code before the change, verbatim (the reference).
const ENVELOPE_FIELDS = [
  "date",
  "subject",
  "from",
  "sender",
  "reply-to",
  "to",
  "cc",
  "bcc",
  "in-reply-to",
  "message-id",
] as const;

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const TAB = 0x09;

/** What String.prototype.trim removes, among octets (latin1). */
function trimmed(b: number): boolean {
  return b === SP || (b >= TAB && b <= CR) || b === 0xa0;
}

/**
 * Which of {@link ENVELOPE_FIELDS} the octets FROM to TO name, case-insensitively; -1 if none.
 */
function envelopeField(bytes: Uint8Array, from: number, to: number): number {
  const n = to - from;
  if (n < 2 || n > 11) return -1;
  next: for (let k = 0; k < ENVELOPE_FIELDS.length; k++) {
    const name = ENVELOPE_FIELDS[k]!;
    if (name.length !== n) continue;
    for (let i = 0; i < n; i++) {
      let b = bytes[from + i]!;
      if (b >= 0x41 && b <= 0x5a) b += 0x20;
      if (b !== name.charCodeAt(i)) continue next;
    }
    return k;
  }
  return -1;
}

/**
 * The header fields between START and END that ENVELOPE reads, the first of each name: what
 * `parseHeader` (./message_parts.ts) gives for them, found without making the others (a header
 * is mostly Received and DKIM fields). Its rules, on octets: a field ends at a line end (LF,
 * with a CR before it) not followed by white space; its name is what precedes its first colon,
 * trimmed; its value what follows, without white space before and line ends and white space
 * after.
 */
function oldEnvelopeFields(bytes: Uint8Array, start: number, end: number): HeaderField[] {
  const out: HeaderField[] = [];
  const all = (1 << ENVELOPE_FIELDS.length) - 1;
  let seen = 0;
  /** The field from LINE to LF (its line end, or END), its first colon at COLON (or -1). */
  const field = (line: number, lf: number, colon: number) => {
    if (colon <= line) return;
    const stop = lf < end && lf > line && bytes[lf - 1] === CR ? lf - 1 : lf;
    if (colon >= stop) return;
    let a = line;
    let b = colon;
    while (a < b && trimmed(bytes[a]!)) a++;
    while (b > a && trimmed(bytes[b - 1]!)) b--;
    const k = envelopeField(bytes, a, b);
    if (k < 0 || seen & (1 << k)) return;
    seen |= 1 << k;
    let vs = colon + 1;
    let ve = stop;
    while (vs < ve && (bytes[vs] === SP || bytes[vs] === TAB)) vs++;
    while (ve > vs) {
      const c = bytes[ve - 1];
      if (c !== SP && c !== TAB && c !== CR && c !== LF) break;
      ve--;
    }
    out.push([ENVELOPE_FIELDS[k]!, octetString(bytes.subarray(vs, ve))]);
  };
  for (let line = start; line < end;) {
    // The first colon is nearly always in the field's first line: looked for there first.
    let colon = -1;
    let i = line;
    for (; i < end; i++) {
      const c = bytes[i];
      if (c === 0x3a) {
        colon = i;
        break;
      }
      if (c === LF) break;
    }
    // The field's end: the first line end not followed by white space (which folds it).
    let lf = end;
    for (let j = i;;) {
      const at = bytes.indexOf(LF, j);
      if (at < 0 || at >= end) break;
      const after = at + 1 < end ? bytes[at + 1] : -1;
      if (after !== SP && after !== TAB) {
        lf = at;
        break;
      }
      j = at + 1;
    }
    if (colon < 0) {
      const later = bytes.indexOf(0x3a, i);
      if (later >= 0 && later < lf) colon = later;
    }
    field(line, lf, colon);
    if (seen === all) break;
    line = lf + 1;
  }
  return out;
}

const octets = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

/** Lines with and without colons, names folded before their colon, bare line ends. */
const header = fc.array(
  fc.constantFrom(
    "Subject",
    "from",
    "To ",
    "X",
    ":",
    " ",
    "\t",
    "\r",
    "\n",
    "\r\n",
    "\r\n ",
    "\n\t",
    "a",
    "\xa0",
    "\xe9",
  ),
  { maxLength: 40 },
).map((p) => octets(p.join("")));

Deno.test("envelope fields: the same fields as the search to the buffer's end found", () => {
  fc.assert(
    fc.property(header, fc.nat(6), fc.nat(6), (bytes, cutStart, cutEnd) => {
      const start = Math.min(cutStart, bytes.length);
      const end = Math.max(start, bytes.length - cutEnd);
      assert.deepStrictEqual(
        envelopeFields(bytes, start, end),
        oldEnvelopeFields(bytes, start, end),
      );
    }),
    { numRuns: 3000 },
  );
});

Deno.test("envelope fields: 1 MiB of lines without a colon (seconds with the old search)", () => {
  const text = "a\r\n".repeat(350_000) + "Subject: s\r\n\r\n" + "b".repeat(1000);
  const bytes = octets(text);
  assert.deepStrictEqual(envelopeFields(bytes, 0, text.length - 1000), [["subject", "s"]]);
});
