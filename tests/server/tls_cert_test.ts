/**
 * The TLS certificate modules: the DER writer (_der.ts), the self-signed certificate
 * (tls_self_signed.ts; checked by node's X509Certificate, by a real handshake, and by openssl
 * where it is installed), and loading, reusing and regenerating certificates under DATA/tls
 * (tls_cert.ts).
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import * as net from "node:net";
import { join } from "node:path";
import * as tls from "node:tls";
import fc from "fast-check";
import * as der from "../../src/server/_der.ts";
import {
  type CertificateInfo,
  createSelfSigned,
  loadOrCreateCertificate,
  secureContext,
  TlsConfigError,
} from "../../src/server/tls_cert.ts";
import { p1363ToDer } from "../../src/server/tls_self_signed.ts";

const HOST = "mx.example.test";
const DAY = 24 * 3600 * 1000;
const POSIX = Deno.build.os !== "windows";

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHex(s: string): Uint8Array {
  return Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
}

/** Reads back a DER header: [tag, content length, header length]. */
function readHeader(bytes: Uint8Array): [number, number, number] {
  const first = bytes[1]!;
  if (first < 0x80) return [bytes[0]!, first, 2];
  const count = first & 0x7f;
  let length = 0;
  for (let i = 0; i < count; i++) length = length * 256 + bytes[2 + i]!;
  return [bytes[0]!, length, 2 + count];
}

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "mail-tls-" });
}

async function rejectsConfig(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof TlsConfigError, `expected TlsConfigError, got ${e}`);
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes("\n"), "message is one line");
    return true;
  });
}

// --- DER -------------------------------------------------------------------------------------

Deno.test("DER lengths: short form below 128, minimal long form above", () => {
  const cases: [number, string][] = [
    [0, "00"],
    [127, "7f"],
    [128, "8180"],
    [255, "81ff"],
    [256, "820100"],
    [65535, "82ffff"],
    [65536, "83010000"],
  ];
  for (const [n, want] of cases) {
    assert.equal(hex(der.encodeLength(n)), want, `length ${n}`);
    const encoded = der.octetString(new Uint8Array(n));
    assert.deepEqual(readHeader(encoded), [0x04, n, 1 + want.length / 2]);
    assert.equal(encoded.length, 1 + want.length / 2 + n);
  }
  assert.throws(() => der.encodeLength(-1), RangeError);
  assert.throws(() => der.encodeLength(1.5), RangeError);
});

Deno.test("DER lengths: any length round-trips in the fewest octets", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 40 }), (n) => {
      const enc = der.encodeLength(n);
      const [, decoded] = readHeader(Uint8Array.of(0x04, ...enc));
      assert.equal(decoded, n);
      if (n < 128) assert.equal(enc.length, 1);
      else {
        assert.equal(enc[0]! & 0x80, 0x80);
        assert.notEqual(enc[1], 0, "no leading zero octet in the long form");
        assert.equal(enc.length - 1, Math.ceil(n.toString(16).length / 2));
      }
    }),
  );
});

Deno.test("DER INTEGER: minimal, positive, leading 0x00 only for a set high bit", () => {
  assert.equal(hex(der.integer(0)), "020100");
  assert.equal(hex(der.integer(2)), "020102");
  assert.equal(hex(der.integer(127)), "02017f");
  assert.equal(hex(der.integer(128)), "02020080");
  assert.equal(hex(der.integer(256)), "02020100");
  assert.equal(hex(der.integer(0xffffffffffn)), "020600ffffffffff");
  assert.equal(hex(der.integer(fromHex("000000017f"))), "0202017f");
  assert.equal(hex(der.integer(fromHex("0000ff"))), "020200ff");
  assert.equal(hex(der.integer(fromHex("0000"))), "020100");
  assert.throws(() => der.integer(-1), RangeError);
});

Deno.test("DER INTEGER: any unsigned byte string encodes to its value, minimally", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 }), (bytes) => {
      const enc = der.integer(bytes);
      const [tag, length, header] = readHeader(enc);
      assert.equal(tag, 0x02);
      const content = enc.subarray(header);
      assert.equal(content.length, length);
      assert.equal(content[0]! & 0x80, 0, "positive");
      if (content.length > 1) {
        assert.ok(content[0] !== 0 || (content[1]! & 0x80) !== 0, "no redundant leading zero");
      }
      assert.equal(BigInt("0x" + (hex(content) || "0")), BigInt("0x" + hex(bytes)));
    }),
  );
});

Deno.test("DER OID, NULL, BOOLEAN, strings, BIT STRING", () => {
  assert.equal(hex(der.oid("1.2.840.10045.4.3.2")), "06082a8648ce3d040302");
  assert.equal(hex(der.oid("2.5.29.17")), "0603551d11");
  assert.equal(hex(der.oid("1.3.6.1.5.5.7.3.1")), "06082b06010505070301");
  assert.throws(() => der.oid("1.40"), RangeError);
  assert.throws(() => der.oid("banana"), RangeError);
  assert.equal(hex(der.nullValue()), "0500");
  assert.equal(hex(der.boolean(true)), "0101ff");
  assert.equal(hex(der.boolean(false)), "010100");
  assert.equal(hex(der.utf8String("é")), "0c02c3a9");
  assert.equal(hex(der.printableString("a-b.c")), "1305612d622e63");
  assert.throws(() => der.printableString("a_b"), RangeError);
  assert.throws(() => der.ia5String("é"), RangeError);
  assert.equal(hex(der.bitString(fromHex("abcd"))), "030300abcd");
  // KeyUsage digitalSignature only: one octet, seven unused bits (RFC 5280 §4.2.1.3).
  assert.equal(hex(der.namedBits([0])), "03020780");
  assert.equal(hex(der.namedBits([0, 5])), "03020284"); // digitalSignature + keyCertSign
  assert.equal(hex(der.namedBits([8])), "0303070080");
  assert.equal(hex(der.octetString(fromHex("01"))), "040101");
});

Deno.test("DER SEQUENCE, SET (sorted), explicit and implicit context tags", () => {
  assert.equal(hex(der.sequence()), "3000");
  assert.equal(hex(der.sequence(der.integer(1), der.nullValue())), "30050201010500");
  assert.equal(hex(der.set(der.integer(2), der.integer(1))), "3106020101020102");
  assert.equal(hex(der.explicit(0, der.integer(2))), "a003020102");
  assert.equal(hex(der.explicit(3, der.sequence())), "a3023000");
  assert.equal(hex(der.implicit(2, new TextEncoder().encode("a"))), "820161");
  assert.equal(hex(der.implicit(7, fromHex("7f000001"))), "87047f000001");
  assert.equal(hex(der.implicit(1, der.sequence(), true)), "a1023000");
});

Deno.test("DER time: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5)", () => {
  const text = (b: Uint8Array) => new TextDecoder().decode(b.subarray(2));
  const utc = der.time(new Date("2049-12-31T23:59:59.999Z"));
  assert.equal(utc[0], 0x17);
  assert.equal(text(utc), "491231235959Z");
  const gen = der.time(new Date("2050-01-01T00:00:00Z"));
  assert.equal(gen[0], 0x18);
  assert.equal(text(gen), "20500101000000Z");
  assert.equal(text(der.time(new Date("2001-02-03T04:05:06Z"))), "010203040506Z");
  assert.throws(() => der.time(new Date("nope")), RangeError);
});

Deno.test("ECDSA P1363 r||s becomes SEQUENCE { INTEGER r, INTEGER s }", () => {
  const r = new Uint8Array(32).fill(0x80); // high bit: needs a 0x00 pad
  const s = new Uint8Array(32);
  s[31] = 5; // leading zeros: must be stripped
  const sig = p1363ToDer(Uint8Array.from([...r, ...s]));
  assert.equal(hex(sig), "3026" + "022100" + hex(r) + "020105");
  assert.throws(() => p1363ToDer(new Uint8Array(63)), RangeError);
});

// --- createSelfSigned ------------------------------------------------------------------------

Deno.test("createSelfSigned: a valid self-signed X.509 v3 server certificate", async () => {
  const now = new Date("2030-06-15T12:00:00Z");
  const { certPem, keyPem } = await createSelfSigned(HOST, { now, days: 10 });
  assert.match(keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  for (const pem of [certPem, keyPem]) {
    for (const line of pem.trimEnd().split("\n").slice(1, -1)) assert.ok(line.length <= 64);
  }
  const x = new X509Certificate(certPem);
  assert.equal(x.subject, `CN=${HOST}`);
  assert.equal(x.issuer, `CN=${HOST}`);
  assert.equal(x.subjectAltName, `DNS:${HOST}`);
  assert.equal(x.validFromDate.toISOString(), "2030-06-15T11:00:00.000Z");
  assert.equal(x.validToDate.toISOString(), "2030-06-25T12:00:00.000Z");
  assert.equal(x.ca, false);
  // Present at run time (Node 22.13+ API) though not in the type definitions yet.
  const oid = (x as unknown as { signatureAlgorithmOid?: string }).signatureAlgorithmOid;
  assert.equal(oid, "1.2.840.10045.4.3.2");
  assert.ok(x.verify(x.publicKey), "self-signature verifies");
  assert.ok(x.checkPrivateKey((await import("node:crypto")).createPrivateKey(keyPem)));
  assert.equal(x.checkHost(HOST), HOST);
  assert.equal(x.checkHost("other.example.test"), undefined);
  assert.deepEqual(x.keyUsage, ["DigitalSignature"]);
  assert.equal(x.publicKey.asymmetricKeyType, "ec");
  assert.equal(x.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
  assert.match(x.serialNumber, /^[0-7][0-9A-F]{31}$/i, "16 octets, positive");
  const other = new X509Certificate((await createSelfSigned(HOST, { now })).certPem);
  assert.notEqual(other.serialNumber, x.serialNumber);
});

Deno.test("createSelfSigned: default 825 days; years from 2050 use GeneralizedTime", async () => {
  const now = new Date("2049-06-01T00:00:00Z");
  const x = new X509Certificate((await createSelfSigned(HOST, { now })).certPem);
  assert.equal(x.validToDate.getTime(), now.getTime() + 825 * DAY);
  assert.equal(x.validFromDate.toISOString(), "2049-05-31T23:00:00.000Z");
  assert.ok(x.verify(x.publicKey));
});

Deno.test("createSelfSigned: IP literals get an iPAddress alt name", async () => {
  for (
    const [host, want] of [["127.0.0.1", "127.0.0.1"], ["::1", "::1"], [
      "[2001:db8::5]",
      "2001:db8::5",
    ]]
  ) {
    const x = new X509Certificate((await createSelfSigned(host!)).certPem);
    assert.equal(x.subjectAltName, `IP Address:${want}`);
    assert.equal(x.checkIP(want!), want);
    assert.ok(x.verify(x.publicKey));
  }
});

Deno.test("createSelfSigned: host names are normalized, unusable ones refused", async () => {
  const x = new X509Certificate((await createSelfSigned("MX.Example.TEST.")).certPem);
  assert.equal(x.subjectAltName, "DNS:mx.example.test");
  const idn = new X509Certificate((await createSelfSigned("bücher.example")).certPem);
  assert.equal(idn.subjectAltName, "DNS:xn--bcher-kva.example");
  await rejectsConfig(createSelfSigned(""), /cannot name a certificate/);
  await rejectsConfig(createSelfSigned("a b"), /cannot name a certificate/);
});

Deno.test("createSelfSigned: openssl agrees the certificate is well-formed", {
  ignore: !hasOpenssl(),
}, async () => {
  const dir = await tempDir();
  try {
    const file = join(dir, "cert.pem");
    await Deno.writeTextFile(file, (await createSelfSigned(HOST)).certPem);
    const out = await new Deno.Command("openssl", {
      args: ["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", file, file],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(new TextDecoder().decode(out.stdout).trim(), `${file}: OK`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function hasOpenssl(): boolean {
  try {
    return new Deno.Command("openssl", { args: ["version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

// --- handshakes ------------------------------------------------------------------------------

/**
 * A TLS server the way the SMTP server does STARTTLS: a node:net socket wrapped in a server
 * TLSSocket. (On Deno 2.9.6 `tls.createServer({ secureContext })` serves no certificate.)
 */
async function tlsServer(info: CertificateInfo | { certPem: string; keyPem: string }) {
  const context = secureContext(info);
  const sockets = new Set<net.Socket>();
  const serverErrors: string[] = [];
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.pause();
    const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: context });
    secure.on("secure", () => secure.end("hello\n"));
    secure.on("error", (e) => {
      serverErrors.push(e.message);
      socket.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    serverErrors,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function nodeConnect(
  port: number,
  ca: string,
  extra: tls.ConnectionOptions = {},
): Promise<{ protocol: string | null; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, ca, servername: HOST, ...extra });
    let text = "";
    let protocol: string | null = null;
    socket.setEncoding("utf8");
    socket.on("secureConnect", () => protocol = socket.getProtocol());
    socket.on("data", (d: string) => text += d);
    socket.on("end", () => {
      socket.destroy();
      resolve({ protocol, text });
    });
    socket.on("error", (e) => {
      socket.destroy();
      reject(e);
    });
  });
}

Deno.test("handshake: node:tls client verifies the generated certificate", async () => {
  const cert = await createSelfSigned(HOST);
  const server = await tlsServer(cert);
  try {
    const { protocol, text } = await nodeConnect(server.port, cert.certPem);
    assert.ok(protocol === "TLSv1.3" || protocol === "TLSv1.2", `protocol ${protocol}`);
    assert.equal(text, "hello\n");
    const v12 = await nodeConnect(server.port, cert.certPem, { maxVersion: "TLSv1.2" });
    assert.equal(v12.protocol, "TLSv1.2");
    // A client that trusts something else must refuse: the certificate is really checked.
    const stranger = await createSelfSigned(HOST);
    await assert.rejects(nodeConnect(server.port, stranger.certPem));
    // ...and so must one expecting another name.
    await assert.rejects(nodeConnect(server.port, cert.certPem, { servername: "other.test" }));
  } finally {
    await server.close();
  }
});

Deno.test("handshake: Deno.connectTls trusts an IP-literal certificate via caCerts", async () => {
  const cert = await createSelfSigned("127.0.0.1");
  const server = await tlsServer(cert);
  try {
    const conn = await Deno.connectTls({
      hostname: "127.0.0.1",
      port: server.port,
      caCerts: [cert.certPem],
    });
    try {
      await conn.handshake();
      const buf = new Uint8Array(64);
      const n = await conn.read(buf);
      assert.equal(new TextDecoder().decode(buf.subarray(0, n ?? 0)), "hello\n");
    } finally {
      conn.close();
    }
  } finally {
    await server.close();
  }
});

Deno.test("handshake: a client limited to TLS 1.1 is refused", async () => {
  const cert = await createSelfSigned(HOST);
  const server = await tlsServer(cert);
  try {
    await assert.rejects(
      nodeConnect(server.port, cert.certPem, { minVersion: "TLSv1", maxVersion: "TLSv1.1" }),
    );
    if (hasOpenssl()) {
      // openssl can still speak TLS 1.1 (at security level 0), so this reaches the server and
      // proves the server, not just our client library, says no.
      const out = await new Deno.Command("openssl", {
        args: [
          "s_client",
          "-connect",
          `127.0.0.1:${server.port}`,
          "-tls1_1",
          "-cipher",
          "DEFAULT@SECLEVEL=0",
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.success, false);
      assert.match(new TextDecoder().decode(out.stderr), /alert|handshake failure|protocol/i);
    }
  } finally {
    await server.close();
  }
});

// --- loadOrCreateCertificate -----------------------------------------------------------------

Deno.test("loadOrCreateCertificate: generates once, then reuses", async () => {
  const dataDir = await tempDir();
  try {
    const first = await loadOrCreateCertificate({ dataDir, hostname: HOST });
    assert.equal(first.source, "generated-new");
    assert.equal(first.certFile, join(dataDir, "tls", "cert.pem"));
    assert.equal(first.keyFile, join(dataDir, "tls", "key.pem"));
    assert.equal(first.subject, `CN=${HOST}`);
    assert.equal(
      first.altNames,
      `DNS:${HOST}, DNS:localhost, IP Address:127.0.0.1, IP Address:::1`,
    );
    assert.match(first.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.ok(first.notAfter.getTime() > Date.now() + 800 * DAY);
    assert.deepEqual(first.warnings, []);
    assert.equal(await Deno.readTextFile(first.certFile), first.certPem);
    assert.equal(await Deno.readTextFile(first.keyFile), first.keyPem);
    if (POSIX) {
      assert.equal((await Deno.stat(join(dataDir, "tls"))).mode! & 0o777, 0o700);
      assert.equal((await Deno.stat(first.keyFile)).mode! & 0o777, 0o600);
    }
    const names = [];
    for await (const e of Deno.readDir(join(dataDir, "tls"))) names.push(e.name);
    assert.deepEqual(names.sort(), ["cert.pem", "key.pem"], "no temporary files left");

    const second = await loadOrCreateCertificate({ dataDir, hostname: HOST });
    assert.equal(second.source, "generated");
    assert.equal(second.fingerprint256, first.fingerprint256);
    assert.equal(second.keyPem, first.keyPem);
    secureContext(second); // usable
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("loadOrCreateCertificate: regenerates for another hostname, near expiry, or damage", async () => {
  const dataDir = await tempDir();
  try {
    const first = await loadOrCreateCertificate({ dataDir, hostname: HOST });

    const renamed = await loadOrCreateCertificate({ dataDir, hostname: "mail.example.test" });
    assert.equal(renamed.source, "generated-new");
    assert.notEqual(renamed.fingerprint256, first.fingerprint256);
    assert.match(renamed.altNames, /^DNS:mail\.example\.test, DNS:localhost, /);
    assert.match(renamed.warnings.join(), /does not cover mail\.example\.test/);

    // 30 days before notAfter it is replaced; 31 days before it is kept.
    const keep = new Date(renamed.notAfter.getTime() - 31 * DAY);
    const kept = await loadOrCreateCertificate({
      dataDir,
      hostname: "mail.example.test",
      now: keep,
    });
    assert.equal(kept.source, "generated");
    const late = new Date(renamed.notAfter.getTime() - 29 * DAY);
    const renewed = await loadOrCreateCertificate({
      dataDir,
      hostname: "mail.example.test",
      now: late,
    });
    assert.equal(renewed.source, "generated-new");
    assert.ok(renewed.notAfter.getTime() > renamed.notAfter.getTime());
    assert.match(renewed.warnings.join(), /expires/);

    await Deno.writeTextFile(renewed.certFile, "garbage");
    const repaired = await loadOrCreateCertificate({ dataDir, hostname: "mail.example.test" });
    assert.equal(repaired.source, "generated-new");
    assert.match(repaired.warnings.join(), /unusable/);

    // A key from another pair: mismatch, so regenerated rather than served broken.
    await Deno.writeTextFile(repaired.keyFile, (await createSelfSigned(HOST)).keyPem);
    const rekeyed = await loadOrCreateCertificate({ dataDir, hostname: "mail.example.test" });
    assert.equal(rekeyed.source, "generated-new");
    assert.match(rekeyed.warnings.join(), /does not match/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("loadOrCreateCertificate: configured files are used as they are", async () => {
  const dir = await tempDir();
  try {
    const leaf = await createSelfSigned(HOST);
    const extra = await createSelfSigned("intermediate.example.test");
    const certFile = join(dir, "fullchain.pem");
    const keyFile = join(dir, "privkey.pem");
    await Deno.writeTextFile(certFile, leaf.certPem.replace(/\n/g, "\r\n") + extra.certPem);
    await Deno.writeTextFile(keyFile, leaf.keyPem, { mode: 0o600 });
    if (POSIX) await Deno.chmod(keyFile, 0o600);
    const info = await loadOrCreateCertificate({ dataDir: dir, hostname: HOST, certFile, keyFile });
    assert.equal(info.source, "configured");
    assert.equal(info.certFile, certFile);
    assert.equal(info.keyFile, keyFile);
    assert.equal(info.certPem, leaf.certPem + extra.certPem, "whole chain, normalized");
    assert.equal(info.fingerprint256, new X509Certificate(leaf.certPem).fingerprint256);
    // The second certificate did not issue the first: worth a warning, not a refusal.
    assert.match(info.warnings.join(), /did not issue/);
    await assert.rejects(Deno.stat(join(dir, "tls")), Deno.errors.NotFound, "nothing generated");

    const server = await tlsServer(info);
    try {
      assert.equal((await nodeConnect(server.port, leaf.certPem)).text, "hello\n");
    } finally {
      await server.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadOrCreateCertificate: expired or wrong-host configured certs only warn", async () => {
  const dir = await tempDir();
  try {
    const old = await createSelfSigned("old.example.test", {
      now: new Date(Date.now() - 10 * DAY),
      days: 2,
    });
    const certFile = join(dir, "cert.pem");
    const keyFile = join(dir, "key.pem");
    await Deno.writeTextFile(certFile, old.certPem);
    await Deno.writeTextFile(keyFile, old.keyPem);
    if (POSIX) await Deno.chmod(keyFile, 0o644);
    const info = await loadOrCreateCertificate({ dataDir: dir, hostname: HOST, certFile, keyFile });
    assert.equal(info.source, "configured");
    const warnings = info.warnings.join("\n");
    assert.match(warnings, /cert\.pem: certificate expired/);
    assert.match(warnings, /does not name mx\.example\.test/);
    if (POSIX) assert.match(warnings, /key\.pem: private key is readable by other users/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadOrCreateCertificate: unusable configured files are a TlsConfigError", async () => {
  const dir = await tempDir();
  try {
    const good = await createSelfSigned(HOST);
    const other = await createSelfSigned(HOST);
    const file = (name: string) => join(dir, name);
    await Deno.writeTextFile(file("cert.pem"), good.certPem);
    await Deno.writeTextFile(file("key.pem"), good.keyPem);
    await Deno.writeTextFile(file("other-key.pem"), other.keyPem);
    await Deno.writeTextFile(file("garbage.pem"), "this is not PEM\n");
    await Deno.writeTextFile(
      file("bad-body.pem"),
      "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
    );
    await Deno.writeTextFile(
      file("encrypted.pem"),
      "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
    );
    const load = (certFile: string | undefined, keyFile: string | undefined) =>
      loadOrCreateCertificate({ dataDir: dir, hostname: HOST, certFile, keyFile });

    await rejectsConfig(
      load(file("missing.pem"), file("key.pem")),
      /missing\.pem: certificate file not found/,
    );
    await rejectsConfig(
      load(file("cert.pem"), file("missing.pem")),
      /missing\.pem: key file not found/,
    );
    await rejectsConfig(
      load(file("garbage.pem"), file("key.pem")),
      /garbage\.pem: not a PEM certificate/,
    );
    await rejectsConfig(
      load(file("cert.pem"), file("garbage.pem")),
      /garbage\.pem: not a PEM private key/,
    );
    await rejectsConfig(
      load(file("bad-body.pem"), file("key.pem")),
      /bad-body\.pem: certificate 1 does not parse/,
    );
    await rejectsConfig(
      load(file("cert.pem"), file("encrypted.pem")),
      /encrypted\.pem: .*encrypted/,
    );
    await rejectsConfig(
      load(file("cert.pem"), file("other-key.pem")),
      /other-key\.pem: key does not match the certificate in .*cert\.pem/,
    );
    await rejectsConfig(load(file("cert.pem"), undefined), /certFile .* without keyFile/);
    await rejectsConfig(load(undefined, file("key.pem")), /keyFile .* without certFile/);
    await rejectsConfig(load(dir, file("key.pem")), /is a directory|cannot read/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
