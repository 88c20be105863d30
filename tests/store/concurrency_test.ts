import assert from "node:assert/strict";
import { openStore } from "../../src/store/mod.ts";
import { message, withTempDir } from "./_helpers.ts";

const A = "a@example.org";

Deno.test("two stores on one directory see each other's commits", () =>
  withTempDir((dir) => {
    const server = openStore(dir);
    const inbox = openStore(dir, { mustExist: true });
    try {
      server.deliver(message("q1", [A]));
      const [entry] = inbox.list(A);
      assert.ok(entry);
      assert.equal(inbox.setSeen(A, entry.id, true), true);
      server.deliver(message("q2", [A]));
      assert.deepEqual(server.count(A), { total: 2, unseen: 1 });
      assert.deepEqual(inbox.count(A), { total: 2, unseen: 1 });
      assert.equal(server.entry(A, entry.id)?.seen, true);
    } finally {
      inbox.close();
      server.close();
    }
  }));

Deno.test("another process delivering while this one reads and updates: no lock errors", () =>
  withTempDir(async (dir) => {
    const total = 300;
    openStore(dir).close(); // Migrate first, so both sides start on the same schema.
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("./_writer.ts", import.meta.url).pathname, dir, `${total}`, A],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = child.output();

    const inbox = openStore(dir, { mustExist: true });
    let rounds = 0;
    let done = false;
    output.finally(() => done = true);
    try {
      // Bounded: stops when the writer exits or after 60 s, whichever is first.
      const deadline = Date.now() + 60_000;
      while (!done && Date.now() < deadline) {
        const [newest] = inbox.list(A, { limit: 5 });
        if (newest !== undefined) {
          assert.equal(inbox.setSeen(A, newest.id, true), true);
          assert.ok(inbox.read(A, newest.id)!.length > 10_000);
        }
        const { total: seen } = inbox.count(A);
        assert.ok(seen <= total);
        rounds++;
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      const { code, stderr } = await output;
      assert.equal(code, 0, new TextDecoder().decode(stderr));
      assert.equal(inbox.count(A).total, total);
      assert.ok(rounds > 1, `only ${rounds} read rounds overlapped the writer`);
    } finally {
      inbox.close();
    }
  }));
