/**
 * A smarthost (`route = "*=HOST:PORT"`) with AUTH credentials from the config file: A relays
 * everything through B's submission port, logging in as the user configured.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  dataWithUsers,
  headerText,
  PASSWORD,
  queueJson,
  serveDomain,
  storedMessages,
  submit,
  waitFor,
} from "./_helpers.ts";

Deno.test("smarthost with AUTH from the config file", async () => {
  // B knows ann@a.test as a submission user: it relays for her (here, to its own bob).
  const bDir = await dataWithUsers(["bob@example.org", "ann@a.test"]);
  const aDir = await dataWithUsers(["ann@a.test"]);
  const b = await serveDomain(bDir, "example.org");
  const config = join(aDir, "mail.toml");
  await Deno.writeTextFile(
    config,
    [
      `route = ["*=127.0.0.1:${b.submissionPort}"]`,
      `smarthost-user = "ann@a.test"`,
      `smarthost-password-file = "${join(aDir, "pw")}"`,
    ].join("\n") + "\n",
  );
  const a = await serveDomain(aDir, "a.test");
  try {
    await submit(a, "ann@a.test", ["bob@example.org"], "via smarthost");
    const [msg] = await waitFor("delivery through the smarthost", async () => {
      const m = await storedMessages(bDir, "bob@example.org");
      return m.length > 0 ? m : undefined;
    });
    assert.ok(msg);
    await waitFor("A's queue to empty", async () => (await queueJson(aDir)).length === 0);
    // B's Received says the message came in over submission with AUTH (ESMTPA), from A.
    assert.match(
      headerText(msg),
      /^Received: from mx\.a\.test [^\r]*\r\n\tby mx\.example\.org with ESMTPA /m,
    );
    assert.match(a.log(), /Delivery attempt .*via=smarthost/);
    assert.doesNotMatch(a.log() + b.log(), new RegExp(PASSWORD));
  } finally {
    await a.stop();
    await b.stop();
    await Deno.remove(aDir, { recursive: true });
    await Deno.remove(bDir, { recursive: true });
  }
});
