/**
 * The checks end to end: Python's smtplib (an independent client) sends to `mail serve`, whose
 * every lookup goes to the tests' DNS responder (`--dns`); the mail is read back with
 * `mail inbox`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { python } from "../_helpers/python.ts";
import { mail, type ServeProcess, startServe } from "../_helpers/mail_process.ts";
import { startDnsServer } from "../_helpers/dns_server.ts";
import { message, rsaKey, signWithMailauth } from "./_fixtures.ts";

const KEY = rsaKey();

const SEND = `
import smtplib, sys
port, path, sender, rcpt = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
with smtplib.SMTP("127.0.0.1", port) as s:
    s.ehlo("client.example")
    try:
        s.sendmail(sender, [rcpt], open(path, "rb").read())
        print("250")
    except smtplib.SMTPDataError as e:
        print(e.smtp_code, e.smtp_error.decode())
`;

async function inbox(dir: string, address: string, folder = "INBOX"): Promise<string[]> {
  const r = await mail(["inbox", address, "--json", "--folder", folder, "--data", dir]);
  assert.equal(r.code, 0, r.err);
  const list = JSON.parse(r.out) as { id: number }[];
  const out: string[] = [];
  for (const e of list) {
    const raw = await mail([
      "inbox",
      address,
      String(e.id),
      "--raw",
      "--folder",
      folder,
      "--data",
      dir,
    ]);
    assert.equal(raw.code, 0, raw.err);
    out.push(new TextDecoder().decode(raw.stdout));
  }
  return out;
}

Deno.test("mail serve checks what smtplib sends: results recorded, Junk, 550", async () => {
  // The client is 127.0.0.1; SPF allows it for the signers, forbids it for the others.
  const dns = await startDnsServer({
    "example.com": { txt: ["v=spf1 ip4:127.0.0.1 -all"] },
    "sel._domainkey.example.com": { txt: [KEY.record] },
    "_dmarc.example.com": { txt: ["v=DMARC1; p=reject"] },
    "quarantine.test": { txt: ["v=spf1 -all"] },
    "_dmarc.quarantine.test": { txt: ["v=DMARC1; p=quarantine"] },
    "reject.test": { txt: ["v=spf1 -all"] },
    "_dmarc.reject.test": { txt: ["v=DMARC1; p=reject"] },
    "client.example": { txt: ["v=spf1 ip4:127.0.0.1 -all"] },
  });
  const dir = await Deno.makeTempDir({ prefix: "mail-checks-" });
  let server: ServeProcess | undefined;
  try {
    // Accounts have the default folders, Junk included.
    for (const user of ["bob@local.test", "carol@local.test"]) {
      const r = await mail(["user", "add", user, "--data", dir], { stdin: "secret-password\n" });
      assert.equal(r.code, 0, r.err);
    }
    server = await startServe(dir, [
      "--hostname",
      "mx.local.test",
      "--domain",
      "local.test",
      "--smtp",
      "127.0.0.1:0",
      "--submission",
      "127.0.0.1:0",
      "--imap",
      "127.0.0.1:0",
      "--pop3",
      "127.0.0.1:0",
      "--dns",
      dns.address,
    ]);
    const send = async (sender: string, rcpt: string, data: string) => {
      const file = join(dir, "m.eml");
      await Deno.writeTextFile(file, data);
      const r = await python(SEND, [String(server!.smtpPort), file, sender, rcpt]);
      assert.equal(r.code, 0, r.err);
      return r.out.trim();
    };
    const signed = await signWithMailauth(
      message("ann@example.com"),
      "example.com",
      "sel",
      KEY.privateKey,
    );
    assert.equal(await send("ann@example.com", "bob@local.test", signed), "250");
    const [stored] = await inbox(dir, "bob@local.test");
    assert.match(
      stored!,
      /^Return-Path: <ann@example\.com>\r\nAuthentication-Results: mx\.local\.test;\r\n\tdkim=pass header\.d=example\.com /,
    );
    assert.match(stored!, /\tspf=pass [^;]*smtp\.mailfrom=ann@example\.com;/);
    assert.match(
      stored!,
      /\tdmarc=pass [^;]*header\.from=example\.com\r\nReceived: from client\.example /,
    );
    assert.ok(stored!.endsWith(signed));

    const quarantined = message("ann@quarantine.test");
    assert.equal(await send("ann@quarantine.test", "carol@local.test", quarantined), "250");
    assert.equal(await send("ann@quarantine.test", "postmaster@local.test", quarantined), "250");
    const [junk] = await inbox(dir, "carol@local.test", "Junk");
    assert.match(junk!, /dmarc=fail [^;]*policy\.dmarc=quarantine\r\nX-Spam-Flag: YES\r\n/);
    assert.deepEqual(await inbox(dir, "carol@local.test"), []);
    await server.waitForLog("Quarantined");
    assert.match(server.log(), /mail\.checks: Quarantined .*from=quarantine\.test/);
    // Postmaster's mailbox was made by a delivery: it has no Junk folder, so INBOX, flagged.
    const [flagged] = await inbox(dir, "postmaster@local.test");
    assert.match(flagged!, /policy\.dmarc=quarantine\r\nX-Spam-Flag: YES\r\nReceived: /);

    const refused = await send("ann@reject.test", "bob@local.test", message("ann@reject.test"));
    assert.match(refused, /^550 5\.7\.1 Message refused: DMARC policy of reject\.test is reject/);
    assert.equal((await inbox(dir, "bob@local.test")).length, 1);
  } finally {
    await server?.stop();
    await dns.close();
    await Deno.remove(dir, { recursive: true });
  }
});
