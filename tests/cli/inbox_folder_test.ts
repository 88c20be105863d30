/** `mail inbox --folder NAME` reads the IMAP folders of a mailbox; INBOX is the default. */
import assert from "node:assert/strict";
import { openStore } from "../../src/store/mod.ts";
import { mail } from "../_helpers/mail_process.ts";

Deno.test("mail inbox --folder: lists, shows and deletes in another folder; an unknown one is 66", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mail-inbox-folder-" });
  try {
    assert.equal(
      (await mail(["user", "add", "ann@example.test", "--data", dir], { stdin: "pw\n" })).code,
      0,
    );
    const store = openStore(dir);
    const bytes = new TextEncoder().encode(
      "From: ann@example.test\r\nSubject: sent one\r\n\r\nhi\r\n",
    );
    store.folders.appendMessage("ann@example.test", "Sent", {
      id: "SENT1",
      sender: "ann@example.test",
      chunks: [bytes],
      size: bytes.length,
      summary: { from: "ann@example.test", subject: "sent one", date: "", messageId: "" },
      receivedAt: Date.now(),
    }, ["\\Seen"]);
    store.close();
    const inbox = await mail(["inbox", "ann@example.test", "--json", "--data", dir]);
    assert.deepEqual(JSON.parse(inbox.out), []);
    const sent = await mail([
      "inbox",
      "ann@example.test",
      "--folder",
      "Sent",
      "--json",
      "--data",
      dir,
    ]);
    const list = JSON.parse(sent.out) as { id: number; subject: string; seen: boolean }[];
    assert.deepEqual(list.map((e) => [e.subject, e.seen]), [["sent one", true]]);
    const raw = await mail([
      "inbox",
      "ann@example.test",
      String(list[0]!.id),
      "--raw",
      "--folder",
      "Sent",
      "--data",
      dir,
    ]);
    assert.deepEqual(raw.stdout, bytes);
    const del = await mail([
      "inbox",
      "ann@example.test",
      String(list[0]!.id),
      "--delete",
      "--folder",
      "Sent",
      "--data",
      dir,
    ]);
    assert.equal(del.code, 0, del.err);
    const none = await mail(["inbox", "ann@example.test", "--folder", "Nope", "--data", dir]);
    assert.equal(none.code, 66);
    assert.match(none.err, /^mail: No folder Nope in ann@example.test\n$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
