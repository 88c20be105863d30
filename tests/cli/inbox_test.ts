import assert from "node:assert/strict";
import { assertNoStackTrace, deliverFixtures, FIXTURES, mail } from "./_run.ts";

const ADDRESS = "bob@example.test";
const DELIVERED = ["01-plain.eml", "02-qp-utf8.eml", "07-attachments.eml", "06-html-only.eml"];

interface Row {
  id: number;
  from: string;
  subject: string;
  date: string;
  size: number;
  seen: boolean;
}

async function withMailbox(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await deliverFixtures(dir, ADDRESS, DELIVERED);
    await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function list(dir: string, ...extra: string[]): Promise<Row[]> {
  const r = await mail(["inbox", ADDRESS, "--json", "--data", dir, ...extra]);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out);
}

Deno.test("mail inbox --json: fields, newest first, decoded, pagination", async () => {
  await withMailbox(async (dir) => {
    const rows = await list(dir);
    assert.equal(rows.length, DELIVERED.length);
    for (const row of rows) {
      for (const key of ["id", "from", "subject", "date", "size", "seen"]) {
        assert.ok(key in row, key);
      }
      assert.equal(typeof row.id, "number");
      assert.equal(typeof row.size, "number");
      assert.equal(row.seen, false);
      assert.equal(row.date, "2026-11-03T09:15:00.000Z");
    }
    // Newest first: the last delivered comes first.
    assert.equal(rows[0]!.subject, "Your order has shipped");
    assert.equal(rows[3]!.subject, "Lunch on Friday?");
    const qp = rows.find((r) => r.from.includes("juergen"))!;
    assert.equal(qp.from, "Jürgen Müller <juergen@example.test>");
    assert.equal(qp.subject, "Grüße aus Köln – Über das Café");
    const plain = await Deno.readFile(new URL("01-plain.eml", FIXTURES));
    assert.equal(rows[3]!.size, plain.length);

    const page2 = await list(dir, "--limit", "2", "--offset", "2");
    assert.deepEqual(page2.map((r) => r.id), rows.slice(2, 4).map((r) => r.id));
    const byPage = await list(dir, "--limit", "3", "--page", "2");
    assert.deepEqual(byPage.map((r) => r.id), [rows[3]!.id]);
  });
});

Deno.test("mail inbox: the table when not on a terminal", async () => {
  await withMailbox(async (dir) => {
    const r = await mail(["inbox", ADDRESS, "--data", dir]);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trimEnd().split("\n");
    assert.equal(lines.length, DELIVERED.length + 1);
    assert.match(
      lines[0]!,
      /^N +\d+ {2}\d{4}-\d\d-\d\d \d\d:\d\d {2}shop@example\.test +Your order has shipped +\d/,
    );
    assert.match(r.out, /Jürgen Müller +Grüße aus Köln/);
    assert.match(r.out, /4 messages, 4 unread/);
    assert.ok(!r.out.includes("\x1b"), "no colour when not a terminal");
  });
});

Deno.test("mail inbox ID: shows decoded, marks seen; --json; --raw; --delete", async () => {
  await withMailbox(async (dir) => {
    const rows = await list(dir);
    const attach = rows.find((r) => r.subject === "Report and photo")!;

    let r = await mail(["inbox", ADDRESS, String(attach.id), "--data", dir]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^From: +ann@example\.test$/m);
    assert.match(r.out, /^Subject: Report and photo$/m);
    assert.match(r.out, /Report and photo attached\./);
    assert.match(r.out, /report\.pdf +application\/pdf, 2\.0 KiB/);
    assert.match(r.out, /über uns\.png/);
    let after = await list(dir);
    assert.equal(after.find((x) => x.id === attach.id)!.seen, true);
    assert.equal(after.filter((x) => x.seen).length, 1);

    const qp = rows.find((x) => x.from.includes("juergen"))!;
    r = await mail(["inbox", ADDRESS, String(qp.id), "--json", "--data", dir]);
    assert.equal(r.code, 0, r.err);
    const doc = JSON.parse(r.out);
    assert.equal(doc.subject, "Grüße aus Köln – Über das Café");
    assert.deepEqual(doc.from, [{ name: "Jürgen Müller", address: "juergen@example.test" }]);
    assert.match(doc.text, /Das Café öffnet um 8 Uhr/);
    assert.deepEqual(doc.attachments, []);
    assert.equal(doc.seen, true);

    // --raw: the exact bytes, nothing added (and the message is not marked seen).
    const html = rows.find((x) => x.subject === "Your order has shipped")!;
    r = await mail(["inbox", ADDRESS, String(html.id), "--raw", "--data", dir]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.stdout, await Deno.readFile(new URL("06-html-only.eml", FIXTURES)));
    const latin = await Deno.makeTempDir();
    try {
      // Bytes that are not UTF-8 survive too.
      await deliverFixtures(latin, ADDRESS, ["04-latin1-8bit.eml"]);
      const [only] = await list(latin);
      r = await mail(["inbox", ADDRESS, String(only!.id), "--raw", "--data", latin]);
      assert.deepEqual(r.stdout, await Deno.readFile(new URL("04-latin1-8bit.eml", FIXTURES)));
    } finally {
      await Deno.remove(latin, { recursive: true });
    }
    after = await list(dir);
    assert.equal(after.find((x) => x.id === html.id)!.seen, false);

    r = await mail(["inbox", ADDRESS, String(html.id), "--delete", "--data", dir]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err + r.out, /Deleted message/);
    after = await list(dir);
    assert.equal(after.length, DELIVERED.length - 1);
    assert.ok(!after.some((x) => x.id === html.id));
    r = await mail(["inbox", ADDRESS, String(html.id), "--data", dir]);
    assert.equal(r.code, 66, "deleted message is gone");
  });
});

Deno.test("mail inbox: errors have sysexits statuses and one line, no stack trace", async () => {
  await withMailbox(async (dir) => {
    const cases: [string[], number, RegExp][] = [
      [
        ["inbox", ADDRESS, "999999", "--data", dir],
        66,
        /^mail: No message 999999 in bob@example\.test$/m,
      ],
      [["inbox", ADDRESS, "999999", "--raw", "--data", dir], 66, /No message/],
      [["inbox", ADDRESS, "999999", "--delete", "--data", dir], 66, /No message/],
      [
        ["inbox", "nobody@example.test", "--data", dir],
        66,
        /^mail: No mailbox for nobody@example\.test$/m,
      ],
      [["inbox", ADDRESS, "--data", `${dir}/missing`], 66, /^mail: No mail store in /m],
      [["inbox", "not-an-address", "--data", dir], 65, /^mail: Invalid address/m],
      [["inbox", ADDRESS, "--raw", "--data", dir], 64, /needs a message ID/],
      [["inbox", ADDRESS, "abc", "--data", dir], 64, /ID must be an integer/],
      [["inbox", ADDRESS, "--limit", "0", "--data", dir], 64, /--limit/],
    ];
    for (const [args, code, message] of cases) {
      const r = await mail(args);
      assert.equal(r.code, code, `${args.join(" ")}: ${r.err}`);
      assert.match(r.err, message);
      assert.equal(r.out, "");
      assertNoStackTrace(r.err);
    }
  });
});
