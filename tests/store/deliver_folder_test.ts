import assert from "node:assert/strict";
import { message, withStore } from "./_helpers.ts";

const A = "a@example.org";
const B = "b@example.org";

/** How many messages each folder of ADDRESS holds, by name. */
function counts(store: Parameters<Parameters<typeof withStore>[0]>[0], address: string) {
  return Object.fromEntries(
    store.folders.folderList(address).map((
      f,
    ) => [f.name, store.folders.folderStatus(address, f.name).messages]),
  );
}

Deno.test("delivery with a folder: into that folder where the mailbox has it, else INBOX", () =>
  withStore((store) => {
    store.folders.ensureFolders(A); // A has logged in over IMAP: it has a Junk folder
    store.deliver(message("q1", [A, B], undefined, { folder: "Junk" }));
    assert.equal(counts(store, A)["Junk"], 1);
    assert.equal(counts(store, A)["INBOX"], 0);
    // B's mailbox is new: it has only INBOX, and the copy lands there.
    assert.deepEqual(counts(store, B), { INBOX: 1 });
  }));

Deno.test("delivery with no folder, or INBOX in any case, goes to INBOX", () =>
  withStore((store) => {
    store.folders.ensureFolders(A);
    store.deliver(message("q1", [A]));
    store.deliver(message("q2", [A], undefined, { folder: "inbox" }));
    assert.equal(counts(store, A)["INBOX"], 2);
    assert.equal(counts(store, A)["Junk"], 0);
  }));

Deno.test("delivery to a folder name the mailbox lacks (names are exact) goes to INBOX", () =>
  withStore((store) => {
    store.folders.ensureFolders(A);
    store.deliver(message("q1", [A], undefined, { folder: "junk" }));
    store.deliver(message("q2", [A], undefined, { folder: "Nowhere" }));
    assert.equal(counts(store, A)["INBOX"], 2);
  }));
