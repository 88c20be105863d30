/**
 * `mail import` and `mail export` show a progress line on a terminal, and print nothing extra
 * when their output is not one or with `--json`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { deliverFixtures, mail } from "./_run.ts";
import { drive, hasPython } from "./_pty.ts";

const ADDRESS = "bob@example.test";
const FIXTURES = ["01-plain.eml", "02-qp-utf8.eml", "07-attachments.eml"];

async function withMailbox(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await deliverFixtures(join(dir, "data"), ADDRESS, FIXTURES);
    await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The lines of a terminal's output, each as it was left (the text after its last `\r`). */
function finalLines(output: string): string[] {
  return output.split("\r\n").map((l) => l.slice(l.lastIndexOf("\r") + 1)).filter((l) => l);
}

Deno.test({
  name: "mail export and import on a terminal: a progress line, erased before the summary",
  ignore: !hasPython,
  fn: async () => {
    await withMailbox(async (dir) => {
      const data = join(dir, "data");
      const mbox = join(dir, "bob.mbox");
      let res = await drive([], ["export", ADDRESS, mbox, "--data", data]);
      assert.equal(res.error, null, res.output);
      assert.equal(res.status, 0, res.output);
      assert.match(res.output, /\rExporting 0\/3 messages, 0 B\/[\d.]+ KiB \(0%\)\r/);
      assert.deepEqual(finalLines(res.output), [
        `Exported 3 messages (${await storedBytes(data)} bytes) from ${ADDRESS} to ${mbox} (mbox)`,
      ]);

      const size = (await Deno.stat(mbox)).size;
      res = await drive([], ["import", ADDRESS, mbox, "--data", data]);
      assert.equal(res.status, 0, res.output);
      assert.match(
        res.output,
        new RegExp(`\\rImporting 0 messages, 0 B/${(size / 1024).toFixed(1)} KiB \\(0%\\)\\r`),
      );
      assert.deepEqual(finalLines(res.output).length, 1);
      assert.match(finalLines(res.output)[0]!, /^Imported 3 messages /);

      const maildir = join(dir, "Maildir");
      res = await drive([], ["export", ADDRESS, maildir, "--format", "maildir", "--data", data]);
      assert.equal(res.status, 0, res.output);
      assert.match(res.output, /\rExporting 0\/6 messages/);
      res = await drive([], ["import", ADDRESS, maildir, "--data", data]);
      assert.equal(res.status, 0, res.output);
      assert.match(res.output, /\rImporting 0\/6 messages, 0 B\r/);
      assert.match(finalLines(res.output).join("\n"), /^Imported 6 messages [^\n]*$/);
    });
  },
});

/** The bytes stored in ADDRESS's mailbox, as `mail inbox --json` reports them. */
async function storedBytes(data: string): Promise<number> {
  const r = await mail(["inbox", ADDRESS, "--json", "--data", data]);
  return JSON.parse(r.out).reduce((n: number, e: { size: number }) => n + e.size, 0);
}

Deno.test({
  name: "mail export and import --json on a terminal: the JSON and nothing else",
  ignore: !hasPython,
  fn: async () => {
    await withMailbox(async (dir) => {
      const data = join(dir, "data");
      const mbox = join(dir, "bob.mbox");
      let res = await drive([], ["export", ADDRESS, mbox, "--json", "--data", data]);
      assert.equal(res.status, 0, res.output);
      assert.equal(JSON.parse(res.output).messages, 3);
      assert.ok(!res.output.includes("\r\r") && !/Exporting/.test(res.output), res.output);
      res = await drive([], ["import", ADDRESS, mbox, "--json", "--data", data]);
      assert.equal(res.status, 0, res.output);
      assert.equal(JSON.parse(res.output).messages, 3);
      assert.doesNotMatch(res.output, /Importing/);
    });
  },
});

Deno.test("mail export and import not on a terminal: the summary and nothing else", async () => {
  await withMailbox(async (dir) => {
    const data = join(dir, "data");
    const mbox = join(dir, "bob.mbox");
    const exp = await mail(["export", ADDRESS, mbox, "--data", data]);
    assert.equal(exp.code, 0, exp.err);
    assert.equal(exp.err, "");
    assert.match(exp.out, /^Exported 3 messages \(\d+ bytes\) from [^\n]+\n$/);

    const toStdout = await mail(["export", ADDRESS, "-", "--data", data]);
    assert.equal(toStdout.code, 0, toStdout.err);
    assert.match(toStdout.err, /^Exported 3 messages \(\d+ bytes\) from [^\n]+\n$/);
    assert.deepEqual(toStdout.stdout, await Deno.readFile(mbox));

    const imp = await mail(["import", ADDRESS, mbox, "--data", data]);
    assert.equal(imp.code, 0, imp.err);
    assert.equal(imp.err, "");
    assert.match(imp.out, /^Imported 3 messages \(\d+ bytes\) into [^\n]+\n$/);

    const maildir = join(dir, "Maildir");
    const md = await mail(["export", ADDRESS, maildir, "--format", "maildir", "--data", data]);
    assert.equal(md.code, 0, md.err);
    assert.equal(md.err, "");
    const back = await mail(["import", ADDRESS, maildir, "--data", data]);
    assert.equal(back.code, 0, back.err);
    assert.equal(back.err, "");
  });
});
