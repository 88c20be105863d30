/**
 * Our DKIM verifier against mailauth's: the same status for every signature (the wording of
 * comments may differ), over messages signed by mailauth and by dkimpy (RSA and Ed25519, every
 * combination of simple and relaxed, l=), changed on the way or not, with keys present,
 * missing, revoked, unusable or unreachable, and signatures with bad tags; and a property test
 * over random messages, canonicalizations and changes. The one difference on purpose: rsa-sha1
 * (RFC 8301 §3.1), which mailauth verifies and we do not.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import fc from "fast-check";
import { dkimSign } from "mailauth";
import { dkimVerify } from "mailauth/lib/dkim/verify.js";
import { splitMessage } from "../../src/dkim/canon.ts";
import { readHeaderFields } from "../../src/checks/dkim_canon.ts";
import { type DkimResult, parseTagList, verifyDkim } from "../../src/checks/dkim_verify.ts";
import type { Resolve } from "../../src/checks/lookups.ts";
import { dkimPython, ed25519Key, message, rsaKey } from "./_fixtures.ts";

const KEY = rsaKey();
const OTHER = rsaKey();
const ED = ed25519Key();
const rsaP = /p=([^;]+)$/.exec(KEY.record)![1]!;

/** Key records by selector (all under example.com); a string is an error code. */
const RECORDS: Record<string, string | string[]> = {
  sel: [KEY.record],
  ed: [ED.record],
  wrong: [OTHER.record],
  revoked: ["v=DKIM1; k=rsa; p="],
  sha1only: [`v=DKIM1; h=sha1; p=${rsaP}`],
  notmail: [`v=DKIM1; s=tlsrpt; p=${rsaP}`],
  badver: [`v=DKIM2; p=${rsaP}`],
  badkey: ["v=DKIM1; p=AAAAbm90IGEga2V5"],
  edtype: [`v=DKIM1; k=ed25519; p=${rsaP}`],
  split: [`v=DKIM1; k=rsa; ${KEY.record.slice(18, 60)}`, KEY.record.slice(60)],
  missing: "ENOTFOUND",
  nodata: "ENODATA",
  down: "ESERVFAIL",
  slow: "ETIMEOUT",
};

const resolve: Resolve = (name) => {
  const selector = name.split("._domainkey.")[0]!;
  const r = RECORDS[selector] ?? "ENOTFOUND";
  if (typeof r === "string") return Promise.reject(Object.assign(new Error(r), { code: r }));
  // The split record: one TXT record of two strings (RFC 6376 §3.6.2.2).
  return Promise.resolve(selector === "split" ? [r] : r.map((s) => [s]));
};

interface Seen {
  result: string;
  d?: string | undefined;
  header?: Record<string, unknown> | undefined;
}

async function theirs(text: string, strict = false): Promise<Seen[]> {
  const r = await dkimVerify(Buffer.from(text, "binary"), { resolver: resolve as never, strict });
  return (r.results as unknown as DkimResult[]).map(seen);
}

async function ours(text: string): Promise<Seen[]> {
  const bytes = new Uint8Array(Buffer.from(text, "binary"));
  const { header, body } = splitMessage(bytes);
  // The body in uneven pieces: the result must not depend on where the chunks end.
  const chunks = [body.subarray(0, 3), body.subarray(3, 100), body.subarray(100)];
  const r = await verifyDkim(readHeaderFields(header), chunks, { resolve, now: Date.now() / 1000 });
  return r.map(seen);
}

function seen(r: DkimResult): Seen {
  const header = r.status.header as Record<string, unknown> | undefined;
  const h = header && Object.fromEntries(Object.entries(header).filter(([, v]) => v));
  return { result: r.status.result, d: r.signingDomain, header: h };
}

async function same(text: string, label: string): Promise<Seen[]> {
  const [a, b] = await Promise.all([ours(text), theirs(text)]);
  assert.deepEqual(a, b, `${label}\n${text}`);
  return a;
}

/**
 * A signature whose tags break RFC 6376's syntax rules: mailauth's lenient mode verifies it
 * anyway, ours does not (neutral, as RFC 8601 §2.7.1 says and mailauth's strict mode does).
 */
async function sameAsStrict(text: string, label: string): Promise<void> {
  const [a, b] = await Promise.all([ours(text), theirs(text, true)]);
  assert.deepEqual(a.map((r) => r.result), b.map((r) => r.result), `${label}\n${text}`);
  assert.ok(a.every((r) => r.result === "neutral"), label);
}

/** Messages with what canonicalization must handle. */
const MESSAGES = [
  message("ann@example.com"),
  message(
    "ann@example.com",
    "X-Folded: one\r\n  two\t three  \r\nSubject: second subject\r\n",
    "  spaced  line\t \r\n\r\nlast line   \r\n\r\n\r\n",
  ),
  message("ann@example.com", "X-Utf8: h\u00e9llo\r\n", ""),
  message("ann@example.com", "", "no final line end"),
  // Values ending in octet A0 (the end of à, of Р): not white space to relaxed canonicalization
  // (in fields dkimpy signs: a second Subject and a second To, the ones signed first).
  message(
    "ann@example.com",
    "Subject: Voil\u00e0\r\nTo: \u0413\u043e\u0448\u0430 \u0420\r\n",
  ),
].map((m) => Buffer.from(m, "utf8").toString("binary"));

/** Changes on the way, and whether each may keep a simple or relaxed body or header valid. */
const CHANGES: [string, (m: string) => string][] = [
  ["unchanged", (m) => m],
  ["body changed", (m) => m.replace(/\r\n\r\n/, "\r\n\r\nX")],
  ["subject changed", (m) => m.replace("Subject: checks", "Subject: Checks")],
  ["body appended", (m) => m + "appended\r\n"],
  ["blank lines added", (m) => m + "\r\n\r\n"],
  ["space at line ends", (m) => m.replace(/(\r\n\r\n[^\r]+)\r\n/, "$1  \r\n")],
  ["header refolded", (m) => m.replace("Subject: checks", "Subject:\r\n checks")],
  ["From: added", (m) => `From: mallory@evil.test\r\n${m}`],
];

/** Every message signed by dkimpy in every combination, in one Python run. */
async function dkimpySigned(): Promise<{ label: string; text: string }[]> {
  const script = `
import sys, json, dkim, base64
msgs, rsa, ed = json.loads(sys.argv[1]), sys.argv[2].encode(), sys.argv[3].encode()
out = []
for n, m in enumerate(msgs):
    m = m.encode('latin-1')
    for hc in (b'simple', b'relaxed'):
        for bc in (b'simple', b'relaxed'):
            for alg, key, sel in ((b'rsa-sha256', rsa, b'sel'), (b'ed25519-sha256', ed, b'ed')):
                for length in (False, True):
                    sig = dkim.sign(m, sel, b'example.com', key, canonicalize=(hc, bc),
                                    signature_algorithm=alg, length=length,
                                    include_headers=[b'from', b'to', b'subject', b'date', b'subject'])
                    out.append(['dkimpy %d %s/%s %s l=%s' % (n, hc.decode(), bc.decode(), alg.decode(), length),
                                (sig + m).decode('latin-1')])
sig = dkim.sign(msgs[0].encode('latin-1'), b'sel', b'example.com', rsa, signature_algorithm=b'rsa-sha1')
out.append(['dkimpy rsa-sha1', (sig + msgs[0].encode('latin-1')).decode('latin-1')])
print(json.dumps(out))
`;
  const r = await dkimPython(script, [JSON.stringify(MESSAGES), KEY.privateKey, ED.seed]);
  if (r.code !== 0) throw new Error(`dkimpy failed: ${r.err}`);
  return (JSON.parse(r.out) as [string, string][]).map(([label, text]) => ({ label, text }));
}

async function mailauthSigned(
  text: string,
  canonicalization: string,
  more: Record<string, unknown> = {},
  signature: Record<string, unknown> = {},
): Promise<string> {
  const r = await dkimSign(text, {
    canonicalization,
    signatureData: [{
      signingDomain: "example.com",
      selector: "sel",
      privateKey: KEY.privateKey,
      ...signature,
    }],
    ...more,
  } as never);
  if (r.errors.length > 0) throw new Error(`Signing failed: ${JSON.stringify(r.errors)}`);
  return r.signatures + text;
}

Deno.test("DKIM verifier: the same status as mailauth's for dkimpy's signatures, changed or not", async () => {
  let passes = 0;
  for (const { label, text } of await dkimpySigned()) {
    for (const [change, f] of CHANGES) {
      const changed = f(text);
      if (label.endsWith("rsa-sha1")) {
        // RFC 8301 §3.1: never verified; mailauth still does.
        const [r] = await ours(changed);
        assert.equal(r!.result, "permerror");
        continue;
      }
      const [r] = await same(changed, `${label}, ${change}`);
      if (r!.result === "pass") passes++;
    }
  }
  // Most combinations of canonicalization and change pass for some, fail for others: both.
  assert.ok(passes > 20, `only ${passes} passed`);
});

Deno.test("DKIM verifier: the same status as mailauth's for its own signatures and every key", async () => {
  const text = MESSAGES[1]!;
  const signed = [
    await mailauthSigned(text, "relaxed/relaxed"),
    await mailauthSigned(text, "simple/simple"),
    await mailauthSigned(text, "relaxed/simple", {}, { maxBodyLength: 10 }),
    await mailauthSigned(text, "simple/relaxed", {}, { privateKey: ED.privateKey, selector: "ed" }),
    // Expired an hour ago (x=), and an x= before t= (RFC 6376 §3.5).
    await mailauthSigned(text, "relaxed/relaxed", { expires: new Date(Date.now() - 3600_000) }),
    await mailauthSigned(text, "relaxed/relaxed", {
      signTime: new Date(Date.now()),
      expires: new Date(Date.now() - 3600_000),
    }),
  ];
  const statuses = new Set<string>();
  for (const s of signed) {
    for (const selector of Object.keys(RECORDS)) {
      const keyed = selector === "ed"
        ? s
        : s.replace(/s=sel;/, `s=${selector};`).replace(/s=ed;/, `s=${selector};`);
      for (const [change, f] of CHANGES.slice(0, 3)) {
        const [r] = await same(f(keyed), `${selector}, ${change}`);
        statuses.add(`${r!.result}`);
      }
    }
  }
  // Every status mailauth gives for these: pass, fail, neutral (keys, body hash), temperror.
  assert.deepEqual([...statuses].sort(), ["fail", "neutral", "pass", "temperror"]);
});

Deno.test("DKIM verifier: bad tags, unknown algorithms, several signatures, none", async () => {
  const good = await mailauthSigned(MESSAGES[0]!, "relaxed/relaxed");
  const edits: [string, (s: string) => string][] = [
    ["no bh=", (s) => s.replace(/bh=[^;]+;/, "")],
    ["h= without From", (s) => s.replace(/h=[^;]+;/, "h=To:Subject;")],
    ["unknown algorithm", (s) => s.replace("a=rsa-sha256", "a=rsa-sha512")],
    ["unknown canonicalization", (s) => s.replace("c=relaxed/relaxed", "c=fancy/relaxed")],
    ["no d=", (s) => s.replace(/d=example\.com;/, "")],
    [
      "i= of a subdomain",
      (s) => s.replace("d=example.com;", "d=example.com; i=ann@mx.example.com;"),
    ],
    ["upper-case domain", (s) => s.replace("d=example.com;", "d=Example.COM;")],
    ["b= changed", (s) => s.replace(/ b=([A-Za-z0-9+/])/, (_, c) => ` b=${c === "A" ? "B" : "A"}`)],
    ["no signature", () => MESSAGES[0]!],
    ["two signatures", (s) => s.replace("s=sel;", "s=missing;") + ""],
  ];
  for (const [label, edit] of edits) await same(edit(good), label);
  const invalid: [string, (s: string) => string][] = [
    ["v=2", (s) => s.replace("v=1;", "v=2;")],
    ["no h=", (s) => s.replace(/h=[^;]+;/, "")],
    ["i= of another domain", (s) => s.replace("d=example.com;", "d=example.com; i=@evil.test;")],
    ["l= not a number", (s) => s.replace("d=example.com;", "d=example.com; l=12a;")],
    ["a tag twice", (s) => s.replace("d=example.com;", "d=example.com; d=example.com;")],
    ["a tag without =", (s) => s.replace("d=example.com;", "d=example.com; junk;")],
  ];
  // Bounded: more than 200 names in h= are not looked for (mailauth has no such bound).
  const many = good.replace(/h=([^;]+);/, (_, h) => `h=${h}${":To".repeat(200)};`);
  const [r] = await ours(many);
  assert.equal(r!.result, "neutral");
  for (const [label, edit] of invalid) await sameAsStrict(edit(good), label);
  const twice =
    (await mailauthSigned(MESSAGES[0]!, "simple/simple")).replace(/\r\n\r\n[^]*$/, "\r\n") +
    good;
  assert.equal((await same(twice, "two signatures")).length, 2);
});

Deno.test("property: our verifier and mailauth's agree over random messages and changes", async () => {
  const line = fc.array(fc.constantFrom("a", "b", " ", "\t", "\u00e9", ".", "\r"), {
    maxLength: 12,
  })
    .map((cs) => cs.join(""));
  const body = fc.array(line, { maxLength: 6 }).map((ls) => ls.map((l) => `${l}\r\n`).join(""));
  // Ending in a letter: mailauth drops a bare CR that ends the last header field (signing and
  // verifying alike), where RFC 6376 §3.4.1 keeps it.
  const subject = fc.tuple(line, fc.boolean()).map(([l, fold]) =>
    `x${l}x${fold ? "\r\n\tfolded" : ""}`
  );
  const canon = fc.constantFrom("simple", "relaxed");
  await fc.assert(
    fc.asyncProperty(
      subject,
      body,
      canon,
      canon,
      fc.option(fc.nat(40), { nil: undefined }),
      fc.nat(CHANGES.length - 1),
      async (subj, b, hc, bc, length, change) => {
        const text = Buffer.from(message("ann@example.com", `X-Any: ${subj}\r\n`, b), "utf8")
          .toString("binary");
        const signed = await mailauthSigned(
          text,
          `${hc}/${bc}`,
          { headerList: "From:To:Subject:X-Any:Date" },
          length === undefined ? {} : { maxBodyLength: length },
        );
        await same(CHANGES[change]![1](signed), `${hc}/${bc} l=${length} ${CHANGES[change]![0]}`);
      },
    ),
    { numRuns: 150 },
  );
});

Deno.test("tag lists: RFC 6376 §3.2 syntax, bounded", () => {
  assert.deepEqual(
    [...parseTagList(" v = 1 ;\r\n\ta=rsa-sha256; b= ab\r\n cd ;")!],
    [["v", "1"], ["a", "rsa-sha256"], ["b", "ab\r\n cd"]],
  );
  for (const bad of ["v=1; v=1", "v", "1v=2", "v=1;; a=b", "=x"]) {
    assert.equal(parseTagList(bad), undefined, bad);
  }
  assert.equal(parseTagList(Array.from({ length: 65 }, (_, i) => `t${i}=x`).join(";")), undefined);
});

Deno.test("DKIM verifier: an RSA key over 4096 bits is not used (RFC 8301 §3.2)", async () => {
  // A bare RSAPublicKey (RFC 8017 A.1.1) of 9200 bits: SEQUENCE { INTEGER n, INTEGER 65537 }.
  const n = new Uint8Array(1151).fill(0xff);
  n[0] = 0xc0;
  const int = [0x02, 0x82, 0x04, 0x80, 0x00, ...n];
  const e = [0x02, 0x03, 0x01, 0x00, 0x01];
  const body = [...int, ...e];
  const der = new Uint8Array([0x30, 0x82, body.length >> 8, body.length & 0xff, ...body]);
  RECORDS.huge = [`v=DKIM1; k=rsa; p=${Buffer.from(der).toString("base64")}`];
  try {
    const signed = await mailauthSigned(MESSAGES[0]!, "relaxed/relaxed");
    const r = await verifyDkim(
      readHeaderFields(
        splitMessage(new Uint8Array(Buffer.from(signed.replace("s=sel;", "s=huge;"), "binary")))
          .header,
      ),
      [splitMessage(new Uint8Array(Buffer.from(signed, "binary"))).body],
      { resolve, now: Date.now() / 1000 },
    );
    assert.deepEqual([r[0]!.status.result, r[0]!.status.comment], ["neutral", "key too large"]);
  } finally {
    delete RECORDS.huge;
  }
});

Deno.test("fuzz: any DKIM-Signature field, any body: a result for each, never a throw", async () => {
  const statuses = new Set(["pass", "fail", "neutral", "temperror", "permerror", "policy", "none"]);
  const tag = fc.tuple(
    fc.constantFrom(
      "v",
      "a",
      "b",
      "bh",
      "c",
      "d",
      "h",
      "i",
      "l",
      "q",
      "s",
      "t",
      "x",
      "z",
      "V",
      "1",
    ),
    fc.constantFrom(
      "1",
      "rsa-sha256",
      "ed25519-sha256",
      "rsa-sha1",
      "relaxed/simple",
      "simple",
      "example.com",
      "sel",
      "ed",
      "From:To",
      "@example.com",
      "99999999999999999999",
      "",
      "=",
      " \r\n ",
      "AAAA",
    ),
  ).map(([n, v]) => `${n}=${v}`);
  const field = fc.array(tag, { maxLength: 16 }).map((tags) => tags.join(";"));
  await fc.assert(
    fc.asyncProperty(
      fc.array(field, { minLength: 1, maxLength: 3 }),
      bytesBody(),
      async (sigs, body) => {
        const text = sigs.map((s) => `DKIM-Signature: ${s}\r\n`).join("") + MESSAGES[0]!;
        const bytes = new Uint8Array(Buffer.from(text, "binary"));
        const { header } = splitMessage(bytes);
        const r = await verifyDkim(readHeaderFields(header), [body], { resolve, now: 0 });
        assert.ok(r.length >= 1 && r.length <= sigs.length);
        for (const x of r) assert.ok(statuses.has(x.status.result), x.status.result);
      },
    ),
    { numRuns: 500 },
  );
});

function bytesBody() {
  return fc.array(fc.constantFrom(0x61, 0x20, 0x09, 0x0d, 0x0a), { maxLength: 64 })
    .map((a) => new Uint8Array(a));
}
