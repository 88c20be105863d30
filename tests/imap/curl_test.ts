/**
 * `mail serve`'s IMAP listeners driven by curl's `imap://` and `imaps://` (an independent client
 * in C): LIST, a message fetched by UID octet for octet, a part by section, SEARCH, a command of
 * its own (EXAMINE), an upload by APPEND, STARTTLS required with the certificate checked, and
 * no password taken in the clear where that is not allowed.
 */
import assert from "node:assert/strict";
import { startLiveServer } from "../_helpers/live_server.ts";
import { TEST_PASSWORD } from "../_helpers/session_peer.ts";
import { CA_FILE, deliver, fixtureTls, runClient } from "../_helpers/imap_clients.ts";

const tls = fixtureTls();
const USER = `alice@example.test:${TEST_PASSWORD}`;

/** curl, quiet but for errors; its exit status tells what failed (67: login denied). */
function curl(...args: string[]) {
  return runClient("curl", ["--silent", "--show-error", "--max-time", "60", ...args], {
    package: "curl",
  });
}

/** A message with what a byte-exact path must keep: 8-bit octets, a leading dot, a long line. */
const TRICKY = new Uint8Array([
  ...new TextEncoder().encode(
    "Subject: needle\r\nContent-Type: text/plain; charset=iso-8859-1\r\n" +
      "Content-Transfer-Encoding: 8bit\r\n\r\ncaf",
  ),
  0xe9,
  ...new TextEncoder().encode(`\r\n.leading dot\r\n..two\r\n${"x".repeat(990)}\r\n\r\n`),
]);

/** Where TRICKY's body starts: after the blank line. */
const TRICKY_BODY = new TextDecoder("latin1").decode(TRICKY).indexOf("\r\n\r\n") + 4;

Deno.test("curl imap://: LIST, UID fetch byte for byte, SECTION, SEARCH, EXAMINE, APPEND", async () => {
  const live = await startLiveServer({ allowInsecureAuth: true }, tls, undefined, { imap: true });
  const base = `imap://127.0.0.1:${live.imapPort}`;
  try {
    await deliver(live.port, "alice@example.test", "Subject: first\r\n\r\nhello\r\n");
    await deliver(live.port, "alice@example.test", TRICKY);
    const stored = live.messages();

    const list = await curl("--user", USER, `${base}/`);
    assert.equal(list.code, 0, list.err);
    assert.deepEqual(list.out.trimEnd().split("\r\n").sort(), [
      `* LIST (\\HasNoChildren \\Archive) "/" Archive`,
      `* LIST (\\HasNoChildren \\Drafts) "/" Drafts`,
      `* LIST (\\HasNoChildren \\Junk) "/" Junk`,
      `* LIST (\\HasNoChildren \\Sent) "/" Sent`,
      `* LIST (\\HasNoChildren \\Trash) "/" Trash`,
      `* LIST (\\HasNoChildren) "/" INBOX`,
    ]);

    // UID FETCH n BODY[]: exactly the stored octets (trace header first, then what SMTP got).
    for (const uid of [1, 2]) {
      const r = await curl("--user", USER, `${base}/INBOX;UID=${uid}`);
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(r.stdout, stored[uid - 1]);
    }
    const tail = stored[1]!.subarray(stored[1]!.length - TRICKY.length);
    assert.deepEqual(tail, TRICKY);
    // Fetching BODY[] set \Seen (RFC 9051 §6.4.5).
    assert.equal(live.store.count("alice@example.test").unseen, 0);

    const section = await curl("--user", USER, `${base}/INBOX;UID=1;SECTION=TEXT`);
    assert.equal(section.code, 0, section.err);
    assert.equal(section.out, "hello\r\n");
    const header = await curl(
      "--user",
      USER,
      `${base}/INBOX;UID=2;SECTION=HEADER.FIELDS%20(SUBJECT)`,
    );
    assert.equal(header.code, 0, header.err);
    assert.equal(header.out, "Subject: needle\r\n\r\n");

    const search = await curl("--user", USER, `${base}/INBOX?SUBJECT%20needle`);
    assert.equal(search.code, 0, search.err);
    assert.equal(search.out, "* SEARCH 2\r\n");

    const examine = await curl("--user", USER, "--request", "EXAMINE INBOX", `${base}/`);
    assert.equal(examine.code, 0, examine.err);
    assert.match(examine.out, /^\* 2 EXISTS\r$/m);
    assert.match(examine.out, /^\* OK \[UIDNEXT 3\]/m);

    // An upload is an APPEND; it comes back the same.
    const dir = await Deno.makeTempDir({ prefix: "mail-curl-" });
    try {
      const file = `${dir}/draft.eml`;
      await Deno.writeFile(file, TRICKY);
      const up = await curl("--user", USER, "--upload-file", file, `${base}/Drafts`);
      assert.equal(up.code, 0, up.err);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    const back = await curl("--user", USER, `${base}/Drafts;UID=1`);
    assert.equal(back.code, 0, back.err);
    assert.deepEqual(back.stdout, TRICKY);

    // A wrong password: curl is refused (CURLE_LOGIN_DENIED).
    const wrong = await curl("--user", "alice@example.test:nope", `${base}/`);
    assert.equal(wrong.code, 67, wrong.err);
  } finally {
    await live.close();
  }
});

Deno.test("curl imap:// with --ssl-reqd: STARTTLS with the certificate checked; imaps://; no cleartext login", async () => {
  // Without allowInsecureAuth: the password is taken only over TLS.
  const live = await startLiveServer({}, tls, undefined, { imap: true, imaps: true });
  try {
    await deliver(live.port, "alice@example.test", TRICKY);
    const [stored] = live.messages();

    const starttls = await curl(
      "--ssl-reqd",
      "--cacert",
      CA_FILE,
      "--user",
      USER,
      `imap://127.0.0.1:${live.imapPort}/INBOX;UID=1`,
    );
    assert.equal(starttls.code, 0, starttls.err);
    assert.deepEqual(starttls.stdout, stored);

    const implicit = await curl(
      "--cacert",
      CA_FILE,
      "--user",
      USER,
      `imaps://127.0.0.1:${live.imapsPort}/INBOX;UID=1;SECTION=1`,
    );
    assert.equal(implicit.code, 0, implicit.err);
    assert.deepEqual(implicit.stdout, TRICKY.subarray(TRICKY_BODY));

    // In the clear the server offers no way to log in (LOGINDISABLED, no AUTH=): curl gives up.
    const clear = await curl("--user", USER, `imap://127.0.0.1:${live.imapPort}/`);
    assert.equal(clear.code, 67, clear.err);
    assert.doesNotMatch(clear.out, /LIST/);
  } finally {
    await live.close();
  }
});
