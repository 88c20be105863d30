import assert from "node:assert/strict";
import { hashPassword, verifyPassword } from "../../src/store/password.ts";

Deno.test("a hash verifies its password and no other", async () => {
  const hash = await hashPassword("correct horse battery staple");
  assert.match(hash, /^scrypt\$N=32768,r=8,p=1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
  assert.doesNotMatch(hash, /correct horse/);
  assert.equal(await verifyPassword("correct horse battery staple", hash), true);
  assert.equal(await verifyPassword("correct horse battery stapler", hash), false);
  assert.equal(await verifyPassword("", hash), false);
});

Deno.test("each hash has its own salt", async () => {
  const [one, two] = await Promise.all([hashPassword("same"), hashPassword("same")]);
  assert.notEqual(one, two);
  assert.notEqual(one.split("$")[2], two.split("$")[2]);
  assert.equal(await verifyPassword("same", one), true);
  assert.equal(await verifyPassword("same", two), true);
});

Deno.test("no such user: false, after the same scrypt work as a real check", async () => {
  assert.equal(await verifyPassword("pw", undefined), false);
  // The stand-in hash verified for missing users has the cost of a real one (no timing
  // assertion here: the equal cost is what makes the timing equal).
  const source = await Deno.readTextFile(new URL("../../src/store/password.ts", import.meta.url));
  const dummy = /DUMMY_HASH =\s*"([^"]+)"/.exec(source)?.[1] ?? "";
  const real = await hashPassword("pw");
  assert.equal(dummy.split("$")[1], real.split("$")[1]);
  assert.equal(dummy.length, real.length);
});

Deno.test("malformed stored hashes never verify", async () => {
  for (
    const stored of [
      "",
      "plaintext",
      "scrypt$N=32768,r=8,p=1$$",
      "scrypt$N=3,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
      "scrypt$N=1073741824,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    ]
  ) {
    assert.equal(await verifyPassword("pw", stored), false, stored);
  }
});

Deno.test("non-ASCII passwords work, and composed/decomposed forms match", async () => {
  const hash = await hashPassword("p\u00e4ss\u{1F511}");
  assert.equal(await verifyPassword("p\u00e4ss\u{1F511}", hash), true);
  assert.equal(await verifyPassword("pa\u0308ss\u{1F511}", hash), true);
});

Deno.test("an empty password is refused", async () => {
  await assert.rejects(() => hashPassword(""), /must not be empty/);
});
