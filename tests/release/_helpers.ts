/** Shared by the release tests: temp data directories and messages delivered through the store. */
import { summarize } from "../../src/mime/summary.ts";
import { openStore } from "../../src/store/mod.ts";

/** Runs FN with a fresh temp directory, removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "mail-release-test-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A message for the round-trip tests. */
export interface Fixture {
  readonly sender: string;
  readonly bytes: Uint8Array;
  readonly seen?: boolean;
}

const enc = new TextEncoder();

/** As `mail serve` stores it: our Return-Path and Received first, CRLF line endings. */
export function received(sender: string, body: string, n: number): Uint8Array {
  return enc.encode(
    `Return-Path: <${sender}>\r\n` +
      `Received: from client.test ([127.0.0.1]) by mx.test with ESMTP id TEST${n};\r\n` +
      `\tTue, 3 Nov 2026 10:0${n % 10}:00 +0000\r\n` +
      body,
  );
}

/**
 * Messages that an mbox round trip must not alter: lines beginning `From ` and `>From ` and
 * `>>From `, a first line `From `, bare LF line endings, no final newline, the null sender,
 * an empty body, 8-bit bytes.
 */
export function trickyMessages(): Fixture[] {
  return [
    {
      sender: "alice@example.test",
      bytes: received(
        "alice@example.test",
        "From: Alice <alice@example.test>\r\nSubject: plain\r\n\r\nHello Bob.\r\n",
        1,
      ),
      seen: true,
    },
    {
      sender: "bob@example.test",
      bytes: received(
        "bob@example.test",
        "From: bob@example.test\r\nSubject: from lines\r\n\r\n" +
          "From here on, quoting:\r\n>From there\r\n>>From everywhere\r\n" +
          "From\r\n>From\r\nFrom  two spaces\r\n\r\nFrom the end\r\n",
        2,
      ),
    },
    {
      sender: "",
      bytes: enc.encode(
        "From MAILER-DAEMON Tue Nov  3 10:00:00 2026\r\nSubject: starts with From_\r\n\r\n" +
          "body\r\n\r\n\r\n",
      ),
      seen: true,
    },
    {
      sender: "carol@example.test",
      bytes: enc.encode("Subject: unix\n\nbare LF lines\nFrom x\n>From y\nno final newline"),
    },
    {
      sender: "dave@example.test",
      bytes: Uint8Array.of(
        ...enc.encode("Subject: 8bit\r\n\r\n"),
        0xff,
        0x00,
        0x0d,
        0x0a,
        0x3e,
        ...enc.encode("From \r\n"),
        0x0d,
      ),
    },
    { sender: "erin@example.test", bytes: enc.encode("Subject: empty body\r\n\r\n") },
  ];
}

/** Delivers FIXTURES to ADDRESS in DIR (creating the store), in order; marks the seen ones. */
export function deliver(dir: string, address: string, fixtures: readonly Fixture[]): void {
  const store = openStore(dir);
  try {
    fixtures.forEach((f, i) => {
      const id = `RT${i + 1}`;
      store.deliver({
        id,
        sender: f.sender,
        recipients: [address],
        chunks: [f.bytes],
        size: f.bytes.length,
        summary: summarize([f.bytes]),
        receivedAt: Date.UTC(2026, 10, 3, 10, i, 7),
        createMailboxes: true,
      });
      if (f.seen) {
        const entry = store.list(address).find((e) => e.messageId === id);
        store.setSeen(address, entry!.id, true);
      }
    });
  } finally {
    store.close();
  }
}

/** Every message of ADDRESS in DIR, oldest first: envelope, time, seen flag and bytes. */
export function stored(dir: string, address: string) {
  const store = openStore(dir, { mustExist: true });
  try {
    return store.list(address, { limit: 10000 }).reverse().map((e) => ({
      sender: e.sender,
      receivedAt: e.receivedAt,
      seen: e.seen,
      bytes: store.read(address, e.id)!,
    }));
  } finally {
    store.close();
  }
}
