/**
 * `mail serve`'s IMAP listener driven by an independent client, Python's imaplib: login over
 * STARTTLS (and plain from loopback where allowed), LIST with special-use folders, SELECT,
 * SEARCH, FETCH byte for byte what SMTP delivered, STORE, COPY, MOVE, EXPUNGE, APPEND, and a
 * delivery announced to a client in IDLE.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { python } from "../_helpers/python.ts";
import { startLiveServer } from "../_helpers/live_server.ts";
import { LineSocket } from "../_helpers/smtp_socket.ts";
import { TEST_PASSWORD } from "../_helpers/session_peer.ts";
import { secureContext } from "../../src/server/tls_cert.ts";

const fixtures = new URL("../fixtures/tls/", import.meta.url).pathname;
const tls = secureContext({
  certPem: Deno.readTextFileSync(join(fixtures, "cert.pem")),
  keyPem: Deno.readTextFileSync(join(fixtures, "key.pem")),
});

async function deliver(port: number, to: string, body: string): Promise<void> {
  const s = await LineSocket.connect(port);
  await s.readReply();
  for (
    const line of ["EHLO client.test", "MAIL FROM:<bob@remote.test>", `RCPT TO:<${to}>`, "DATA"]
  ) {
    assert.match(await s.command(line), /^(250|354) /);
  }
  assert.match(await s.command(`${body}\r\n.`), /^250 /);
  await s.command("QUIT");
  s.close();
}

const CLIENT = `
import imaplib, ssl, sys, json
port, password = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=sys.argv[3])
ctx.check_hostname = False
m = imaplib.IMAP4("127.0.0.1", port)
out = {"before": list(m.capabilities)}
m.starttls(ssl_context=ctx)
m.login("alice@example.test", password)
typ, boxes = m.list()
out["list"] = [b.decode() for b in boxes]
typ, data = m.select("INBOX")
out["exists"] = int(data[0])
typ, data = m.uid("SEARCH", None, "TEXT", "needle")
out["search"] = data[0].decode()
typ, data = m.uid("FETCH", "1:*", "(RFC822 FLAGS)")
out["fetch"] = [d[1].decode("latin1") for d in data if isinstance(d, tuple)]
typ, data = m.fetch("1", "(FLAGS)")
out["flags"] = data[0].decode()
m.store("1", "+FLAGS", "(\\\\Flagged)")
typ, data = m.copy("1", "Archive")
out["copy"] = typ
typ, data = m.uid("MOVE", "2", "Trash")
out["move"] = typ
m.store("1", "+FLAGS", "(\\\\Deleted)")
typ, data = m.expunge()
out["expunged"] = [d.decode() for d in data if d]
typ, data = m.append("Drafts", "(\\\\Draft)", None, b"Subject: draft\\r\\n\\r\\nunfinished\\r\\n")
out["append"] = typ
typ, data = m.status("Archive", "(MESSAGES UIDNEXT)")
out["archive"] = data[0].decode()
typ, data = m.status("Drafts", "(MESSAGES)")
out["drafts"] = data[0].decode()
m.logout()
print(json.dumps(out))
`;

Deno.test("imaplib: STARTTLS, login, list, search, fetch byte for byte, store, copy, move, expunge, append", async () => {
  const live = await startLiveServer({}, tls, undefined, { imap: true });
  try {
    await deliver(
      live.port,
      "alice@example.test",
      "Subject: first\r\n\r\nThe needle is here.\r\n.dot line",
    );
    await deliver(live.port, "alice@example.test", "Subject: second\r\n\r\nNothing to see.");
    const stored = live.messages().map((b) => new TextDecoder("latin1").decode(b));
    const r = await python(CLIENT, [
      String(live.imapPort),
      TEST_PASSWORD,
      join(fixtures, "cert.pem"),
    ]);
    assert.equal(r.code, 0, r.err);
    const out = JSON.parse(r.out);
    assert.ok(out.before.includes("STARTTLS") && out.before.includes("LOGINDISABLED"), out.before);
    assert.ok(out.list.some((l: string) => l.includes("\\Sent") && l.endsWith("Sent")), out.list);
    assert.ok(out.list.some((l: string) => l.endsWith("INBOX")));
    assert.equal(out.exists, 2);
    assert.equal(out.search, "1");
    // FETCH RFC822 is the stored message, octet for octet (dot-stuffing undone by SMTP).
    assert.deepEqual(out.fetch, stored);
    // FETCH RFC822 set \Seen (RFC 9051 §6.4.5).
    assert.match(out.flags, /FLAGS \(\\Seen\)/);
    assert.equal(out.copy, "OK");
    assert.equal(out.move, "OK");
    // imaplib hands back every EXPUNGE since the last call: MOVE's (message 2), then EXPUNGE's.
    assert.deepEqual(out.expunged, ["2", "1"]);
    assert.equal(out.append, "OK");
    assert.match(out.archive, /MESSAGES 1 UIDNEXT 2/);
    assert.match(out.drafts, /MESSAGES 1/);
    // mail inbox sees the same: INBOX is empty now (one expunged, one moved to Trash).
    assert.equal(live.store.count("alice@example.test").total, 0);
  } finally {
    await live.close();
  }
});

Deno.test("IMAP: a delivery over SMTP reaches a client in IDLE", async () => {
  const live = await startLiveServer({ allowInsecureAuth: true }, undefined, undefined, {
    imap: true,
  });
  try {
    const s = await LineSocket.connect(live.imapPort);
    /** Sends an IMAP command; returns the lines up to and including its tagged status. */
    const command = async (tag: string, line: string) => {
      await s.send(`${tag} ${line}\r\n`);
      const lines: string[] = [];
      for (;;) {
        const l = await s.readLine();
        if (l === undefined) throw new Error(`Closed after ${JSON.stringify(lines)}`);
        lines.push(l);
        if (l.startsWith(`${tag} `)) return lines;
      }
    };
    assert.match((await s.readLine())!, /^\* OK /);
    assert.match(
      (await command("a1", `LOGIN alice@example.test ${TEST_PASSWORD}`)).at(-1)!,
      /^a1 OK/,
    );
    const selected = await command("a2", "SELECT INBOX");
    assert.ok(selected.includes("* 0 EXISTS"), selected.join("\n"));
    await s.send("a3 IDLE\r\n");
    assert.equal(await s.readLine(), "+ idling");
    await deliver(live.port, "alice@example.test", "Subject: ping\r\n\r\nnew mail");
    assert.equal(await s.readLine(), "* 1 EXISTS");
    await s.send("DONE\r\n");
    assert.equal(await s.readLine(), "a3 OK IDLE terminated");
    assert.match((await command("a4", "LOGOUT")).at(-1)!, /^a4 OK/);
    s.close();
  } finally {
    await live.close();
  }
});
