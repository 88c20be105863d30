/**
 * The stand-in for Joi gives Joi's answers, for the two rules mailauth uses, over random and
 * edge-case input; hands everything else to Joi; and is what mailauth gets in a process that
 * loads the checks.
 */
import { joiPath, realJoi } from "./_real_joi.ts";
import assert from "node:assert/strict";
import fc from "fast-check";
import { joiStandIn } from "../../src/checks/joi_stand_in.ts";
import { runFreshModule } from "../_helpers/mail_process.ts";

const standIn = joiStandIn(() => realJoi) as typeof realJoi;

/** A string of characters that matter to domain names and base64, edge cases included. */
const text = fc.string({
  unit: fc.constantFrom(
    ..."abcXYZ019-._@%:/+=é \t",
    "a".repeat(63),
    "b".repeat(64),
    ".com",
    "xn--",
    "\u0000",
  ),
  maxLength: 12,
});

function same(schemaOf: (j: typeof realJoi) => { validate(v: unknown): unknown }, v: unknown) {
  const a = schemaOf(standIn).validate(v) as { value: unknown; error?: Error };
  const b = schemaOf(realJoi).validate(v) as { value: unknown; error?: Error };
  assert.equal(a.error === undefined, b.error === undefined, `${JSON.stringify(v)}`);
  assert.equal(a.error?.message, b.error?.message, `${JSON.stringify(v)}`);
  assert.equal(a.value, b.value);
}

const domain = (j: typeof realJoi) => j.string().domain({ allowUnicode: false, tlds: false });
const base64 = (j: typeof realJoi) => j.string().base64({ paddingRequired: false });

Deno.test("Joi stand-in: domain() answers as Joi does", () => {
  const cases = [
    undefined,
    null,
    7,
    "",
    "example.com",
    "EXAMPLE.COM",
    "localhost",
    "a.b.",
    ".a.b",
    "a..b",
    "-a.com",
    "a-.com",
    "a_b.com",
    "_spf.example.com",
    "1.2.3.4",
    "example.123",
    "example.c0m",
    "example.0x1f",
    "xn--bcher-kva.de",
    "bücher.de",
    "a b.com",
    "a%41.com",
    "a@b.com",
    `${"a".repeat(63)}.com`,
    `${"a".repeat(64)}.com`,
    `${"a.".repeat(128)}com`,
    `${"a.".repeat(127)}co`,
    "a.b\u0000",
  ];
  for (const c of cases) same(domain, c);
  fc.assert(fc.property(text, (s) => same(domain, s)), { numRuns: 3000 });
});

Deno.test("Joi stand-in: base64() answers as Joi does", () => {
  for (
    const c of [undefined, "", "QQ", "QQ=", "QQ==", "QUI", "QUI=", "QUJD", "Q", "QQ===", "a b"]
  ) {
    same(base64, c);
  }
  fc.assert(fc.property(text, (s) => same(base64, s)), { numRuns: 3000 });
  fc.assert(fc.property(fc.base64String(), (s) => same(base64, s)), { numRuns: 500 });
});

Deno.test("Joi stand-in: any other rule or type is Joi's own", () => {
  const uri = standIn.string().uri({ scheme: ["https"] });
  assert.equal(uri.validate("https://example.com/").error, undefined);
  assert.notEqual(uri.validate("ftp://example.com/").error, undefined);
  const withUnicode = standIn.string().domain({ allowUnicode: true, tlds: false });
  assert.equal(withUnicode.validate("bücher.de").error, undefined);
  assert.equal(
    standIn.object().keys({ a: standIn.number() }).validate({ a: "x" }).error !== undefined,
    true,
  );
});

Deno.test("Joi stand-in: a process that loads the checks gives mailauth the stand-in", async () => {
  // In a process of its own: this one loaded Joi first (see _real_joi.ts).
  const script = `
    import { createRequire } from "node:module";
    const verify = await import(${
    JSON.stringify(new URL("../../src/checks/verify.ts", import.meta.url).href)
  });
    const require = createRequire(import.meta.resolve("mailauth/lib/tools.js"));
    const joi = require.cache[${JSON.stringify(joiPath)}]?.exports;
    const refuse = () => Promise.reject(Object.assign(new Error("no DNS here"), { code: "ENOTFOUND" }));
    const bad = await verify.checkSpf({ sender: "a@-bad-.example", helo: "client.example",
      ip: "192.0.2.1", mta: "mx.test", resolve: refuse, budgetMs: 1000 });
    console.log(JSON.stringify({ standIn: typeof joi?.object === "function" && joi.string().domain({ allowUnicode: false, tlds: false }).validate("ok.example").error === undefined && !("isJoi" in joi), spf: bad.mailfrom.result }));
  `;
  const out = await runFreshModule(script);
  assert.deepEqual(JSON.parse(out.at(-1)!), { standIn: true, spf: "none" });
});
