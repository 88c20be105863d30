/**
 * IMAP in the real `mail serve` (a subprocess with the binary's permissions): an account made
 * with `mail user add` has its folders, mail delivered over SMTP is read over IMAP, and UIDs and
 * UIDVALIDITY survive a restart and a `kill -9` right after a delivery.
 */
import assert from "node:assert/strict";
import { mail, startServe, TEST_SERVE_FLAGS } from "../_helpers/mail_process.ts";
import { python } from "../_helpers/python.ts";

const SMTP_AND_IMAP = `
import imaplib, smtplib, sys, json
smtp_port, imap_port, body = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
if body:
    with smtplib.SMTP("127.0.0.1", smtp_port) as s:
        s.sendmail("bob@remote.test", ["alice@example.test"], body.encode())
m = imaplib.IMAP4("127.0.0.1", imap_port)
m.login("alice@example.test", "pw-alice")
typ, boxes = m.list()
typ, data = m.select("INBOX")
typ, status = m.status("INBOX", "(UIDVALIDITY UIDNEXT MESSAGES)")
typ, uids = m.uid("SEARCH", None, "ALL")
m.logout()
print(json.dumps({"list": [b.decode() for b in boxes], "status": status[0].decode(), "uids": uids[0].decode()}))
`;

Deno.test("mail serve: IMAP reads what SMTP delivered; UIDs and UIDVALIDITY survive restart and kill -9", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mail-serve-imap-" });
  const flags = [...TEST_SERVE_FLAGS, "--allow-insecure-auth"];
  try {
    assert.equal(
      (await mail(["user", "add", "alice@example.test", "--data", dir], { stdin: "pw-alice\n" }))
        .code,
      0,
    );
    let serve = await startServe(dir, flags);
    const first = await python(SMTP_AND_IMAP, [
      String(serve.smtpPort),
      String(serve.imapPort),
      "Subject: one\r\n\r\nfirst\r\n",
    ]);
    assert.equal(first.code, 0, first.err);
    const a = JSON.parse(first.out);
    for (const name of ["INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"]) {
      assert.ok(
        a.list.some((l: string) => l.endsWith(` ${name}`) || l.endsWith(`"${name}"`)),
        `${name}: ${a.list}`,
      );
    }
    assert.equal(a.uids, "1");
    const validity = /UIDVALIDITY (\d+)/.exec(a.status)![1];
    assert.equal(await serve.stop(), 0);

    serve = await startServe(dir, flags);
    const second = await python(SMTP_AND_IMAP, [
      String(serve.smtpPort),
      String(serve.imapPort),
      "Subject: two\r\n\r\nsecond\r\n",
    ]);
    assert.equal(second.code, 0, second.err);
    const b = JSON.parse(second.out);
    assert.equal(b.uids, "1 2");
    assert.equal(/UIDVALIDITY (\d+)/.exec(b.status)![1], validity);
    // kill -9 right after the 250: the message and its UID are durable.
    await serve.kill();

    serve = await startServe(dir, flags);
    const third = await python(SMTP_AND_IMAP, [String(serve.smtpPort), String(serve.imapPort), ""]);
    assert.equal(third.code, 0, third.err);
    const c = JSON.parse(third.out);
    assert.equal(c.uids, "1 2");
    assert.match(c.status, new RegExp(`UIDVALIDITY ${validity} UIDNEXT 3 MESSAGES 2`));
    assert.equal(await serve.stop(), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
