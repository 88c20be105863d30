/**
 * `mail export` and `mail import`: a mailbox written as mbox or Maildir and read back gives the
 * stored bytes exactly; other programs (Python's `mailbox`) read what we write.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import fc from "fast-check";
import { assertNoStackTrace, mail } from "../_helpers/mail_process.ts";
import { asctime, mboxEntry, parseFromLine, readMbox } from "../../src/mailbox_formats/mod.ts";
import { deliver, stored, trickyMessages, withTempDir } from "./_helpers.ts";
import { concatBytes } from "../../src/bytes.ts";

const ADDRESS = "alice@example.test";

/** Splits BYTES into chunks of the given sizes (the rest in one), as a stream. */
function streamOf(bytes: Uint8Array, sizes: readonly number[] = []): ReadableStream<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (const n of sizes) {
    if (at >= bytes.length) break;
    chunks.push(bytes.slice(at, at + n));
    at += n;
  }
  if (at < bytes.length) chunks.push(bytes.slice(at));
  return ReadableStream.from(chunks);
}

Deno.test("mboxrd: write then read gives every message back byte for byte", async () => {
  const messages = trickyMessages().map((m, i) => ({ ...m, receivedAt: 1_790_000_000_000 + i }));
  const file = concatBytes(messages.flatMap((m) => mboxEntry(m)));
  const text = new TextDecoder().decode(file);
  assert.match(text, /^From alice@example\.test \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\n/);
  assert.match(text, /\r\n>From here on, quoting:\r\n>>From there\r\n>>>From everywhere\r\n/);
  assert.match(text, /\nFrom MAILER-DAEMON /);
  const back = await Array.fromAsync(readMbox(streamOf(file, [1, 2, 3, 5, 7, 11, 13])));
  assert.equal(back.length, messages.length);
  back.forEach((b, i) => {
    const m = messages[i]!;
    assert.deepEqual(b.bytes, m.bytes, `message ${i + 1}`);
    assert.equal(b.sender, m.sender);
    assert.equal(b.receivedAt, Math.floor(m.receivedAt / 1000) * 1000);
  });
});

Deno.test("mboxrd: any messages survive a round trip (property)", async () => {
  const line = fc.oneof(
    fc.constantFrom("From ", ">From ", ">>From x", "From", "", "\r", ">", "F"),
    fc.string({ maxLength: 12 }),
  );
  const body = fc.array(fc.tuple(line, fc.constantFrom("\r\n", "\n", "")), { maxLength: 8 })
    .map((ls) => new TextEncoder().encode(ls.map(([l, e]) => l + e).join("")));
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ sender: fc.constantFrom("", "a@b.test"), bytes: body }), {
        minLength: 1,
        maxLength: 5,
      }),
      fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 20 }),
      async (messages, sizes) => {
        const file = concatBytes(messages.flatMap((m) => mboxEntry({ ...m, receivedAt: 0 })));
        const back = await Array.fromAsync(readMbox(streamOf(file, sizes)));
        assert.deepEqual(back.map((b) => b.bytes), messages.map((m) => m.bytes));
        assert.deepEqual(back.map((b) => b.sender), messages.map((m) => m.sender));
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("From_ line dates: asctime out, several forms in", () => {
  assert.equal(asctime(Date.UTC(2026, 10, 3, 10, 1, 0)), "Tue Nov  3 10:01:00 2026");
  assert.deepEqual(parseFromLine("a@b Tue Nov  3 10:01:00 2026"), {
    sender: "a@b",
    receivedAt: Date.UTC(2026, 10, 3, 10, 1, 0),
  });
  assert.deepEqual(parseFromLine("MAILER-DAEMON Thu Jan 1 00:00:00 +0000 2026"), {
    sender: "",
    receivedAt: Date.UTC(2026, 0, 1),
  });
  assert.deepEqual(parseFromLine("x@y"), { sender: "x@y", receivedAt: undefined });
});

async function exportImport(format: "mbox" | "maildir") {
  await withTempDir(async (tmp) => {
    const source = join(tmp, "source");
    const target = join(tmp, "target");
    const fixtures = trickyMessages();
    deliver(source, ADDRESS, fixtures);
    const before = stored(source, ADDRESS);
    assert.deepEqual(before.map((m) => m.bytes), fixtures.map((f) => f.bytes));

    const out = join(tmp, format === "mbox" ? "alice.mbox" : "Maildir");
    const exp = await mail(["export", ADDRESS, out, "--format", format, "--data", source]);
    assertNoStackTrace(exp.err);
    assert.equal(exp.code, 0, exp.err);
    assert.match(exp.out, new RegExp(`^Exported ${fixtures.length} messages `));

    // Into an empty store: the mailbox must be asked for.
    const refused = await mail(["import", ADDRESS, out, "--data", source.replace("source", "nx")]);
    assert.equal(refused.code, 66, refused.err);
    const imp = await mail(["import", ADDRESS, out, "--create", "--json", "--data", target]);
    assertNoStackTrace(imp.err);
    assert.equal(imp.code, 0, imp.err);
    assert.equal(JSON.parse(imp.out).messages, fixtures.length);

    const after = stored(target, ADDRESS);
    assert.equal(after.length, before.length);
    after.forEach((m, i) => {
      const b = before[i]!;
      assert.deepEqual(m.bytes, b.bytes, `message ${i + 1} differs after ${format} round trip`);
      assert.equal(m.receivedAt, Math.floor(b.receivedAt / 1000) * 1000);
      if (format === "mbox") assert.equal(m.sender, b.sender);
      // Maildir carries the seen flag (mbox has nowhere to put it without changing the bytes).
      if (format === "maildir") assert.equal(m.seen, b.seen);
    });

    // Exporting the imported mailbox gives the same file again.
    if (format === "mbox") {
      const again = join(tmp, "again.mbox");
      const r = await mail(["export", ADDRESS, again, "--data", target]);
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(await Deno.readFile(again), await Deno.readFile(out));
      // And an existing file is never overwritten.
      const clash = await mail(["export", ADDRESS, again, "--data", target]);
      assert.equal(clash.code, 74);
      assert.match(clash.err, /already exists/);
    }
  });
}

Deno.test("mail export --format mbox, then mail import: byte-exact", () => exportImport("mbox"));
Deno.test("mail export --format maildir, then mail import: byte-exact", () =>
  exportImport("maildir"));

Deno.test("mail export to stdout; mail import from stdin", async () => {
  await withTempDir(async (tmp) => {
    const fixtures = trickyMessages();
    deliver(join(tmp, "a"), ADDRESS, fixtures);
    const exp = await mail(["export", ADDRESS, "-", "--data", join(tmp, "a")]);
    assert.equal(exp.code, 0, exp.err);
    assert.match(exp.err, /^Exported 6 messages/);
    const imp = await mail(["import", ADDRESS, "--create", "--data", join(tmp, "b")], {
      stdin: exp.stdout,
    });
    assert.equal(imp.code, 0, imp.err);
    assert.deepEqual(
      stored(join(tmp, "b"), ADDRESS).map((m) => m.bytes),
      fixtures.map((f) => f.bytes),
    );
    const bad = await mail(["import", ADDRESS, "--data", join(tmp, "b")], { stdin: "not mail\n" });
    assert.equal(bad.code, 65);
    assert.match(bad.err, /not an mbox/);
  });
});

Deno.test("Python's mailbox module reads what mail export writes", async () => {
  await withTempDir(async (tmp) => {
    const fixtures = trickyMessages();
    deliver(join(tmp, "d"), ADDRESS, fixtures);
    const mbox = join(tmp, "x.mbox");
    const maildir = join(tmp, "Maildir");
    for (const [format, out] of [["mbox", mbox], ["maildir", maildir]]) {
      const r = await mail([
        "export",
        ADDRESS,
        out!,
        "--format",
        format!,
        "--data",
        join(tmp, "d"),
      ]);
      assert.equal(r.code, 0, r.err);
    }
    // Python's mbox reader is mboxo (it does not unquote >From), so compare the messages
    // without From lines; the Maildir reader must match every message exactly.
    const script = `
import hashlib, json, mailbox, sys
m = mailbox.mbox(sys.argv[1])
d = mailbox.Maildir(sys.argv[2], factory=None, create=False)
keys = sorted(d.keys(), key=lambda k: d.get_file(k)._file.name)
print(json.dumps({
  "mbox": [hashlib.sha256(m.get_bytes(k)).hexdigest() for k in m.keys()],
  "maildir": [hashlib.sha256(d.get_bytes(k)).hexdigest() for k in keys],
  "seen": ["S" in d.get_message(k).get_flags() for k in keys],
}))`;
    const out = await new Deno.Command("python3", {
      args: ["-c", script, mbox, maildir],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const got = JSON.parse(new TextDecoder().decode(out.stdout));
    const hex = async (b: Uint8Array) =>
      Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", b.slice())))
        .map((x) => x.toString(16).padStart(2, "0")).join("");
    const want = await Promise.all(fixtures.map((f) => hex(f.bytes)));
    assert.equal(got.mbox.length, fixtures.length);
    fixtures.forEach((f, i) => {
      if (!/(^|\n)>*From /.test(new TextDecoder().decode(f.bytes))) {
        assert.equal(got.mbox[i], want[i], `mbox message ${i + 1}`);
      }
    });
    assert.deepEqual(new Set(got.maildir), new Set(want));
    assert.equal(got.seen.filter(Boolean).length, fixtures.filter((f) => f.seen).length);
  });
});
