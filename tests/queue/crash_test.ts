/**
 * Crash safety: A is killed with SIGKILL while a delivery is in flight (the remote server has
 * the data but has not answered). Restarted, A delivers the message: at least once, and the
 * queue empties.
 */
import assert from "node:assert/strict";
import { startScriptedMta } from "../_helpers/scripted_mta.ts";
import {
  dataWithUsers,
  queueJson,
  serveDomain,
  storedMessages,
  submit,
  waitFor,
} from "./_helpers.ts";

Deno.test("kill -9 during delivery: the message arrives after a restart", async () => {
  const stall = await startScriptedMta({ data: () => "stall" });
  const aDir = await dataWithUsers(["ann@a.test"]);
  const bDir = await dataWithUsers(["bob@example.org"]);
  const b = await serveDomain(bDir, "example.org");
  let a = await serveDomain(aDir, "a.test", ["--route", `example.org=127.0.0.1:${stall.port}`]);
  try {
    await submit(a, "ann@a.test", ["bob@example.org"], "in flight");
    await stall.dataSeen;
    // Mid-delivery: the row is still queued, not yet attempted to the end.
    const [row] = await queueJson(aDir);
    assert.ok(row);
    assert.equal(row.attempts, 0);
    await a.kill();
    assert.deepEqual((await queueJson(aDir)).map((r) => r.id), [row.id]);

    a = await serveDomain(aDir, "a.test", ["--route", `example.org=127.0.0.1:${b.smtpPort}`]);
    const got = await waitFor("delivery after the restart", async () => {
      const m = await storedMessages(bDir, "bob@example.org");
      return m.length > 0 ? m : undefined;
    });
    await waitFor("A's queue to empty", async () => (await queueJson(aDir)).length === 0);
    // At least once; here the first attempt never completed, so exactly once.
    assert.ok(got.length === 1 || got.length === 2);
    assert.match(new TextDecoder().decode(got[0]), /^Subject: in flight\r$/m);
  } finally {
    await a.stop();
    await b.stop();
    await stall.close();
    await Deno.remove(aDir, { recursive: true });
    await Deno.remove(bDir, { recursive: true });
  }
});
