/**
 * One list of permission flags: `deno task mail`, `deno task serve`, `deno task compile` and
 * the release workflow all use deno.json's permission set `mail` (`-P=mail`), and `main.ts`
 * run with exactly the task's flags can serve, send and read. A permission the binary lacks
 * fails here, not on a user's machine.
 */
import assert from "node:assert/strict";
import denoJson from "../../deno.json" with { type: "json" };
import { assertNoStackTrace, mail, mailArgs, startServe } from "../_helpers/mail_process.ts";
import { withTempDir } from "./_helpers.ts";

/** The permission flags of a `deno ...` command line. */
function permissionFlags(command: string): string[] {
  return command.split(/\s+/).filter((a) =>
    /^(-P|--permission-set)(=|$)|^-A$|^--allow-all$|^--allow-|^--deny-/.test(a)
  );
}

const RELEASE = new URL("../../.github/workflows/release.yml", import.meta.url);

Deno.test("every way to run or build mail uses the one permission set -P=mail", async () => {
  const tasks = denoJson.tasks as Record<string, string>;
  assert.deepEqual(permissionFlags(tasks.mail!), ["-P=mail"]);
  assert.deepEqual(permissionFlags(tasks.serve!), ["-P=mail"]);
  // The compile task runs the build-info wrapper (its own flags), then `deno compile ...`.
  const compile = tasks.compile!.slice(tasks.compile!.indexOf(" compile "));
  assert.deepEqual(permissionFlags(compile), ["-P=mail"]);
  // The tests run main.ts with the mail task's flags.
  assert.deepEqual(permissionFlags(mailArgs([]).join(" ")), ["-P=mail"]);
  // So does every compile in the release workflow.
  const workflow = await Deno.readTextFile(RELEASE);
  const compiles = workflow.split("\n").filter((l) => /\scompile\s+-/.test(l) && !/^\s*#/.test(l));
  assert.ok(compiles.length > 0, "release.yml compiles nothing");
  for (const line of compiles) assert.deepEqual(permissionFlags(line), ["-P=mail"], line);
  // The set itself grants no subprocesses and no FFI: nothing in mail needs them.
  const set = denoJson.permissions.mail as Record<string, unknown>;
  assert.equal(set.run, undefined);
  assert.equal(set.ffi, undefined);
});

Deno.test("main.ts with exactly the task's flags serves, sends and reads", async () => {
  await withTempDir(async (dir) => {
    const add = await mail(["user", "add", "alice@example.test", "--data", dir], {
      stdin: "pw\n",
    });
    assert.equal(add.code, 0, add.err);
    // Default TLS: the server generates and writes its certificate (write, sys, crypto).
    const serve = await startServe(dir);
    try {
      const sent = await mail([
        "send",
        "--server",
        `127.0.0.1:${serve.smtpPort}`,
        "--tls",
        "none",
        "--from",
        "bob@example.org",
        "--to",
        "alice@example.test",
        "--subject",
        "Grüße",
        "--body",
        "Permissions are enough.",
        "--json",
      ]);
      assertNoStackTrace(sent.err);
      assert.equal(sent.code, 0, sent.err);
      assert.equal(JSON.parse(sent.out).recipients[0].status, "sent");

      const list = await mail(["inbox", "alice@example.test", "--json", "--data", dir]);
      assert.equal(list.code, 0, list.err);
      const [entry] = JSON.parse(list.out) as { id: number; subject: string }[];
      assert.equal(entry?.subject, "Grüße");
      const shown = await mail(["inbox", "alice@example.test", String(entry.id), "--data", dir]);
      assert.equal(shown.code, 0, shown.err);
      assert.match(shown.out, /Permissions are enough\./);

      // Backup and the check, with the same flags, while the server runs.
      const exported = await mail(["export", "alice@example.test", `${dir}/x.mbox`, "--data", dir]);
      assert.equal(exported.code, 0, exported.err);
      const check = await mail([
        "serve",
        "--check",
        "--data",
        dir,
        "--smtp",
        "127.0.0.1:0",
        "--submission",
        "127.0.0.1:0",
        "--imap",
        "127.0.0.1:0",
      ]);
      assert.equal(check.code, 0, check.err);
    } finally {
      assert.equal(await serve.stop(), 0, serve.log());
    }
    assertNoStackTrace(serve.log());
    assert.doesNotMatch(serve.log(), /NotCapable|PermissionDenied|Requires .* access/);
  });
});
