/**
 * A partial FETCH of a large message: `BODY.PEEK[]<0.1024>`, `BODY.PEEK[TEXT]<0.1024>` and
 * `BINARY.PEEK[1]<0.1024>` of a stored 10 MiB message, from the store through the IMAP backend to
 * the response's data item (no socket). Only the octets named need be read.
 */
import { Cursor } from "../src/imap/cursor.ts";
import { contentItem } from "../src/imap/fetch_data.ts";
import { parseFetchItems } from "../src/imap/fetch_items.ts";
import { summarize } from "../src/mime/summary.ts";
import type { Authenticator } from "../src/server/authenticator.ts";
import { StoreImapBackend } from "../src/server/imap_backend.ts";
import { openStore } from "../src/store/mod.ts";

const MIB = 1024 * 1024;
const to = "big@example.test";
const head = "Subject: big\r\nFrom: bob@example.test\r\nMIME-Version: 1.0\r\n" +
  'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n' +
  "hello\r\n--b\r\nContent-Type: application/octet-stream\r\n" +
  "Content-Transfer-Encoding: base64\r\n\r\n";
const line = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\r\n";
const body = head + line.repeat(Math.floor((10 * MIB - head.length - 12) / line.length)) +
  "--b--\r\n";
const bytes = new TextEncoder().encode(body);
// Delivered as SMTP hands it over: 64 KiB reads.
const chunks: Uint8Array[] = [];
for (let i = 0; i < bytes.length; i += 64 * 1024) chunks.push(bytes.subarray(i, i + 64 * 1024));

const store = openStore(Deno.makeTempDirSync({ prefix: "mail-partial-bench-" }));
store.deliver({
  id: "P1",
  sender: "bob@example.test",
  recipients: [to],
  chunks,
  size: bytes.length,
  summary: summarize(chunks),
  receivedAt: Date.now(),
  createMailboxes: true,
});
const backend = new StoreImapBackend(store, {} as Authenticator);
const { folder } = store.folders.openFolder(to, "INBOX");
// The structure is kept after the first FETCH that needs it, as a client's first look makes it.
backend.content({ address: to }, folder.id, 1, false)!.structure;
await new Promise((resolve) => setTimeout(resolve, 10));

for (const text of ["BODY.PEEK[]<0.1024>", "BODY.PEEK[TEXT]<0.1024>", "BINARY.PEEK[2]<0.1024>"]) {
  const [item] = parseFetchItems(new Cursor(new TextEncoder().encode(text)));
  Deno.bench(`imap: ${text} of a 10 MiB message`, () => {
    const content = backend.content({ address: to }, folder.id, 1, false)!;
    const pair = contentItem(content, item!);
    if (!pair) throw new Error("No answer");
  });
}
