/**
 * The domains the signer signs a submitted message for: those of the From: addresses DMARC
 * evaluates (the checks' reader, shared), so a receiver never sees an author domain we did not
 * sign for. Compared with the signer's own reader from before (a copy is kept here): alike on
 * mailbox lists it read right, and right where it was wrong (groups, parentheses in quoted
 * strings, quoted-pairs in comments, many domains in quadratic time).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import addressparser from "nodemailer/lib/addressparser/index.js";
import { fromLatin1 } from "../../src/bytes.ts";
import { generateKey, normalizeDomain } from "../../src/dkim/keys.ts";
import { DkimSigner, fromDomains, KeyRing } from "../../src/dkim/signer.ts";
import { fromFieldValue, MAX_FROM_VALUE } from "../../src/from_addresses.ts";
import {
  addressListValue,
  fromField,
  plainMailboxListValue,
  rawFromField,
} from "../_helpers/from_values.ts";
import { staticGraph } from "../_helpers/static_graph.ts";

// The signer's reader before it was shared (src/dkim/signer.ts).
function oldFromDomains(raw: string): string[] {
  let value = raw.slice(raw.indexOf(":") + 1).replace(/\r?\n/g, "");
  for (let i = 0; i < 32 && /\([^()]*\)/.test(value); i++) {
    value = value.replace(/\([^()]*\)/g, " ");
  }
  value = value.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const domains: string[] = [];
  for (const part of value.split(",")) {
    const angle = part.match(/<([^<>]*)>/);
    const addr = (angle ? angle[1]! : part).trim();
    const at = addr.lastIndexOf("@");
    if (at < 0) continue;
    let domain: string;
    try {
      domain = normalizeDomain(new TextDecoder().decode(fromLatin1(addr.slice(at + 1))));
    } catch {
      continue;
    }
    if (!domains.includes(domain)) domains.push(domain);
  }
  return domains;
}

/**
 * The domains of the From: addresses as mailauth's reader (addressparser) gives them, DEL
 * removed first as the shared reader does (addressparser drops the other control characters).
 */
function dmarcDomains(raw: string): string[] {
  const out = new Set<string>();
  for (const a of addressparser(fromFieldValue(raw).replaceAll("\x7f", ""))) {
    for (const m of a.group ?? [a]) {
      const at = m.address?.lastIndexOf("@") ?? -1;
      if (at < 0) continue;
      try {
        out.add(normalizeDomain(m.address!.slice(at + 1)));
      } catch {
        // Not a domain name: nothing to sign for.
      }
    }
  }
  return [...out];
}

Deno.test("property: the signer signs for the domains DMARC evaluates, whatever the From field", async () => {
  await fc.assert(
    fc.asyncProperty(rawFromField, async (raw) => {
      assert.deepEqual(await fromDomains(raw), dmarcDomains(raw), raw);
    }),
    { numRuns: 3000 },
  );
});

Deno.test("property: on mailbox lists the old reader read right, the domains are as before", async () => {
  await fc.assert(
    fc.asyncProperty(plainMailboxListValue, async (v) => {
      const raw = fromField(v);
      assert.deepEqual(await fromDomains(raw), oldFromDomains(raw), v);
    }),
    { numRuns: 3000 },
  );
});

Deno.test("property: every domain the old reader found in a well-formed list is still signed for", async () => {
  // Where they differ the old reader lost domains (the cases below); it never found one more.
  await fc.assert(
    fc.asyncProperty(addressListValue, async (v) => {
      const raw = fromField(v);
      const now = await fromDomains(raw);
      for (const d of oldFromDomains(raw)) assert.ok(now.includes(d), `${d} in ${v}`);
    }),
    { numRuns: 3000 },
  );
});

Deno.test("From domains: what the old reader lost or misread", async () => {
  const cases: [string, string[], string[]][] = [
    // RFC 6854 group: the last mailbox's domain read as "b.test;".
    ["Team: ann@a.test, bob@b.test;", ["a.test"], ["a.test", "b.test"]],
    // A quoted-pair in a comment (RFC 5322 §3.2.2) ended the comment early.
    ["ann@a.test (Ann \\) Example)", [], ["a.test"]],
    // Parentheses in quoted strings were taken for a comment spanning two addresses.
    ['"Ann (Sales" <ann@a.test>, "Bob)" <bob@b.test>', ["b.test"], ["a.test", "b.test"]],
    // Not RFC 5322: DMARC reads the first address, the old reader signed for the second.
    ["ann@a.test bob@b.test", ["b.test"], ["a.test"]],
  ];
  for (const [value, old, now] of cases) {
    const raw = fromField(value);
    assert.deepEqual(oldFromDomains(raw), old, value);
    assert.deepEqual(await fromDomains(raw), now, value);
    assert.deepEqual(dmarcDomains(raw), now, value);
  }
});

Deno.test("From domains: many distinct domains, each once, in order", async () => {
  // The old reader looked each one up in an array (quadratic in the field a submitter writes);
  // the field is read up to MAX_FROM_VALUE.
  const n = 2_000;
  const value = Array.from({ length: n }, (_, i) => `a@d${i}.test, b@D${i}.Test`).join(", ");
  assert.ok(value.length <= MAX_FROM_VALUE);
  const domains = await fromDomains(`From: ${value}`);
  assert.equal(domains.length, n);
  assert.equal(domains[0], "d0.test");
  assert.equal(domains[n - 1], `d${n - 1}.test`);
});

Deno.test("signer: a group in From: is signed for each of its mailboxes' domains", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await generateKey(dir, "b.test", "e", "ed25519");
    const signer = new DkimSigner(new KeyRing(dir));
    const chunks = [
      new TextEncoder().encode("From: Team: ann@a.test, bob@b.test;\r\nSubject: x\r\n\r\nHi\r\n"),
    ];
    const signed = await signer.signMessage({ chunks, size: chunks[0]!.length }, "Q1");
    const text = new TextDecoder().decode(signed.chunks[0]);
    assert.match(text, /^DKIM-Signature: v=1; a=ed25519-sha256;[^]*\bd=b\.test;/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lazy loading: the signer does not bring addressparser statically", async () => {
  const graph = [...await staticGraph("src/dkim/signer.ts")];
  assert.ok(graph.some((s) => s.endsWith("/src/from_addresses.ts")), "the walk reached the reader");
  for (const s of graph) assert.doesNotMatch(s, /addressparser/);
});
