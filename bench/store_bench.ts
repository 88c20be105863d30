/**
 * The store's write path: one 4 KiB message to one recipient, as `mail serve` commits a lone
 * client's message (deliver, in place), with and without the fsync that makes a 250 survive
 * power loss.
 */
import { summarize } from "../src/mime/summary.ts";
import { openStore } from "../src/store/mod.ts";

const body = new TextEncoder().encode("Subject: bench\r\n\r\n" + "y".repeat(4096));
let n = 0;

for (const synchronous of ["FULL", "NORMAL"] as const) {
  const store = openStore(Deno.makeTempDirSync({ prefix: "mail-store-bench-" }), { synchronous });
  Deno.bench(`store: deliver 4 KiB, synchronous=${synchronous}`, () => {
    const chunks = [body];
    store.deliver({
      id: `B${n++}`,
      sender: "bench@example.test",
      recipients: [`r${n % 100}@example.test`],
      chunks,
      size: body.length,
      summary: summarize(chunks),
      receivedAt: Date.now(),
      createMailboxes: true,
    });
  });
}
