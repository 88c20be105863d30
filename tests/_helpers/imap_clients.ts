/**
 * What the tests that drive IMAP with independent clients (imapflow, mbsync, curl) share: the
 * fixture certificate, SMTP delivery of exact bytes, and running an outside program bounded in
 * time with a clear failure when it is not installed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { SecureContext } from "node:tls";
import { secureContext } from "../../src/server/tls_cert.ts";
import { LineSocket } from "./smtp_socket.ts";

const FIXTURES = new URL("../fixtures/tls/", import.meta.url).pathname;

/** The fixture certificate (localhost, 127.0.0.1, mx.test); also the CA a client trusts. */
export const CA_FILE = join(FIXTURES, "cert.pem");
export const CA_PEM = Deno.readTextFileSync(CA_FILE);

/** The server's TLS context from the fixture certificate. */
export function fixtureTls(): SecureContext {
  return secureContext({
    certPem: CA_PEM,
    keyPem: Deno.readTextFileSync(join(FIXTURES, "key.pem")),
  });
}

/** RFC 5321 §4.5.2: a line that starts with a dot gets one more. */
function dotStuff(message: Uint8Array): Uint8Array {
  let dots = 0;
  for (let i = 0; i < message.length; i++) {
    if (message[i] === 0x2e && (i === 0 || message[i - 1] === 0x0a)) dots++;
  }
  if (dots === 0) return message;
  const out = new Uint8Array(message.length + dots);
  let o = 0;
  for (let i = 0; i < message.length; i++) {
    if (message[i] === 0x2e && (i === 0 || message[i - 1] === 0x0a)) out[o++] = 0x2e;
    out[o++] = message[i]!;
  }
  return out;
}

/**
 * Delivers MESSAGE (exact bytes, CRLF line ends, ending in CRLF) to TO over SMTP on PORT.
 * What the store keeps is the trace header it adds followed by these bytes.
 */
export async function deliver(port: number, to: string, message: Uint8Array | string) {
  const bytes = typeof message === "string" ? new TextEncoder().encode(message) : message;
  assert.ok(bytes.length >= 2 && bytes.at(-2) === 0x0d && bytes.at(-1) === 0x0a, "Ends in CRLF");
  const s = await LineSocket.connect(port);
  try {
    await s.readReply();
    for (
      const line of ["EHLO client.test", "MAIL FROM:<bob@remote.test>", `RCPT TO:<${to}>`, "DATA"]
    ) {
      assert.match(await s.command(line), /^(250|354) /);
    }
    await s.send(dotStuff(bytes));
    assert.match(await s.command("."), /^250 /);
    await s.command("QUIT");
  } finally {
    s.close();
  }
}

/** The longest an outside client may run before it is killed and its test fails. */
export const CLIENT_LIMIT_MS = 120_000;

/**
 * Runs PROGRAM (bounded: killed after {@link CLIENT_LIMIT_MS}) and returns its status and
 * output. A program that is not installed fails the test with what to install: these clients
 * are the point of the tests that use them, so a missing one must not pass as a skip.
 */
export async function runClient(
  program: string,
  args: string[],
  opts: { env?: Record<string, string>; package?: string } = {},
): Promise<{ code: number; stdout: Uint8Array; out: string; err: string }> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(program, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      ...(opts.env ? { env: opts.env } : {}),
      signal: AbortSignal.timeout(CLIENT_LIMIT_MS),
    }).output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(
        `${program} is not installed: apt-get install ${opts.package ?? program} (.ci/run does)`,
      );
    }
    throw err;
  }
  return {
    code: out.code,
    stdout: out.stdout,
    out: new TextDecoder().decode(out.stdout),
    err: new TextDecoder().decode(out.stderr),
  };
}
