/**
 * Child process for concurrency_test.ts: delivers N messages to one mailbox, as `mail serve`
 * would, while the test reads and updates the same database from another process.
 *
 * Usage: deno run -A _writer.ts DIR COUNT ADDRESS
 */
import { openStore } from "../../src/store/mod.ts";

const [dir, countText, address] = Deno.args;
if (dir === undefined || countText === undefined || address === undefined) {
  throw new Error("Usage: _writer.ts DIR COUNT ADDRESS");
}
const store = openStore(dir);
const body = new TextEncoder().encode("Subject: load\r\n\r\n" + "x".repeat(10_000) + "\r\n");
for (let i = 0; i < Number(countText); i++) {
  store.deliver({
    id: `w${i}`,
    sender: "writer@example.org",
    recipients: [address],
    chunks: [body],
    size: body.length,
    summary: { from: "", subject: `load ${i}`, date: "", messageId: "" },
    receivedAt: Date.now(),
    createMailboxes: true,
  });
}
store.close();
