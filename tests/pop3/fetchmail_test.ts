/**
 * fetchmail (Debian's package; an independent POP3 client in C) downloads `mail serve`'s INBOX
 * over STLS with the certificate checked, each message handed to an MDA that writes it to a
 * file: byte for byte what `mail inbox ID --raw` prints (leading dots, 8-bit, long lines, a
 * message stored in pieces, one without a body). Kept on the server, a second run fetches only
 * what is new (fetchmail's own UIDL record); without `keep` fetchmail deletes what it got and the
 * INBOX is empty afterwards.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { CA_FILE, deliver, runClient } from "../_helpers/imap_clients.ts";
import { ADDRESS, PASSWORD, startPop3Serve, storedMessages } from "../_helpers/pop3_clients.ts";

const enc = new TextEncoder();

/** Lines a POP3 server must stuff and a client unstuff (RFC 1939 §3), 8-bit, a long line. */
const TRICKY = new Uint8Array([
  ...enc.encode("Subject: dots\r\n\r\n.leading dot\r\n..two\r\n.\r\n. \r\ncaf"),
  0xe9,
  ...enc.encode(`\r\n${"x".repeat(990)}\r\n.\r\n`),
]);

/** Larger than the store's 256 KiB piece, with a dot line in every piece. */
const LARGE = enc.encode(
  "Subject: large\r\n\r\n" + `.${"y".repeat(70)}\r\n${"z".repeat(76)}\r\n`.repeat(2600),
);

/**
 * The MDA: each message fetchmail hands over becomes the next numbered file in the directory
 * given as its argument (fetchmail delivers one message at a time).
 */
const DELIVER_SH = `#!/bin/sh
n=$(ls "$1" | wc -l)
exec cat > "$1/$(printf %04d "$n")"
`;

/**
 * A private run control file: STLS required (`sslproto`) with the fixture certificate as the
 * only trust and its name checked, UIDs recorded (`uidl`), carriage returns kept so that the
 * files are the octets the server sent, and no Received header of fetchmail's own (`--invisible`).
 */
function rc(dir: string, port: number, keep: boolean): string {
  return `set no syslog
poll localhost via 127.0.0.1 port ${port} protocol pop3 uidl
  user "${ADDRESS}" password "${PASSWORD}"
  sslproto tls1.2+ sslcertck sslcertfile "${CA_FILE}" sslcommonname localhost
  no rewrite no stripcr ${keep ? "keep" : "no keep fetchall"}
  mda "/bin/sh ${dir}/deliver.sh ${dir}/out"
`;
}

/** Runs fetchmail once with RC TEXT, every file of its own in DIR (away from root's own). */
async function fetchmail(dir: string, rcText: string) {
  const rcFile = join(dir, "fetchmailrc");
  await Deno.writeTextFile(rcFile, rcText, { mode: 0o600 });
  await Deno.chmod(rcFile, 0o600); // fetchmail refuses a run control file others may read
  const r = await runClient(
    "fetchmail",
    [
      "--fetchmailrc",
      rcFile,
      "--idfile",
      join(dir, "fetchids"),
      "--pidfile",
      join(dir, "fetchmail.pid"),
      "--nodetach",
      "--invisible",
      "--verbose",
    ],
    { env: { HOME: dir, FETCHMAILHOME: dir } },
  );
  return { ...r, log: `${r.out}\n${r.err}` };
}

/**
 * What fetchmail writes for each stored message: the same octets, except that a message with no
 * empty line (all header) gets one at its end from fetchmail, which always writes the line that
 * ends the header (the server sends the stored octets: curl_test.ts checks that message too).
 */
function asFetchmailWrites(stored: Uint8Array[]): Uint8Array[] {
  return stored.map((m) =>
    new TextDecoder("latin1").decode(m).includes("\r\n\r\n") ? m : new Uint8Array([...m, 13, 10])
  );
}

/** The files the MDA wrote so far, in order. */
async function delivered(dir: string): Promise<Uint8Array[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(join(dir, "out"))) names.push(e.name);
  return await Promise.all(names.sort().map((n) => Deno.readFile(join(dir, "out", n))));
}

Deno.test("fetchmail over STLS: every message byte for byte; UIDL keeps a second run to what is new; without keep, DELE + QUIT empties the INBOX", async () => {
  // Without --allow-insecure-auth: fetchmail must upgrade with STLS to log in.
  const p = await startPop3Serve();
  const work = await Deno.makeTempDir({ prefix: "mail-fetchmail-" });
  try {
    await Deno.mkdir(join(work, "out"));
    await Deno.writeTextFile(join(work, "deliver.sh"), DELIVER_SH);
    const smtp = p.serve.smtpPort;
    await deliver(smtp, ADDRESS, "Subject: plain\r\n\r\nhello\r\n");
    await deliver(smtp, ADDRESS, TRICKY);
    await deliver(smtp, ADDRESS, LARGE);
    await deliver(smtp, ADDRESS, "Subject: no body\r\n");

    // Kept on the server: all four arrive as stored.
    const first = await fetchmail(work, rc(work, p.serve.pop3Port, true));
    assert.equal(first.code, 0, first.log);
    assert.match(first.log, /STLS/);
    let stored = await storedMessages(p.dir);
    assert.equal(stored.length, 4);
    assert.deepEqual(await delivered(work), asFetchmailWrites(stored), first.log);

    // One more; fetchmail's record of UIDs makes the next run fetch only that one.
    await deliver(smtp, ADDRESS, "Subject: later\r\n\r\n.\r\n..\r\n");
    const second = await fetchmail(work, rc(work, p.serve.pop3Port, true));
    assert.equal(second.code, 0, second.log);
    stored = await storedMessages(p.dir);
    assert.equal(stored.length, 5);
    assert.deepEqual(await delivered(work), asFetchmailWrites(stored), second.log);

    // Without keep (and fetchall, past the record): all five again, then deleted at QUIT.
    const third = await fetchmail(work, rc(work, p.serve.pop3Port, false));
    assert.equal(third.code, 0, third.log);
    assert.deepEqual(await delivered(work), asFetchmailWrites([...stored, ...stored]), third.log);
    assert.deepEqual(await storedMessages(p.dir), []);

    // Nothing left: fetchmail says so with its status 1 (no mail) and delivers nothing.
    const fourth = await fetchmail(work, rc(work, p.serve.pop3Port, false));
    assert.equal(fourth.code, 1, fourth.log);
    assert.equal((await delivered(work)).length, 10);
  } finally {
    await p.close();
    await Deno.remove(work, { recursive: true });
  }
});
