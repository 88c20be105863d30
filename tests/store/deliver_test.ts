import assert from "node:assert/strict";
import { StoreError } from "../../src/store/mod.ts";
import { DIRECT_SIZE, PIECE_SIZE } from "../../src/store/pieces.ts";
import { message, query, split, storedOctets, withStore } from "./_helpers.ts";

Deno.test("delivery to two recipients stores the body once and makes two entries", () =>
  withStore((store) => {
    const body = new Uint8Array(100_000).fill(0x61);
    store.deliver(message("q1", ["a@example.org", "b@example.org"], body));

    assert.equal(query<{ n: number }>(store, "SELECT count(*) AS n FROM messages").n, 1);
    assert.equal(storedOctets(store), 100_000);
    assert.equal(query<{ n: number }>(store, "SELECT count(*) AS n FROM entries").n, 2);
    assert.deepEqual(store.mailboxes(), ["a@example.org", "b@example.org"]);
    for (const address of ["a@example.org", "b@example.org"]) {
      const [entry] = store.list(address);
      assert.ok(entry);
      assert.equal(entry.messageId, "q1");
      assert.equal(entry.size, 100_000);
      assert.deepEqual(store.read(address, entry.id), body);
    }
  }));

Deno.test("binary bytes round-trip exactly, including all 256 octet values", () =>
  withStore((store) => {
    const body = new Uint8Array(256 * 4);
    for (let i = 0; i < body.length; i++) body[i] = i % 256;
    // Odd chunk sizes, an empty chunk and a one-octet chunk.
    const chunks = [body.subarray(0, 1), new Uint8Array(0), ...split(body.subarray(1), 97)];
    store.deliver(message("bin", ["a@example.org"], body, { chunks }));
    const [entry] = store.list("a@example.org");
    assert.ok(entry);
    assert.deepEqual(store.read("a@example.org", entry.id), body);
  }));

Deno.test("a 5 MiB message in many chunks round-trips and is stored in bounded pieces", () =>
  withStore((store) => {
    const body = new Uint8Array(5 * 1024 * 1024);
    // Not crypto: just bytes that are not all equal.
    let x = 12345;
    for (let i = 0; i < body.length; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      body[i] = x >>> 24;
    }
    store.deliver(
      // Small reads (a slow client): copied together into pieces of at most 256 KiB.
      message("big", ["a@example.org"], body, { chunks: split(body, 4093) }),
    );
    const [entry] = store.list("a@example.org");
    assert.ok(entry);
    assert.equal(entry.size, body.length);
    const back = store.read("a@example.org", entry.id);
    assert.ok(back);
    assert.equal(back.length, body.length);
    assert.ok(back.every((b, i) => b === body[i]));
    const pieces = query<{ n: number; biggest: number }>(
      store,
      "SELECT count(*) AS n, max(length(data)) AS biggest FROM message_chunks",
    );
    assert.equal(pieces.n, 20);
    assert.equal(pieces.biggest, 256 * 1024);
  }));

Deno.test("a message of at most 256 KiB is kept in its row, a longer one in pieces", () =>
  withStore((store) => {
    const where = (id: string) =>
      query<{ inRow: number | null; pieces: number }>(
        store,
        `SELECT length(body) AS inRow,
          (SELECT count(*) FROM message_chunks WHERE message_id = m.id) AS pieces
        FROM messages m WHERE queue_id = ?`,
        id,
      );
    const body = new Uint8Array(PIECE_SIZE + 1).map((_, i) => i % 251);
    const cases = [
      // Many small reads, joined into the row.
      { id: "small-reads", bytes: body.subarray(0, PIECE_SIZE), chunks: 4093 },
      // A large read between small ones (which pieces() would store as three rows).
      { id: "mixed", bytes: body.subarray(0, 3 * DIRECT_SIZE), chunks: DIRECT_SIZE + 1 },
      { id: "one-over", bytes: body, chunks: 4093 },
    ];
    for (const { id, bytes, chunks } of cases) {
      store.deliver(message(id, ["a@example.org"], bytes, { chunks: split(bytes, chunks) }));
    }
    assert.deepEqual({ ...where("small-reads") }, { inRow: PIECE_SIZE, pieces: 0 });
    assert.deepEqual({ ...where("mixed") }, { inRow: 3 * DIRECT_SIZE, pieces: 0 });
    assert.deepEqual({ ...where("one-over") }, { inRow: null, pieces: 2 });
    const entries = store.list("a@example.org").reverse();
    cases.forEach(({ bytes }, i) => {
      assert.deepEqual(store.read("a@example.org", entries[i]!.id), bytes);
    });
  }));

Deno.test("an empty message round-trips", () =>
  withStore((store) => {
    store.deliver(message("empty", ["a@example.org"], new Uint8Array(0)));
    const [entry] = store.list("a@example.org");
    assert.ok(entry);
    assert.deepEqual(store.read("a@example.org", entry.id), new Uint8Array(0));
  }));

Deno.test("duplicate recipients get one entry", () =>
  withStore((store) => {
    store.deliver(message("q1", ["a@example.org", "a@example.org", "b@example.org"]));
    assert.equal(store.count("a@example.org").total, 1);
    assert.equal(store.count("b@example.org").total, 1);
    assert.equal(query<{ n: number }>(store, "SELECT count(*) AS n FROM entries").n, 2);
  }));

Deno.test("a missing mailbox without catch-all stores nothing", () =>
  withStore((store) => {
    store.addUser("a@example.org", "hash");
    assert.throws(
      () =>
        store.deliver(
          message("q1", ["a@example.org", "nobody@example.org"], "x", {
            createMailboxes: false,
          }),
        ),
      (e) =>
        e instanceof StoreError && e.kind === "no-mailbox" && /nobody@example\.org/.test(e.message),
    );
    assert.equal(store.count("a@example.org").total, 0);
    assert.equal(store.mailboxExists("nobody@example.org"), false);
    assert.equal(query<{ n: number }>(store, "SELECT count(*) AS n FROM messages").n, 0);
    assert.equal(query<{ n: number }>(store, "SELECT count(*) AS n FROM message_chunks").n, 0);
  }));

Deno.test("a failed delivery also undoes mailboxes it created for earlier recipients", () =>
  withStore((store) => {
    store.deliver(message("q1", ["a@example.org"]));
    assert.throws(
      () => store.deliver(message("q2", ["new@example.org"], "x", { size: 99 })),
      RangeError,
    );
    assert.equal(store.mailboxExists("new@example.org"), false);
    assert.equal(query<{ n: number }>(store, "SELECT count(*) AS n FROM messages").n, 1);
  }));

Deno.test("catch-all delivery creates mailboxes; an existing queue id is refused", () =>
  withStore((store) => {
    store.deliver(message("q1", ["new@example.org"]));
    assert.equal(store.mailboxExists("new@example.org"), true);
    assert.equal(store.userExists("new@example.org"), false);
    assert.throws(
      () => store.deliver(message("q1", ["other@example.org"])),
      (e) => e instanceof StoreError && e.kind === "exists",
    );
    assert.equal(store.mailboxExists("other@example.org"), false);
  }));

Deno.test("summary headers and envelope appear in the listing", () =>
  withStore((store) => {
    store.deliver(
      message("q1", ["a@example.org"], "x", {
        sender: "",
        receivedAt: 1_700_000_000_000,
        summary: {
          from: "=?utf-8?q?J=C3=B6rg?= <j@example.org>",
          subject: "Hi",
          date: "Tue, 14 Nov 2023 22:13:20 +0000",
          messageId: "<m@x>",
        },
      }),
    );
    const [entry] = store.list("a@example.org");
    assert.deepEqual(entry, {
      id: entry!.id,
      messageId: "q1",
      sender: "",
      from: "=?utf-8?q?J=C3=B6rg?= <j@example.org>",
      subject: "Hi",
      date: "Tue, 14 Nov 2023 22:13:20 +0000",
      size: 1,
      seen: false,
      receivedAt: 1_700_000_000_000,
    });
    assert.deepEqual(store.entry("a@example.org", entry!.id), entry);
  }));
