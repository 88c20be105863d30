/** Helpers for the outbound queue's end-to-end tests: two `mail serve` on loopback. */
import net from "node:net";
import { join } from "node:path";
import { mail, type ServeProcess, startServe } from "../_helpers/mail_process.ts";
import type { QueueJson } from "../../src/cli/queue.ts";

export { storedMessages } from "../cli/_send.ts";

export const PASSWORD = "pw-for-tests";

/** A fresh data directory with USERS (password {@link PASSWORD}). */
export async function dataWithUsers(users: readonly string[]): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "mail-queue-" });
  for (const u of users) {
    const r = await mail(["user", "add", u, "--data", dir], { stdin: `${PASSWORD}\n` });
    if (r.code !== 0) throw new Error(`user add ${u}: ${r.err}`);
  }
  await Deno.writeTextFile(join(dir, "pw"), `${PASSWORD}\n`);
  return dir;
}

/** `mail serve` for DOMAIN on port 0 (or SMTP), no TLS, AUTH allowed over loopback. */
export function serveDomain(
  dir: string,
  domain: string,
  extra: readonly string[] = [],
  smtp = "127.0.0.1:0",
): Promise<ServeProcess> {
  return startServe(dir, [
    "--hostname",
    `mx.${domain}`,
    "--domain",
    domain,
    "--smtp",
    smtp,
    "--submission",
    "127.0.0.1:0",
    "--imap",
    "off",
    "--pop3",
    "off",
    "--no-tls",
    "--allow-insecure-auth",
    "--queue-min-backoff",
    "1",
    "--queue-max-backoff",
    "2",
    ...extra,
  ]);
}

/** A loopback port that nothing listens on (just now). */
export async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Submits a message with AUTH to SERVE's submission port, as FROM (a user of its data dir). */
export async function submit(
  serve: ServeProcess,
  from: string,
  to: readonly string[],
  subject: string,
): Promise<void> {
  const r = await mail([
    "send",
    "--server",
    `127.0.0.1:${serve.submissionPort}`,
    "--user",
    from,
    "--password-file",
    join(serve.dataDir, "pw"),
    "--from",
    from,
    "--to",
    to.join(","),
    "--subject",
    subject,
    "--body",
    `Body of ${subject}\n`,
  ]);
  if (r.code !== 0) throw new Error(`mail send failed (${r.code}): ${r.out}${r.err}`);
}

/** `mail queue --json` of DIR. */
export async function queueJson(dir: string): Promise<QueueJson[]> {
  const r = await mail(["queue", "--json", "--data", dir]);
  if (r.code !== 0) throw new Error(`mail queue failed (${r.code}): ${r.err}`);
  return JSON.parse(r.out) as QueueJson[];
}

/** Polls F until it returns a value other than undefined/false; bounded, never a fixed sleep. */
export async function waitFor<T>(
  what: string,
  f: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The header section of a message, as text. */
export function headerText(message: Uint8Array): string {
  const text = new TextDecoder().decode(message);
  return text.slice(0, text.indexOf("\r\n\r\n") + 2);
}
