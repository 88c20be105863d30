/**
 * Interoperability: Python's smtplib (an independent client) against `mail serve` run as the
 * binary runs, then the mail read back with `mail inbox --json` and `--raw`, compared byte for byte.
 */
import assert from "node:assert/strict";
import { python } from "../_helpers/python.ts";
import { join } from "node:path";
import { mail, type ServeProcess, startServe } from "../_helpers/mail_process.ts";
import { withoutTrace } from "../_helpers/trace.ts";

async function addUser(dir: string, address: string) {
  const r = await mail(["user", "add", address, "--data", dir], { stdin: "secret-password\n" });
  assert.equal(r.code, 0, r.err);
}

async function inboxJson(
  dir: string,
  address: string,
): Promise<{ id: number; subject: string; seen: boolean }[]> {
  const r = await mail(["inbox", address, "--json", "--data", dir]);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out);
}

async function rawMessage(dir: string, address: string, id: number): Promise<Uint8Array> {
  const r = await mail(["inbox", address, String(id), "--raw", "--data", dir]);
  assert.equal(r.code, 0, r.err);
  return r.stdout;
}

const SEND = `
import smtplib, sys
port, path, sender = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rcpts = sys.argv[4].split(",")
opts = sys.argv[5].split(",") if len(sys.argv) > 5 and sys.argv[5] else []
data = open(path, "rb").read()
with smtplib.SMTP("127.0.0.1", port) as s:
    s.ehlo("python.test")
    refused = s.sendmail(sender, rcpts, data, mail_options=opts)
    print("refused", refused)
`;

Deno.test("smtplib: two recipients, dot lines, 8-bit UTF-8 body, UTF-8 address, 10 MiB", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "mail-smtplib-" });
  let server: ServeProcess | undefined;
  try {
    await addUser(dir, "alice@example.test");
    await addUser(dir, "bob@example.test");
    await addUser(dir, "jörg@example.test");
    server = await startServe(dir);
    const port = String(server.smtpPort);

    await t.step("two recipients, leading dots and 8-bit UTF-8, byte-exact", async () => {
      const msg = new TextEncoder().encode(
        "From: Sender <sender@remote.test>\r\nTo: alice@example.test, bob@example.test\r\n" +
          "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nMIME-Version: 1.0\r\n" +
          "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
          ".starts with a dot\r\n..two dots\r\n.\r\nSchöne Grüße — 日本語\r\n",
      );
      const file = join(dir, "m1.eml");
      await Deno.writeFile(file, msg);
      const r = await python(SEND, [
        port,
        file,
        "sender@remote.test",
        "alice@example.test,bob@example.test",
        "BODY=8BITMIME",
      ]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /refused \{\}/);
      for (const who of ["alice@example.test", "bob@example.test"]) {
        const list = await inboxJson(dir, who);
        assert.equal(list.length, 1);
        assert.equal(list[0]!.subject, "Grüße");
        assert.equal(list[0]!.seen, false);
        assert.deepEqual(withoutTrace(await rawMessage(dir, who, list[0]!.id)), msg);
      }
    });

    await t.step("UTF-8 address with SMTPUTF8", async () => {
      const msg = new TextEncoder().encode(
        "From: jörg@remote.test\r\nSubject: utf8\r\n\r\nHallo Jörg\r\n",
      );
      const file = join(dir, "m2.eml");
      await Deno.writeFile(file, msg);
      const r = await python(SEND, [
        port,
        file,
        "jörg@remote.test",
        "jörg@example.test",
        "SMTPUTF8,BODY=8BITMIME",
      ]);
      assert.equal(r.code, 0, r.err);
      const list = await inboxJson(dir, "jörg@example.test");
      assert.equal(list.length, 1);
      const raw = await rawMessage(dir, "jörg@example.test", list[0]!.id);
      assert.deepEqual(withoutTrace(raw), msg);
      assert.match(new TextDecoder().decode(raw), /^Return-Path: <jörg@remote\.test>\r\n/);
      assert.match(new TextDecoder().decode(raw), /with UTF8SMTP id /);
    });

    await t.step("a 10 MiB message arrives intact", async () => {
      const line = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-_".repeat(1) +
        "\r\n";
      const body = ".dot\r\n" + line.repeat(Math.ceil((10 * 1024 * 1024) / line.length));
      const msg = new TextEncoder().encode("Subject: big\r\n\r\n" + body);
      assert.ok(msg.length >= 10 * 1024 * 1024);
      const file = join(dir, "m3.eml");
      await Deno.writeFile(file, msg);
      const r = await python(SEND, [port, file, "big@remote.test", "bob@example.test"]);
      assert.equal(r.code, 0, r.err);
      const list = await inboxJson(dir, "bob@example.test");
      const big = list.find((e) => e.subject === "big");
      assert.ok(big);
      assert.deepEqual(withoutTrace(await rawMessage(dir, "bob@example.test", big.id)), msg);
    });

    await t.step("refused recipients are reported per recipient", async () => {
      const file = join(dir, "m4.eml");
      await Deno.writeFile(file, new TextEncoder().encode("Subject: partial\r\n\r\nx\r\n"));
      const r = await python(SEND, [
        port,
        file,
        "s@remote.test",
        "alice@example.test,nobody@example.test,x@elsewhere.test",
      ]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /'nobody@example\.test': \(550, b'5\.1\.1 No such user here'\)/);
      assert.match(r.out, /'x@elsewhere\.test': \(550, b'5\.7\.1 Relaying denied'\)/);
    });

    assert.equal(await server.stop(), 0);
    server = undefined;
  } finally {
    await server?.kill();
    await Deno.remove(dir, { recursive: true });
  }
});
