import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { assertNoStackTrace, mail, mailArgs } from "./_run.ts";
import { openStore } from "../../src/store/mod.ts";
import { verifyPassword } from "../../src/store/password.ts";

async function passwordOk(dir: string, address: string, pw: string): Promise<boolean> {
  const store = openStore(dir, { mustExist: true });
  try {
    const hash = store.passwordHash(address);
    return hash !== undefined && await verifyPassword(pw, hash);
  } finally {
    store.close();
  }
}

Deno.test("mail user: add, list, duplicate, passwd, remove", async () => {
  const tmp = await Deno.makeTempDir();
  const dir = join(tmp, "data"); // does not exist yet: add creates it
  try {
    const pwFile = join(tmp, "pw");
    await Deno.writeTextFile(pwFile, "s3cret pass\nsecond line ignored\n");

    let r = await mail([
      "user",
      "add",
      "Ann@Example.test",
      "--password-file",
      pwFile,
      "--data",
      dir,
    ]);
    assert.equal(r.code, 0, r.err);
    assert.ok(await passwordOk(dir, "ann@example.test", "s3cret pass"));

    r = await mail(["user", "add", "bob@example.test", "--data", dir], { stdin: "piped-pw\n" });
    assert.equal(r.code, 0, r.err);
    assert.ok(await passwordOk(dir, "bob@example.test", "piped-pw"));

    r = await mail(["user", "list", "--json", "--data", dir]);
    assert.equal(r.code, 0, r.err);
    const users = JSON.parse(r.out) as { address: string; created_at: string }[];
    assert.deepEqual(users.map((u) => u.address).sort(), ["ann@example.test", "bob@example.test"]);
    for (const u of users) {
      assert.deepEqual(Object.keys(u).sort(), ["address", "created_at"]);
      assert.equal(new Date(u.created_at).toISOString(), u.created_at);
    }

    r = await mail(["user", "add", "bob@example.test", "--data", dir], { stdin: "other\n" });
    assert.equal(r.code, 65, "duplicate user");
    assert.match(r.err, /mail: User bob@example\.test already exists/);
    assertNoStackTrace(r.err);
    assert.ok(await passwordOk(dir, "bob@example.test", "piped-pw"), "password unchanged");

    r = await mail(["user", "passwd", "bob@example.test", "--data", dir], { stdin: "new-pw" });
    assert.equal(r.code, 0, r.err);
    assert.ok(await passwordOk(dir, "bob@example.test", "new-pw"));

    r = await mail(["user", "passwd", "nobody@example.test", "--data", dir], { stdin: "x\n" });
    assert.equal(r.code, 66);
    assertNoStackTrace(r.err);

    r = await mail(["user", "remove", "bob@example.test", "--data", dir]);
    assert.equal(r.code, 0, r.err);
    r = await mail(["user", "remove", "bob@example.test", "--data", dir]);
    assert.equal(r.code, 66, "already removed");

    r = await mail(["user", "list", "--data", dir]);
    assert.equal(r.code, 0);
    assert.match(r.out, /^ann@example\.test {2}\d{4}-/);
    assert.doesNotMatch(r.out, /bob/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("mail user: bad input", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    let r = await mail(["user", "add", "a@example.test", "--data", tmp], { stdin: "\n" });
    assert.equal(r.code, 65, "empty password");
    assert.match(r.err, /Empty password/);

    r = await mail(["user", "add", "a@example.test", "--data", tmp], { stdin: "" });
    assert.equal(r.code, 65, "no password at all");

    r = await mail(["user", "add", "not an address", "--data", tmp], { stdin: "pw\n" });
    assert.equal(r.code, 65, "bad address");

    r = await mail([
      "user",
      "add",
      "a@example.test",
      "--password-file",
      `${tmp}/missing`,
      "--data",
      tmp,
    ]);
    assert.equal(r.code, 66, "missing password file");

    r = await mail(["user", "list", "--data", `${tmp}/nothing-here`]);
    assert.equal(r.code, 66, "no store");
    assert.match(r.err, /^mail: No mail store in /m);

    r = await mail(["user", "frobnicate", "--data", tmp]);
    assert.equal(r.code, 64, "unknown subcommand");
    for (const e of [r.err]) assertNoStackTrace(e);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("mail user add on a terminal: asks twice without echo", async () => {
  const driver = fileURLToPath(new URL("./pty_drive.py", import.meta.url));
  const tmp = await Deno.makeTempDir();
  try {
    const run = async (second: string) => {
      const steps = [["Password:", "hunter22\r"], ["again", `${second}\r`]];
      const args = mailArgs(["user", "add", "tty@example.test", "--data", tmp]);
      const o = await new Deno.Command("python3", {
        args: [driver, JSON.stringify(steps), "--", Deno.execPath(), ...args],
        env: { NO_COLOR: "1", TERM: "xterm" },
        stdout: "piped",
      }).output();
      return JSON.parse(new TextDecoder().decode(o.stdout)) as { status: number; output: string };
    };
    let res = await run("different");
    assert.equal(res.status, 65, res.output);
    assert.match(res.output, /Passwords do not match/);
    res = await run("hunter22");
    assert.equal(res.status, 0, res.output);
    assert.doesNotMatch(res.output, /hunter22/, "the password is not echoed");
    assert.ok(await passwordOk(tmp, "tty@example.test", "hunter22"));
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
