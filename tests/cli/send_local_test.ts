/**
 * `mail send` to the `mail serve` on the same machine: it trusts the certificate the server
 * generated in the shared data directory, so STARTTLS is verified with no --ca.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { mail, startServe } from "../_helpers/mail_process.ts";

Deno.test("mail send --data DIR: STARTTLS to the local server verifies its generated certificate", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mail-send-local-" });
  try {
    const pw = join(dir, "pw");
    await Deno.writeTextFile(pw, "local-secret\n");
    assert.equal(
      (await mail(["user", "add", "alice@example.test", "--data", dir, "--password-file", pw]))
        .code,
      0,
    );
    const server = await startServe(dir);
    try {
      const args = [
        "send",
        "--data",
        dir,
        "--server",
        `127.0.0.1:${server.submissionPort}`,
        "--user",
        "alice@example.test",
        "--password-file",
        pw,
        "--from",
        "alice@example.test",
        "--to",
        "alice@example.test",
        "--subject",
        "local",
        "--body",
        "over verified TLS",
        "-v",
      ];
      const r = await mail(args);
      assert.equal(r.code, 0, r.err);
      assert.match(r.err, /> STARTTLS/);
      assert.doesNotMatch(r.err, /insecure/i);
      const list = JSON.parse(
        (await mail(["inbox", "alice@example.test", "--json", "--data", dir])).out,
      );
      assert.equal(list[0].subject, "local");
      // Without the data directory there is nothing to trust: verification fails, exit 69.
      const other = await Deno.makeTempDir({ prefix: "mail-send-other-" });
      const refused = await mail(args.map((a) => (a === dir ? other : a)));
      assert.equal(refused.code, 69, refused.err);
      assert.match(refused.err, /--ca FILE/);
      await Deno.remove(other, { recursive: true });
    } finally {
      await server.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
