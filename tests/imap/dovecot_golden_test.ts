/**
 * Ours against the reference: for every fixture message, each FETCH item that comes from the
 * message's content (ENVELOPE, BODY, BODYSTRUCTURE, sections, partials, BINARY) must be octet
 * for octet what Dovecot answered. The answers were recorded by
 * tests/fixtures/imap/make_goldens.py from a private Dovecot 2.3 instance.
 */
import assert from "node:assert/strict";
import { concatBytes } from "../../src/bytes.ts";
import { Cursor } from "../../src/imap/cursor.ts";
import { contentItem } from "../../src/imap/fetch_data.ts";
import { parseFetchItems } from "../../src/imap/fetch_items.ts";
import { octetString, parseStructure } from "../../src/imap/message_parts.ts";
import { latin1Bytes as octets } from "../../src/imap/envelope.ts";
import { encodeItem } from "../../src/imap/response.ts";
import { UnknownEncodingError } from "../../src/imap/sections.ts";

const dir = new URL("../fixtures/imap/", import.meta.url);

/**
 * Where we answer otherwise, on purpose, and why:
 * - Dovecot 2.3 gives BINARY.SIZE of some parts other than the size of its own BINARY of them
 *   (1678 for 2048 octets of base64, 91 for 92); RFC 3516 §4.2 says BINARY.SIZE is the size of
 *   what BINARY returns, and ours is (tested below).
 * - BINARY of a message/rfc822 part: Dovecot decodes the parts inside it and rewrites their
 *   headers; we return the part as stored (its transfer encoding is 7bit already).
 * - A multipart part whose close delimiter is followed at once by its parent's delimiter: the
 *   CRLF between them belongs to the parent's delimiter (RFC 2046 §5.1.1), so the part ends
 *   before it; Dovecot counts it into the part.
 */
const DEVIATIONS: Record<string, string> = {
  "07-attachments.dovecot.json: BINARY.SIZE[2]": "BINARY.SIZE is the size of BINARY",
  "15-hostile-mix.dovecot.json: BINARY.SIZE[2]": "BINARY.SIZE is the size of BINARY",
  "15-hostile-mix.dovecot.json: BINARY.PEEK[1]": "message/rfc822 as stored",
  "15-hostile-mix.dovecot.json: BINARY.SIZE[1]": "message/rfc822 as stored",
  "15-hostile-mix.dovecot.json: BODY.PEEK[2]": "RFC 2046 §5.1.1: the CRLF is the delimiter's",
  "15-hostile-mix.dovecot.json: BINARY.PEEK[2]": "RFC 2046 §5.1.1: the CRLF is the delimiter's",
};

for (
  const entry of [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".dovecot.json")).sort((
    a,
    b,
  ) => a.name.localeCompare(b.name))
) {
  const golden = JSON.parse(Deno.readTextFileSync(new URL(entry.name, dir))) as {
    source: string;
    fetch: Record<string, string>;
  };
  Deno.test(`dovecot golden: ${entry.name.replace(".dovecot.json", "")}`, () => {
    // Stored as mail received over SMTP is: with CRLF line endings, as the goldens were made.
    const raw = Deno.readFileSync(new URL(golden.source, dir));
    const message = octets(octetString(raw).replace(/\r?\n/g, "\r\n"));
    const content = { bytes: message, structure: parseStructure(message) };
    for (const [itemText, response] of Object.entries(golden.fetch)) {
      const known = DEVIATIONS[`${entry.name}: ${itemText}`];
      if (known) continue;
      const [item] = parseFetchItems(new Cursor(new TextEncoder().encode(itemText)));
      if (response === "NO [UNKNOWN-CTE]") {
        assert.throws(() => contentItem(content, item!), UnknownEncodingError, itemText);
        continue;
      }
      const m = /^\* \d+ FETCH \(UID \d+ ([\s\S]*)\)\r\n$/.exec(response);
      assert.ok(m, response);
      const pair = contentItem(content, item!);
      assert.ok(pair, itemText);
      const out: Uint8Array[] = [];
      encodeItem(pair[0], { utf8: false }, out);
      out.push(new Uint8Array([0x20]));
      encodeItem(pair[1], { utf8: false }, out);
      assert.equal(octetString(concatBytes(out)), m[1], `${entry.name}: ${itemText}`);
    }
  });
}

Deno.test("dovecot golden: BINARY.SIZE is the size of what BINARY returns (where Dovecot 2.3 differs)", () => {
  const raw = Deno.readFileSync(new URL("../mime/07-attachments.eml", dir));
  const message = octets(octetString(raw).replace(/\r?\n/g, "\r\n"));
  const content = { bytes: message, structure: parseStructure(message) };
  const size = contentItem(content, { kind: "BINARY.SIZE", part: [2] })!;
  const data = contentItem(content, { kind: "BINARY[]", part: [2], peek: true })!;
  assert.deepEqual(size[1], { number: 2048 });
  assert.ok("literal" in data[1] && data[1].literal instanceof Uint8Array);
  assert.equal((data[1] as { literal: Uint8Array }).literal.length, 2048);
});
