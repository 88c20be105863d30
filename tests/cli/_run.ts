/**
 * Helpers for the CLI tests: the entrypoint runner (shared with the server tests) and fixture
 * delivery.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { summarize } from "../../src/mime/summary.ts";
import { openStore } from "../../src/store/mod.ts";

export {
  assertNoStackTrace,
  CONFIG,
  mail,
  mailArgs,
  MAIN,
  type Result,
} from "../_helpers/mail_process.ts";
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const FIXTURES = new URL("../fixtures/mime/", import.meta.url);

/** Delivers fixture messages into ADDRESS's mailbox in DIR through the Store API, in order. */
export async function deliverFixtures(dir: string, address: string, names: readonly string[]) {
  const store = openStore(dir);
  try {
    let n = 0;
    for (const name of names) {
      const bytes = await Deno.readFile(new URL(name, FIXTURES));
      store.deliver({
        id: `TEST${++n}`,
        sender: "sender@example.test",
        recipients: [address],
        chunks: [bytes],
        size: bytes.length,
        summary: summarize([bytes]),
        receivedAt: Date.UTC(2026, 10, 3, 10, n),
        createMailboxes: true,
      });
    }
  } finally {
    store.close();
  }
}
