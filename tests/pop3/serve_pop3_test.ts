/**
 * POP3 in the real `mail serve` (a subprocess with the binary's permissions), on the INBOX that
 * SMTP delivers to and IMAP serves: Python's poplib downloads byte for byte, UIDL stays the same
 * across a restart, DELE + QUIT expunges (IMAP sees it), and a second session gets [IN-USE].
 */
import assert from "node:assert/strict";
import { mail, startServe, TEST_SERVE_FLAGS } from "../_helpers/mail_process.ts";
import { python } from "../_helpers/python.ts";

const CLIENT = `
import poplib, smtplib, imaplib, sys, json
smtp_port, pop3_port, imap_port, step = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
out = {}
if step == "deliver":
    with smtplib.SMTP("127.0.0.1", smtp_port) as s:
        s.sendmail("bob@remote.test", ["alice@example.test"], b"Subject: one\\r\\n\\r\\n.leading dot\\r\\nbody\\r\\n")
        s.sendmail("bob@remote.test", ["alice@example.test"], b"Subject: two\\r\\n\\r\\nsecond\\r\\n")
p = poplib.POP3("127.0.0.1", pop3_port)
p.user("alice@example.test")
p.pass_("pw-alice")
out["stat"] = list(p.stat())
out["uidl"] = [u.decode() for u in p.uidl()[1]]
resp, lines, octets = p.retr(1)
out["retr1"] = b"\\r\\n".join(lines).decode() + "\\r\\n"
out["octets1"] = octets
if step == "second":
    try:
        q = poplib.POP3("127.0.0.1", pop3_port)
        q.user("alice@example.test")
        q.pass_("pw-alice")
        out["second"] = "ok"
    except poplib.error_proto as e:
        out["second"] = str(e)
    p.retr(2)
    p.dele(1)
    p.quit()
    m = imaplib.IMAP4("127.0.0.1", imap_port)
    m.login("alice@example.test", "pw-alice")
    typ, data = m.select("INBOX")
    out["imap_exists"] = int(data[0])
    typ, data = m.fetch("1", "(FLAGS)")
    out["imap_flags"] = data[0].decode()
    m.logout()
else:
    p.quit()
print(json.dumps(out))
`;

Deno.test("mail serve: POP3 downloads the INBOX byte for byte; UIDL is stable; DELE + QUIT expunges; [IN-USE]", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mail-serve-pop3-" });
  const flags = [...TEST_SERVE_FLAGS, "--allow-insecure-auth"];
  try {
    assert.equal(
      (await mail(["user", "add", "alice@example.test", "--data", dir], { stdin: "pw-alice\n" }))
        .code,
      0,
    );
    let serve = await startServe(dir, flags);
    const ports = () => [String(serve.smtpPort), String(serve.pop3Port), String(serve.imapPort)];
    const first = await python(CLIENT, [...ports(), "deliver"]);
    assert.equal(first.code, 0, first.err);
    const a = JSON.parse(first.out);
    assert.equal(a.stat[0], 2);
    // RETR is the stored message (with the Received and Return-Path headers added at
    // delivery), its leading dot restored by poplib's unstuffing.
    const stored = new TextDecoder().decode(
      await (async () => {
        const r = await mail(["inbox", "alice@example.test", "--data", dir, "--json"]);
        const list = JSON.parse(r.out) as { id: number }[];
        const raw = await mail([
          "inbox",
          "alice@example.test",
          String(list.at(-1)!.id),
          "--raw",
          "--data",
          dir,
        ]);
        return raw.stdout;
      })(),
    );
    assert.equal(a.retr1, stored);
    assert.ok(a.retr1.includes("\r\n.leading dot\r\n"));
    assert.equal(a.octets1, new TextEncoder().encode(stored).length);
    assert.equal(await serve.stop(), 0);

    serve = await startServe(dir, flags);
    const second = await python(CLIENT, [...ports(), "second"]);
    assert.equal(second.code, 0, second.err);
    const b = JSON.parse(second.out);
    assert.deepEqual(b.uidl, a.uidl, "UIDL survives a restart");
    assert.match(b.second, /\[IN-USE\]/);
    // DELE 1 + QUIT: gone for IMAP too; message 2 was retrieved, so it is \\Seen now.
    assert.equal(b.imap_exists, 1);
    assert.match(b.imap_flags, /\\Seen/);
    assert.equal(await serve.stop(), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
