import assert from "node:assert/strict";
import { deliverFixtures, mail } from "./_run.ts";
import { drive, hasPython } from "./_pty.ts";
import { listChoices, parseAction } from "../../src/cli/inbox.ts";
import { loadReader } from "../../src/mime/mod.ts";
import type { MailboxEntry } from "../../src/store/mod.ts";

const ADDRESS = "bob@example.test";
const DOWN = "\x1b[B";
const ENTER = "\r";

Deno.test({
  name: "mail inbox on a terminal: choose a message, read it, go back, quit",
  ignore: !hasPython,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      await deliverFixtures(dir, ADDRESS, ["01-plain.eml", "07-attachments.eml"]);
      const res = await drive([
        ["2 messages, 2 unread", ENTER], // the newest: Report and photo
        ["Back to the list", ENTER],
        ["1 unread", DOWN + ENTER], // the list again, one read now; open the older one
        ["Back to the list", DOWN + DOWN + ENTER], // Quit
      ], ["inbox", ADDRESS, "--data", dir]);
      assert.equal(res.error, null, res.output);
      assert.equal(res.status, 0, res.output);
      assert.match(res.output, /Report and photo attached/);
      assert.match(res.output, /Are you free for lunch on Friday\?/);
      const r = await mail(["inbox", ADDRESS, "--json", "--data", dir]);
      assert.deepEqual(JSON.parse(r.out).map((x: { seen: boolean }) => x.seen), [true, true]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "mail inbox on a terminal: Ctrl-C and Quit leave with status 0",
  ignore: !hasPython,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      await deliverFixtures(dir, ADDRESS, ["01-plain.eml"]);
      let res = await drive([["1 message", "\x03"]], ["inbox", ADDRESS, "--data", dir]);
      assert.equal(res.error, null, res.output);
      assert.equal(res.status, 0, res.output);
      assert.doesNotMatch(res.output, /error|at .*:\d+:\d+/i);
      res = await drive([["1 message", DOWN + ENTER]], ["inbox", ADDRESS, "--data", dir]);
      assert.equal(res.status, 0, res.output);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

const entry = (id: number): MailboxEntry => ({
  id,
  messageId: `Q${id}`,
  sender: "",
  from: "a@example.test",
  subject: `Message ${id}`,
  date: "",
  size: 100,
  seen: false,
  receivedAt: 0,
});

Deno.test("listChoices: entries, paging and Quit", async () => {
  const reader = await loadReader();
  const entries = [entry(9), entry(8)];
  let choices = listChoices(entries, { offset: 0, limit: 2 }, 5, 60, reader);
  assert.deepEqual(choices.map((c) => c.value), ["open:9", "open:8", "next", "quit"]);
  for (const c of choices) assert.ok(c.name.length <= 58, c.name);
  choices = listChoices(entries, { offset: 2, limit: 2 }, 4, undefined, reader);
  assert.deepEqual(choices.map((c) => c.value), ["open:9", "open:8", "prev", "quit"]);
  assert.deepEqual(
    listChoices([], { offset: 0, limit: 50 }, 0, 80, reader).map((c) => c.value),
    ["quit"],
  );
  assert.deepEqual(parseAction("open:12"), { id: 12 });
  assert.deepEqual(parseAction("quit"), { action: "quit" });
});
