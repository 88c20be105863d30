/** Plays transcripts against the pure session: no sockets. */
import { LocalBackend } from "../../src/server/local_backend.ts";
import { type SessionConfig, SmtpSession } from "../../src/smtp/session.ts";
import { bodyAfterTrace, MemorySink } from "./memory_sink.ts";
import type { Peer, TranscriptConfig } from "./transcript.ts";
import { AuthGuard, DEFAULT_AUTH_GUARD } from "../../src/server/auth_guard.ts";
import { hashPassword } from "../../src/store/password.ts";

/** The configuration every transcript assumes (the live runner starts a server like it). */
export const TEST_HOSTNAME = "mx.test";
export const TEST_DOMAIN = "example.test";
export const TEST_USERS = ["alice@example.test", "bob@example.test"];
export const TEST_MAX_SIZE = 10000;

export const testSessionConfig: SessionConfig = {
  hostname: TEST_HOSTNAME,
  maxMessageSize: TEST_MAX_SIZE,
  maxRecipients: 100,
};

/** Every test user's password (what AUTH transcripts log in with). */
export const TEST_PASSWORD = "test-password";
/** scrypt is slow on purpose: hash once per process. */
let testHash: Promise<string> | undefined;
export function testPasswordHash(): Promise<string> {
  return testHash ??= hashPassword(TEST_PASSWORD);
}

/** Failed logins answered at once, so that tests do not wait. */
export const testGuard = (maxFailures = DEFAULT_AUTH_GUARD.maxFailures) =>
  new AuthGuard({ ...DEFAULT_AUTH_GUARD, maxFailures, baseDelayMs: 0, maxDelayMs: 0 });

/** A session over a MemorySink, with the test users and domain. */
export function newTestSession(
  sink = new MemorySink(TEST_USERS),
  config: Partial<SessionConfig> = {},
) {
  const backend = new LocalBackend(sink, { domains: [TEST_DOMAIN], catchAll: false }, testGuard());
  const session = new SmtpSession({ ...testSessionConfig, ...config }, backend, {
    address: "127.0.0.1",
    port: 40000,
  });
  return { session, sink };
}

/**
 * A Peer over a fresh session. With `byteByByte`, every client byte is fed on its own, which
 * proves the framing does not depend on how TCP splits the stream.
 */
export async function sessionPeer(
  byteByByte: boolean,
  t: TranscriptConfig = { role: "mx", insecureAuth: false },
): Promise<Peer & { closed: () => boolean }> {
  const users = new MemorySink(TEST_USERS);
  if (t.role === "submission") {
    const hash = await testPasswordHash();
    for (const u of TEST_USERS) users.passwords.set(u, hash);
  }
  const { session, sink } = newTestSession(users, {
    role: t.role,
    allowInsecureAuth: t.insecureAuth,
  });
  const lines: string[] = [];
  let closed = false;
  const take = (text: string, close: boolean) => {
    for (const l of text.split("\r\n").slice(0, -1)) lines.push(l);
    if (close) closed = true;
  };
  const g = session.greeting();
  take(g.write, g.close);
  return {
    async send(bytes) {
      if (closed) return;
      if (!byteByByte) {
        const out = await session.receive(bytes);
        take(out.write, out.close);
        return;
      }
      for (let i = 0; i < bytes.length && !closed; i++) {
        const out = await session.receive(bytes.subarray(i, i + 1));
        take(out.write, out.close);
      }
    },
    readLine() {
      return Promise.resolve(lines.shift());
    },
    stored() {
      return Promise.resolve(sink.delivered.map(bodyAfterTrace));
    },
    closed: () => closed,
  };
}
