/**
 * A 10 MiB message: in over SMTP, out over IMAP octet for octet, whole and in partial fetches
 * (RFC 9051 §6.4.5 `BODY[]<start.count>`), read by two independent clients: Python's imaplib
 * and imapflow's download (which fetches in pieces).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { ImapFlow } from "imapflow";
import { python } from "../_helpers/python.ts";
import { startLiveServer } from "../_helpers/live_server.ts";
import { TEST_PASSWORD } from "../_helpers/session_peer.ts";
import { CA_FILE, CA_PEM, deliver, fixtureTls } from "../_helpers/imap_clients.ts";

const MIB = 1024 * 1024;

/**
 * 10 MiB of CRLF lines, the same every run: base64-like text, lines that start with a dot
 * (dot-stuffed by SMTP, to be undone), 8-bit octets, and lines up to 998 octets.
 */
function bigMessage(): Uint8Array {
  const out = new Uint8Array(10 * MIB);
  const head = new TextEncoder().encode(
    "Subject: big\r\nFrom: bob@remote.test\r\nContent-Type: application/octet-stream\r\n" +
      "Content-Transfer-Encoding: 8bit\r\n\r\n",
  );
  out.set(head);
  let seed = 0x2545f491;
  const next = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  let o = head.length;
  let line = 0;
  while (o < out.length - 2) {
    const room = out.length - 2 - o;
    const len = Math.min(room, line % 97 === 0 ? 998 : 76);
    for (let i = 0; i < len; i++) {
      const r = next();
      // 8-bit octets (never CR or LF inside a line), and now and then a line that starts with a dot.
      out[o + i] = i === 0 && line % 13 === 0 ? 0x2e : 0x20 + (r % 0xdf);
    }
    o += len;
    if (o < out.length - 2) {
      out[o++] = 0x0d;
      out[o++] = 0x0a;
    }
    line++;
  }
  out[out.length - 2] = 0x0d;
  out[out.length - 1] = 0x0a;
  return out;
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

const CLIENT = `
import imaplib, ssl, sys, json, hashlib, re
port, password, cafile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=cafile)
m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx)
m.login("alice@example.test", password)
m.select("INBOX", readonly=True)
out = {}
def fetch(what):
    typ, data = m.uid("FETCH", "1", "(" + what + ")")
    assert typ == "OK", (typ, data)
    parts = [d for d in data if isinstance(d, tuple)]
    assert len(parts) == 1, data
    head, body = parts[0]
    return head.decode(), body
typ, data = m.uid("FETCH", "1", "(RFC822.SIZE)")
out["size"] = int(re.search(rb"RFC822.SIZE (\\d+)", data[0]).group(1))
head, body = fetch("BODY.PEEK[]")
out["whole"] = {"len": len(body), "sha256": hashlib.sha256(body).hexdigest()}
for name, what in json.loads(sys.argv[4]).items():
    head, body = fetch(what)
    out[name] = {"head": head, "hex": body.hex() if len(body) <= 4096 else None,
                 "len": len(body), "sha256": hashlib.sha256(body).hexdigest()}
m.logout()
print(json.dumps(out))
`;

Deno.test("a 10 MiB message: SMTP in, IMAP FETCH out byte for byte, whole and partial", async () => {
  const live = await startLiveServer({ maxSize: 16 * MIB }, fixtureTls(), undefined, {
    imaps: true,
  });
  try {
    const sent = bigMessage();
    assert.equal(sent.length, 10 * MIB);
    await deliver(live.port, "alice@example.test", sent);
    const [stored] = live.messages();
    assert.ok(stored);
    // What the store keeps is its trace header, then exactly what was sent.
    assert.equal(sha256(stored.subarray(stored.length - sent.length)), sha256(sent));
    const total = stored.length;
    const bodyStart = total - sent.length + new TextDecoder("latin1").decode(sent.subarray(0, 512))
      .indexOf("\r\n\r\n") +
      4;

    // Partial fetches (RFC 9051 §6.4.5): the reply names the origin octet; a count past the end
    // gives what there is; a start past the end gives an empty string.
    const partials = {
      first: "BODY.PEEK[]<0.100>",
      middle: "BODY.PEEK[]<5000000.65536>",
      end: `BODY.PEEK[]<${total - 10}.100>`,
      past: `BODY.PEEK[]<${total + 5}.10>`,
      text: "BODY.PEEK[TEXT]<1000.2000>",
      big: `BODY.PEEK[]<${MIB}.${4 * MIB}>`,
    };
    const r = await python(CLIENT, [
      String(live.imapsPort),
      TEST_PASSWORD,
      CA_FILE,
      JSON.stringify(partials),
    ]);
    assert.equal(r.code, 0, r.err);
    const out = JSON.parse(r.out);
    assert.equal(out.size, total);
    assert.deepEqual(out.whole, { len: total, sha256: sha256(stored) });
    const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    const expect = (name: string, origin: number, bytes: Uint8Array, section = "") => {
      assert.match(
        out[name].head,
        new RegExp(`BODY\\[${section}\\]<${origin}> \\{${bytes.length}\\}`),
      );
      assert.equal(out[name].len, bytes.length, name);
      assert.equal(out[name].sha256, sha256(bytes), name);
      if (bytes.length <= 4096) assert.equal(out[name].hex, hex(bytes), name);
    };
    expect("first", 0, stored.subarray(0, 100));
    expect("middle", 5000000, stored.subarray(5000000, 5000000 + 65536));
    expect("end", total - 10, stored.subarray(total - 10));
    assert.equal(out.past.len, 0);
    assert.match(out.past.head, /BODY\[\]<\d+> (""|\{0\})/);
    expect("text", 1000, stored.subarray(bodyStart + 1000, bodyStart + 3000), "TEXT");
    expect("big", MIB, stored.subarray(MIB, 5 * MIB));

    // imapflow's download reads the message in partial fetches of its own choosing.
    const flow = new ImapFlow({
      host: "127.0.0.1",
      port: live.imapsPort,
      secure: true,
      tls: { ca: [CA_PEM] },
      auth: { user: "alice@example.test", pass: TEST_PASSWORD },
      logger: false,
      connectionTimeout: 30_000,
      greetingTimeout: 30_000,
      socketTimeout: 60_000,
    });
    try {
      await flow.connect();
      await flow.mailboxOpen("INBOX", { readOnly: true });
      const { content } = await flow.download("1", undefined, { uid: true });
      assert.ok(content);
      const hash = createHash("sha256");
      let length = 0;
      for await (const chunk of content) {
        hash.update(chunk);
        length += chunk.length;
      }
      assert.equal(length, total);
      assert.equal(hash.digest("hex"), sha256(stored));
      await flow.logout();
    } finally {
      flow.close();
    }
    // Nothing above set \Seen: every fetch was a PEEK on a read-only selection.
    assert.equal(live.store.count("alice@example.test").unseen, 1);
  } finally {
    await live.close();
  }
});
