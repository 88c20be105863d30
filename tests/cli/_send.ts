/** Helpers for the `mail send` / `mail sendmail` end-to-end tests. */
import { mail } from "../_helpers/mail_process.ts";
import { type ServeProcess, startServe, TEST_SERVE_FLAGS } from "../_helpers/mail_process.ts";

export { TEST_CERT, TEST_KEY } from "../_helpers/fake_smtp_server.ts";

/** A `mail serve` in a fresh data directory with USERS added (password "pw"). */
export async function serveWithUsers(
  users: readonly string[],
  extraFlags: readonly string[] = ["--no-tls"],
): Promise<ServeProcess & { cleanup(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "mail-send-" });
  for (const u of users) {
    const r = await mail(["user", "add", u, "--data", dir], { stdin: "pw\n" });
    if (r.code !== 0) throw new Error(`user add ${u}: ${r.err}`);
  }
  const serve = await startServe(dir, [...TEST_SERVE_FLAGS, ...extraFlags]);
  return Object.assign(serve, {
    async cleanup() {
      await serve.stop();
      await Deno.remove(dir, { recursive: true });
    },
  });
}

/** Every message in ADDRESS's mailbox, oldest first, as exact stored bytes. */
export async function storedMessages(dir: string, address: string): Promise<Uint8Array[]> {
  const list = await mail(["inbox", address, "--json", "--data", dir]);
  if (list.code !== 0) throw new Error(`inbox ${address}: ${list.err}`);
  const ids = (JSON.parse(list.out) as { id: number }[]).map((m) => m.id).sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  for (const id of ids) {
    const r = await mail(["inbox", address, String(id), "--raw", "--data", dir]);
    if (r.code !== 0) throw new Error(`inbox ${address} ${id} --raw: ${r.err}`);
    out.push(r.stdout);
  }
  return out;
}

/** The header section of a stored message, as text. */
export function headerOf(message: Uint8Array): string {
  const text = new TextDecoder().decode(message);
  return text.slice(0, text.indexOf("\r\n\r\n") + 2);
}
