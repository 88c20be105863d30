/**
 * TOP over the SQLite store (src/server/pop3_backend.ts) reads only the octets it sends: `TOP 1
 * 0` of an 8 MiB message reads its first 64 KiB, not 8 MiB, and answers as the whole
 * message's cut did; a message whose header never ends is still sent whole, read in bounded
 * ranges; RETR still reads the message whole.
 */
import assert from "node:assert/strict";
import { concatBytes } from "../../src/bytes.ts";
import type { Pop3Backend } from "../../src/pop3/backend.ts";
import { stuffedChunks, topLength } from "../../src/pop3/message_data.ts";
import { messageResponse, ok } from "../../src/pop3/response.ts";
import { Pop3Session } from "../../src/pop3/session.ts";
import type { Authenticator } from "../../src/server/authenticator.ts";
import { StorePop3Backend } from "../../src/server/pop3_backend.ts";
import type { Store } from "../../src/store/mod.ts";
import { message, split, withStore } from "../store/_helpers.ts";
import { exchange } from "../pop3/transcript.ts";
import { countingStore } from "../_helpers/counting_store.ts";

const enc = new TextEncoder();
const account = { address: "big@example.org" };
const MiB = 1024 * 1024;

/** SIZE octets: HEAD, then lines of text, some beginning with a dot. */
function bigMessage(head: string, size: number): Uint8Array {
  const out = new Uint8Array(size);
  const h = enc.encode(head);
  out.set(h);
  const line = enc.encode(".line of the body, long enough to matter in a big message\r\n");
  for (let at = h.length; at < size; at += line.length) out.set(line.subarray(0, size - at), at);
  return out;
}

/** A session over the store's POP3 backend, logged in as ACCOUNT (no password check). */
async function session(store: Store): Promise<Pop3Session> {
  const pop3 = new StorePop3Backend(store, {} as Authenticator);
  const backend: Pop3Backend = {
    authenticate: () => ({ kind: "ok", account }),
    open: (a) => pop3.open(a),
  };
  const s = new Pop3Session(
    { hostname: "pop.test", startTls: false, tls: false, allowInsecureAuth: true },
    backend,
    "127.0.0.1",
  );
  s.greeting();
  const login = await exchange(s, enc.encode("USER big@example.org\r\nPASS pw\r\n"));
  assert.match(new TextDecoder().decode(login.bytes), /^\+OK.*\r\n\+OK.*\r\n$/);
  return s;
}

/** What the session answers to COMMAND. */
async function ask(s: Pop3Session, command: string): Promise<Uint8Array> {
  return (await exchange(s, enc.encode(`${command}\r\n`))).bytes;
}

/** TOP's answer as the whole message's cut gives it. */
function wholeTop(m: Uint8Array, lines: number): Uint8Array {
  return concatBytes([ok(), ...stuffedChunks(m, topLength(m, lines))]);
}

Deno.test("pop3 TOP: TOP 1 0 of an 8 MiB message reads a small prefix of it, not all", () =>
  withStore(async (store) => {
    const big = bigMessage("Subject: big\r\nFrom: a@b.example\r\n\r\n", 8 * MiB);
    store.deliver(message("big1", [account.address], big, { chunks: split(big, 65536) }));
    const c = countingStore(store);
    const s = await session(c.store);
    for (const lines of [0, 3]) {
      c.reset();
      assert.deepEqual(await ask(s, `TOP 1 ${lines}`), wholeTop(big, lines));
      assert.ok(c.seen.total <= 64 * 1024, `read ${c.seen.total} octets for TOP 1 ${lines}`);
    }
    // RETR still sends it all.
    c.reset();
    assert.deepEqual(await ask(s, "RETR 1"), concatBytes(messageResponse(big)));
    assert.equal(c.seen.total, big.length);
    await ask(s, "QUIT");
  }));

Deno.test("pop3 TOP: a long header, many lines, a header that never ends: as the whole cut, in bounded reads", () =>
  withStore(async (store) => {
    const fields = Array.from({ length: 3000 }, (_, i) => `X-Field-${i}: ${"v".repeat(60)}\r\n`);
    const longHead = bigMessage(`Subject: long\r\n${fields.join("")}\r\n`, 2 * MiB);
    const headless = bigMessage("Subject: no end\r\n", 3 * MiB);
    const small = enc.encode("Subject: small\r\n\r\n.one\r\ntwo\r\n");
    for (const [id, m] of [["long", longHead], ["headless", headless], ["small", small]] as const) {
      store.deliver(message(id, [account.address], m, { chunks: split(m, 65536) }));
    }
    const c = countingStore(store);
    const s = await session(c.store);
    const cases: [number, Uint8Array, number][] = [
      [1, longHead, 0],
      [1, longHead, 10_000],
      [2, headless, 0],
      [3, small, 0],
      [3, small, 5],
    ];
    for (const [n, m, lines] of cases) {
      c.reset();
      assert.deepEqual(await ask(s, `TOP ${n} ${lines}`), wholeTop(m, lines), `TOP ${n} ${lines}`);
      // Never one read of a whole large message: at most 1 MiB at a time.
      assert.ok(c.seen.largest <= MiB, `read ${c.seen.largest} octets at once`);
      // No further than the cut's last read.
      assert.ok(c.seen.total < topLength(m, lines) + MiB, `read ${c.seen.total} octets`);
    }
    c.reset();
    await ask(s, "TOP 1 0");
    assert.ok(c.seen.total < 512 * 1024, `read ${c.seen.total} octets for a 200 KiB header`);
    // A message expunged meanwhile (by IMAP) is answered as gone.
    const { folder } = store.folders.openFolder(account.address, "INBOX");
    store.folders.applyDownload(folder.id, [], [3]);
    assert.equal(
      new TextDecoder().decode(await ask(s, "TOP 3 0")),
      "-ERR Message 3 no longer exists\r\n",
    );
    await ask(s, "QUIT");
  }));
