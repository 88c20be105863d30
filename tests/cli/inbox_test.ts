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

/** A mailbox of N copies of one small message (ids 1..N, N the newest). */
async function withLargeMailbox(n: number, f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await deliverFixtures(dir, ADDRESS, Array(n).fill("01-plain.eml"));
    await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("mail inbox --json: the whole mailbox unless a page is asked for", async () => {
  await withLargeMailbox(120, async (dir) => {
    const r = await mail(["inbox", ADDRESS, "--json", "--data", dir]);
    assert.equal(r.code, 0, r.err);
    const rows: Row[] = JSON.parse(r.out);
    assert.equal(rows.length, 120);
    assert.equal(new Set(rows.map((x) => x.id)).size, 120);
    assert.ok(rows.every((x, i) => i === 0 || x.id < rows[i - 1]!.id), "newest first");
    // Written a page at a time, but the same document as one JSON.stringify.
    assert.equal(r.out, JSON.stringify(rows, null, 2) + "\n");
    for (const key of ["id", "from", "subject", "date", "size", "seen", "received"]) {
      assert.ok(key in rows[0]!, key);
    }

    assert.equal((await list(dir, "--limit", "50")).length, 50);
    assert.deepEqual(
      (await list(dir, "--page", "3")).map((x) => x.id),
      rows.slice(100).map((x) => x.id),
    );
    assert.deepEqual(
      (await list(dir, "--offset", "110")).map((x) => x.id),
      rows.slice(110).map((x) => x.id),
    );
  });
});

Deno.test("mail inbox --json of an empty mailbox is []", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await deliverFixtures(dir, ADDRESS, ["01-plain.eml"]);
    const [only] = await list(dir);
    const r = await mail(["inbox", ADDRESS, String(only!.id), "--delete", "--data", dir]);
    assert.equal(r.code, 0, r.err);
    const empty = await mail(["inbox", ADDRESS, "--json", "--data", dir]);
    assert.equal(empty.out, "[]\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mail inbox: the list says how many there are and how to see the next page", async () => {
  await withLargeMailbox(120, async (dir) => {
    const footer = async (...extra: string[]) => {
      const r = await mail(["inbox", ADDRESS, "--data", dir, ...extra]);
      assert.equal(r.code, 0, r.err);
      const lines = r.out.trimEnd().split("\n");
      return { rows: lines.length - 1, footer: lines[lines.length - 1] };
    };
    assert.deepEqual(await footer(), {
      rows: 50,
      footer: "50 of 120 shown (1-50), 120 unread; --page 2 for more",
    });
    assert.deepEqual(await footer("--page", "2"), {
      rows: 50,
      footer: "50 of 120 shown (51-100), 120 unread; --page 3 for more",
    });
    assert.deepEqual(await footer("--page", "3"), {
      rows: 20,
      footer: "20 of 120 shown (101-120), 120 unread",
    });
    assert.deepEqual(await footer("--limit", "30", "--page", "2"), {
      rows: 30,
      footer: "30 of 120 shown (31-60), 120 unread; --limit 30 --page 3 for more",
    });
    assert.deepEqual(await footer("--offset", "5"), {
      rows: 50,
      footer: "50 of 120 shown (6-55), 120 unread; --offset 55 for more",
    });
    assert.deepEqual(await footer("--limit", "200"), {
      rows: 120,
      footer: "120 messages, 120 unread",
    });
    const past = await mail(["inbox", ADDRESS, "--page", "9", "--data", dir]);
    assert.equal(past.code, 0, past.err);
    assert.equal(past.out, "No messages on page 9 (120 in all)\n");
  });
});
