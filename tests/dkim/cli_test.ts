/**
 * `mail dkim generate|list|remove`: the key files (modes 0600/0700), the record printed and
 * listed (equal to the key, RFC 6376 §3.6.1 and RFC 8463 §4.2), and one-line errors with their
 * sysexits statuses.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createPrivateKey, createPublicKey } from "node:crypto";
import { join } from "node:path";
import { assertNoStackTrace, mail } from "../_helpers/mail_process.ts";

interface ListedKey {
  domain: string;
  selector: string;
  algorithm: string | null;
  record: string | null;
  created: string | null;
  signing: boolean;
  file: string;
  error: string | null;
}

async function list(dir: string): Promise<ListedKey[]> {
  const r = await mail(["dkim", "list", "--json", "--data", dir]);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as ListedKey[];
}

const mode = async (path: string) => (await Deno.stat(path)).mode! & 0o777;

Deno.test("mail dkim generate: RSA and Ed25519 keys, modes, records, the zone-file line", async () => {
  const dir = join(await Deno.makeTempDir(), "data");
  let r = await mail(["dkim", "generate", "Example.COM", "--data", dir]);
  assert.equal(r.code, 0, r.err);
  const [record, zone] = r.out.trimEnd().split("\n");
  assert.match(record!, /^v=DKIM1; k=rsa; p=[A-Za-z0-9+/]+=*$/);
  assert.match(r.err, /Publish this TXT record at rsa-\d{8}\._domainkey\.example\.com/);
  // The zone-file line: the same text in strings of at most 255 octets.
  const strings = [...zone!.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
  assert.match(zone!, /^rsa-\d{8}\._domainkey\.example\.com\. IN TXT \( "/);
  assert.ok(strings.length >= 2 && strings.every((s) => s.length <= 255));
  assert.equal(strings.join(""), record);

  r = await mail([
    "dkim",
    "generate",
    "example.com",
    "--algorithm",
    "ed25519",
    "--selector",
    "ed",
    "--data",
    dir,
  ]);
  assert.equal(r.code, 0, r.err);
  const edRecord = r.out.split("\n")[0]!;
  assert.match(edRecord, /^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);

  const keys = await list(dir);
  assert.deepEqual(keys.map((k) => [k.domain, k.algorithm, k.signing]), [
    ["example.com", "rsa", true],
    ["example.com", "ed25519", true],
  ]);
  assert.equal(keys[0]!.record, record);
  assert.equal(keys[1]!.record, edRecord);
  assert.equal(keys[1]!.selector, "ed");
  for (const k of keys) {
    assert.equal(await mode(k.file), 0o600);
    assert.ok(!Number.isNaN(Date.parse(k.created!)));
  }
  assert.equal(await mode(join(dir, "dkim")), 0o700);
  assert.equal(await mode(join(dir, "dkim", "example.com")), 0o700);

  // The records hold the keys' public halves: SPKI for RSA, the raw 32 bytes for Ed25519.
  const rsaPub = createPublicKey(createPrivateKey(await Deno.readTextFile(keys[0]!.file)));
  assert.equal(
    record!.split("p=")[1],
    rsaPub.export({ type: "spki", format: "der" }).toString("base64"),
  );
  const edPub = createPublicKey(createPrivateKey(await Deno.readTextFile(keys[1]!.file)));
  const raw = Buffer.from(edRecord.split("p=")[1]!, "base64");
  assert.equal(raw.length, 32);
  assert.deepEqual(edPub.export({ format: "jwk" }).x, raw.toString("base64url"));

  // Human list: each key's name to publish, and its record.
  r = await mail(["dkim", "list", "--data", dir]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^rsa-\d{8}\._domainkey\.example\.com {2}\(rsa, created .*, signing\)$/m);
  assert.match(r.out, /^ {2}v=DKIM1; k=ed25519; p=/m);
});

Deno.test("mail dkim: a second key of the same algorithm waits; remove; errors and statuses", async () => {
  const dir = await Deno.makeTempDir();
  let r = await mail(["dkim", "generate", "a.test", "--selector", "old", "--data", dir]);
  assert.equal(r.code, 0, r.err);
  r = await mail(["dkim", "generate", "a.test", "--selector", "new", "--data", dir]);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual((await list(dir)).map((k) => [k.selector, k.signing]), [["old", true], [
    "new",
    false,
  ]]);

  const fails = async (args: string[], code: number, message: RegExp) => {
    const f = await mail([...args, "--data", dir]);
    assert.equal(f.code, code, `${args.join(" ")}: ${f.err}`);
    assert.match(f.err, message);
    assert.equal(f.err.trim().split("\n").length, 1, f.err);
    assertNoStackTrace(f.err);
  };
  await fails(
    ["dkim", "generate", "a.test", "--selector", "old"],
    65,
    /already has a key with selector old/,
  );
  await fails(["dkim", "generate", "not a domain"], 65, /Invalid domain/);
  await fails(["dkim", "generate", "localhost"], 65, /Invalid domain/);
  await fails(["dkim", "generate", "a.test", "--selector", "../x"], 65, /Invalid selector/);
  await fails(["dkim", "generate", "a.test", "--algorithm", "dsa"], 64, /invalid|Allowed choices/i);
  await fails(["dkim", "generate"], 64, /missing required argument/);
  await fails(["dkim", "remove", "a.test"], 64, /2 keys \(new, old\): give --selector/);
  await fails(["dkim", "remove", "b.test"], 66, /No DKIM key for b\.test/);
  await fails(
    ["dkim", "remove", "a.test", "--selector", "gone"],
    66,
    /No DKIM key for a\.test with selector gone/,
  );

  r = await mail(["dkim", "remove", "A.TEST", "--selector", "old", "--data", dir]);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual((await list(dir)).map((k) => [k.selector, k.signing]), [["new", true]]);
  r = await mail(["dkim", "remove", "a.test", "--data", dir]);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(await list(dir), []);
  r = await mail(["dkim", "list", "--data", dir]);
  assert.equal(r.code, 0);
  assert.match(r.err, /No DKIM keys/);
});

Deno.test("mail dkim list: an unusable key file is listed with its error, never its text", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(join(dir, "dkim", "a.test"), { recursive: true });
  await Deno.writeTextFile(
    join(dir, "dkim", "a.test", "bad.pem"),
    "-----BEGIN PRIVATE KEY-----\nSECRETJUNK\n",
  );
  const [k] = await list(dir);
  assert.equal(k!.selector, "bad");
  assert.equal(k!.algorithm, null);
  assert.ok(k!.error);
  assert.doesNotMatch(k!.error!, /SECRETJUNK/);
});
