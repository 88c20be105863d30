/**
 * `mail serve`'s POP3 listeners driven by curl's `pop3://` and `pop3s://` (an independent client
 * in C, which undoes the dot-stuffing itself): LIST, UIDL, RETR octet for octet (leading dots,
 * 8-bit, long lines, a message stored in pieces, one that is all header), TOP, DELE + QUIT
 * against DELE + a dropped connection, STLS required with the certificate checked, no login in
 * the clear where that is not allowed, and a second session refused with [IN-USE] while the
 * first holds the mailbox.
 */
import assert from "node:assert/strict";
import { CA_FILE, deliver, runClient } from "../_helpers/imap_clients.ts";
import {
  ADDRESS,
  disconnected,
  PASSWORD,
  RawPop3,
  startPop3Serve,
  storedMessages,
} from "../_helpers/pop3_clients.ts";

const USER = `${ADDRESS}:${PASSWORD}`;
const enc = new TextEncoder();

/** curl, quiet but for errors; its exit status tells what failed (67: login denied). */
function curl(...args: string[]) {
  return runClient("curl", ["--silent", "--show-error", "--max-time", "60", ...args], {
    package: "curl",
  });
}

/** What the transparency rule (RFC 1939 §3) must get through: dots, 8-bit, a long line. */
const TRICKY = new Uint8Array([
  ...enc.encode(
    "Subject: dots\r\nContent-Type: text/plain; charset=iso-8859-1\r\n" +
      "Content-Transfer-Encoding: 8bit\r\n\r\n.leading dot\r\n..two\r\n.\r\n. \r\ncaf",
  ),
  0xe9,
  ...enc.encode(`\r\n${"x".repeat(990)}\r\n.\r\n`),
]);

/** Larger than the store's 256 KiB piece, with a dot line in every piece. */
const LARGE = enc.encode(
  "Subject: large\r\n\r\n" + `.${"y".repeat(70)}\r\n${"z".repeat(76)}\r\n`.repeat(2600),
);

/** The lines of a LIST or UIDL listing as curl prints them. */
function lines(out: string): string[] {
  assert.ok(out === "" || out.endsWith("\r\n"), out);
  return out === "" ? [] : out.slice(0, -2).split("\r\n");
}

Deno.test("curl pop3://: LIST, UIDL, RETR byte for byte, TOP; DELE + QUIT deletes, DELE + a dropped connection does not", async () => {
  const p = await startPop3Serve({ insecure: true });
  const base = `pop3://127.0.0.1:${p.serve.pop3Port}`;
  try {
    await deliver(p.serve.smtpPort, ADDRESS, "Subject: plain\r\n\r\nhello\r\n");
    await deliver(p.serve.smtpPort, ADDRESS, TRICKY);
    await deliver(p.serve.smtpPort, ADDRESS, LARGE);
    await deliver(p.serve.smtpPort, ADDRESS, "Subject: all header, no empty line\r\n");
    const stored = await storedMessages(p.dir);
    assert.equal(stored.length, 4);
    // What the store keeps is a trace header followed by exactly what SMTP carried.
    assert.deepEqual(stored[1]!.subarray(stored[1]!.length - TRICKY.length), TRICKY);
    assert.ok(stored[2]!.length > 256 * 1024);

    // LIST: the sizes are the stored octets (RFC 1939 §5: before stuffing).
    const list = await curl("--user", USER, `${base}/`);
    assert.equal(list.code, 0, list.err);
    assert.deepEqual(lines(list.out), stored.map((m, i) => `${i + 1} ${m.length}`));

    const uidl = await curl("--user", USER, "--request", "UIDL", `${base}/`);
    assert.equal(uidl.code, 0, uidl.err);
    const uids = lines(uidl.out).map((l, i) => {
      const [n, uid] = l.split(" ");
      assert.equal(n, String(i + 1));
      assert.match(uid!, /^[\x21-\x7e]{1,70}$/); // RFC 1939 §7
      return uid!;
    });
    assert.equal(new Set(uids).size, 4);

    // RETR: the stored octets exactly, dot-stuffing undone by curl.
    for (const [i, m] of stored.entries()) {
      const r = await curl("--user", USER, `${base}/${i + 1}`);
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(r.stdout, m, `message ${i + 1}`);
    }

    // TOP 2 0: the header and the empty line that ends it.
    const top = await curl("--user", USER, "--request", "TOP 2 0", `${base}/`);
    assert.equal(top.code, 0, top.err);
    const header = new TextDecoder("latin1").decode(stored[1]).indexOf("\r\n\r\n") + 4;
    assert.deepEqual(top.stdout, stored[1]!.subarray(0, header));

    // DELE, then the connection drops without QUIT: nothing is deleted (RFC 1939 §6).
    const dropped = await RawPop3.login(p.serve.pop3Port);
    assert.match(await dropped.command("DELE 1"), /^\+OK/);
    dropped.drop();
    await disconnected(p.serve, dropped.localPort);
    const after = await curl("--user", USER, "--request", "UIDL", `${base}/`);
    assert.equal(after.code, 0, after.err);
    assert.deepEqual(lines(after.out), uids.map((u, i) => `${i + 1} ${u}`));

    // DELE 1 by curl, which then says QUIT: message 1 is gone, the others keep their UIDs.
    const dele = await curl("--user", USER, "--request", "DELE", "--head", `${base}/1`);
    assert.equal(dele.code, 0, dele.err);
    const left = await curl("--user", USER, "--request", "UIDL", `${base}/`);
    assert.equal(left.code, 0, left.err);
    assert.deepEqual(lines(left.out), uids.slice(1).map((u, i) => `${i + 1} ${u}`));
    assert.deepEqual(await storedMessages(p.dir), stored.slice(1));

    // A wrong password: curl is refused (CURLE_LOGIN_DENIED).
    const wrong = await curl("--user", `${ADDRESS}:nope`, `${base}/`);
    assert.equal(wrong.code, 67, wrong.err);
  } finally {
    await p.close();
  }
});

Deno.test("curl pop3:// with --ssl-reqd: STLS with the certificate checked; pop3s://; no login in the clear", async () => {
  // Without --allow-insecure-auth: the password is taken only over TLS.
  const p = await startPop3Serve({ pop3s: true });
  const port = p.serve.pop3Port;
  try {
    await deliver(p.serve.smtpPort, ADDRESS, TRICKY);
    const [stored] = await storedMessages(p.dir);

    const stls = await curl(
      "--ssl-reqd",
      "--cacert",
      CA_FILE,
      "--user",
      USER,
      `pop3://127.0.0.1:${port}/1`,
    );
    assert.equal(stls.code, 0, stls.err);
    assert.deepEqual(stls.stdout, stored);

    assert.ok(p.pop3sPort > 0, p.serve.log());
    const implicit = await curl(
      "--cacert",
      CA_FILE,
      "--user",
      USER,
      `pop3s://localhost:${p.pop3sPort}/1`,
    );
    assert.equal(implicit.code, 0, implicit.err);
    assert.deepEqual(implicit.stdout, stored);

    // The certificate is checked: without the fixture CA curl stops there
    // (CURLE_PEER_FAILED_VERIFICATION).
    const untrusted = await curl("--ssl-reqd", "--user", USER, `pop3://127.0.0.1:${port}/1`);
    assert.equal(untrusted.code, 60, untrusted.err);

    // In the clear the server offers no way to log in (no USER, no SASL in CAPA): curl gives up.
    const clear = await curl("--user", USER, `pop3://127.0.0.1:${port}/1`);
    assert.equal(clear.code, 67, clear.err);
    assert.equal(clear.stdout.length, 0);
  } finally {
    await p.close();
  }
});

Deno.test("curl pop3://: a second session gets [IN-USE] while the first holds the mailbox", async () => {
  const p = await startPop3Serve({ insecure: true });
  const base = `pop3://127.0.0.1:${p.serve.pop3Port}`;
  try {
    await deliver(p.serve.smtpPort, ADDRESS, "Subject: one\r\n\r\nhello\r\n");
    const [stored] = await storedMessages(p.dir);

    const holder = await RawPop3.login(p.serve.pop3Port);
    const refused = await curl("--verbose", "--user", USER, `${base}/`);
    assert.equal(refused.code, 67, refused.err);
    assert.match(refused.err, /^< -ERR \[IN-USE\] /m);
    // The first session goes on, undisturbed.
    assert.equal(await holder.command("STAT"), `+OK 1 ${stored!.length}`);
    assert.match(await holder.command("QUIT"), /^\+OK /);

    // Its QUIT released the mailbox before the answer: the next session gets in at once.
    const list = await curl("--user", USER, `${base}/`);
    assert.equal(list.code, 0, list.err);
    assert.equal(list.out, `1 ${stored!.length}\r\n`);
  } finally {
    await p.close();
  }
});
