/** `mail sendmail` end to end, as cron, git send-email and PHP's mail() call it. */
import assert from "node:assert/strict";
import { assertNoStackTrace, mail } from "../_helpers/mail_process.ts";
import { headerOf, serveWithUsers, storedMessages } from "./_send.ts";

Deno.test("mail sendmail", async (t) => {
  const serve = await serveWithUsers(["ann@example.test", "bob@example.test", "carl@example.test"]);
  const server = ["--server", `127.0.0.1:${serve.smtpPort}`];
  try {
    await t.step(
      "-t: recipients from To/Cc/Bcc, Bcc removed (LF input, as PHP writes)",
      async () => {
        const input =
          "From: Web <www@sender.test>\nTo: ann@example.test\nCc: Bob <bob@example.test>\n" +
          "Bcc: carl@example.test\nSubject: from PHP\n\nline one\n.\nafter a lone dot\n";
        const r = await mail(["sendmail", ...server, "-t", "-i"], { stdin: input });
        assert.equal(r.code, 0, r.err);
        assert.equal(r.out, "", "sendmail is silent on success");
        for (const who of ["ann", "bob", "carl"]) {
          const [m] = await storedMessages(serve.dataDir, `${who}@example.test`);
          assert.ok(m, `${who} got it`);
          const text = new TextDecoder().decode(m);
          assert.doesNotMatch(headerOf(m), /^Bcc:/im);
          assert.match(
            text,
            /\r\nline one\r\n\.\r\nafter a lone dot\r\n$/,
            "-i keeps the lone dot",
          );
          assert.match(headerOf(m), /^Return-Path: <www@sender\.test>/);
          // Date and Message-ID were missing: added, as sendmail does.
          assert.match(headerOf(m), /^Date: /m);
          assert.match(headerOf(m), /^Message-ID: <[^@]+@sender\.test>/m);
        }
      },
    );

    await t.step("recipients as arguments, -f, and a lone dot ending the input", async () => {
      const input = "Subject: cron\n\nOutput of a job\n.\nnot sent\n";
      const r = await mail(
        [
          "sendmail",
          ...server,
          "-oi",
          "-f",
          "cron@sender.test",
          "-FCron Daemon",
          "ann@example.test",
        ],
        { stdin: input },
      );
      assert.equal(r.code, 0, r.err);
      const all = await storedMessages(serve.dataDir, "ann@example.test");
      const text = new TextDecoder().decode(all[all.length - 1]!);
      assert.match(text, /^From: "Cron Daemon" <cron@sender\.test>\r$/m);
      // -oi is -i: the dot does not end the input.
      assert.match(text, /\.\r\nnot sent\r\n$/);

      const r2 = await mail(["sendmail", ...server, "-f", "cron@sender.test", "ann@example.test"], {
        stdin: "Subject: cut\n\nkept\n.\ndropped\n",
      });
      assert.equal(r2.code, 0, r2.err);
      const again = await storedMessages(serve.dataDir, "ann@example.test");
      const last = new TextDecoder().decode(again[again.length - 1]!);
      assert.match(last, /\r\nkept\r\n$/);
    });

    await t.step("failures: no recipients, a refused one", async () => {
      let r = await mail(["sendmail", ...server], { stdin: "Subject: x\n\nx\n" });
      assert.equal(r.code, 64);
      r = await mail(["sendmail", ...server, "-f", "a@sender.test", "nobody@example.test"], {
        stdin: "Subject: x\n\nx\n",
      });
      assert.equal(r.code, 69);
      assert.match(r.err, /RCPT TO:<nobody@example\.test>: 550 5\.1\.1/);
      assertNoStackTrace(r.err);
    });
  } finally {
    await serve.cleanup();
  }
});
