/**
 * What an IMAP client relies on across server restarts, seen by imapflow against the real
 * `mail serve` (a subprocess): UIDVALIDITY of every folder, UIDs (never reused, even the
 * highest after it was expunged), flags, mod-sequences (CHANGEDSINCE after a restart), and
 * what was acknowledged just before a `kill -9`: a delivery's 250 and an APPEND's APPENDUID.
 * (serve_imap_test.ts covers the same with imaplib over a restart and a kill after a session.)
 */
import assert from "node:assert/strict";
import { ImapFlow } from "imapflow";
import { mail, type ServeProcess, startServe, TEST_SERVE_FLAGS } from "../_helpers/mail_process.ts";
import { deliver } from "../_helpers/imap_clients.ts";

const ADDRESS = "alice@example.test";
const PASSWORD = "pw-alice";
const FLAGS = [...TEST_SERVE_FLAGS, "--allow-insecure-auth"];

/** A logged-in imapflow client of SERVE's plain IMAP listener (loopback, insecure auth allowed). */
async function connect(serve: ServeProcess): Promise<ImapFlow> {
  const flow = new ImapFlow({
    host: "127.0.0.1",
    port: serve.imapPort,
    secure: false,
    doSTARTTLS: false,
    auth: { user: ADDRESS, pass: PASSWORD },
    logger: false,
    disableAutoIdle: true,
    // Bounds on a stuck test (imapflow's own defaults are minutes).
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 60_000,
  });
  await flow.connect();
  return flow;
}

/** UIDVALIDITY of every folder, by name. */
async function validities(flow: ImapFlow): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const box of await flow.list({ statusQuery: { uidValidity: true } })) {
    out[box.path] = String(box.status?.uidValidity);
  }
  return out;
}

/** UID and flags of every message in PATH. */
async function contents(flow: ImapFlow, path: string): Promise<[number, string[]][]> {
  const lock = await flow.getMailboxLock(path);
  try {
    const out: [number, string[]][] = [];
    if (flow.mailbox && flow.mailbox.exists > 0) {
      for await (const m of flow.fetch("1:*", { uid: true, flags: true })) {
        out.push([m.uid, [...m.flags ?? []].sort()]);
      }
    }
    return out;
  } finally {
    lock.release();
  }
}

Deno.test("mail serve: UIDs, UIDVALIDITY, flags and mod-sequences survive restarts and kill -9 after a 250 or an APPENDUID", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mail-imap-restart-" });
  let serve: ServeProcess | undefined;
  const clients: ImapFlow[] = [];
  const session = async () => {
    const flow = await connect(serve!);
    clients.push(flow);
    return flow;
  };
  try {
    const added = await mail(["user", "add", ADDRESS, "--data", dir], { stdin: `${PASSWORD}\n` });
    assert.equal(added.code, 0, added.err);
    serve = await startServe(dir, FLAGS);

    // INBOX gets UIDs 1..3; 1 is flagged, 2 moves to Archive, 3 (the highest) is expunged.
    for (const n of [1, 2, 3]) {
      await deliver(serve.smtpPort, ADDRESS, `Subject: m${n}\r\n\r\nmessage ${n}\r\n`);
    }
    let flow = await session();
    const before = await validities(flow);
    assert.deepEqual(Object.keys(before).sort(), [
      "Archive",
      "Drafts",
      "INBOX",
      "Junk",
      "Sent",
      "Trash",
    ]);
    for (const v of Object.values(before)) assert.match(v, /^[1-9]\d*$/);
    await flow.mailboxOpen("INBOX");
    await flow.messageFlagsAdd("1", ["\\Flagged", "$Keep"], { uid: true });
    const moved = await flow.messageMove("2", "Archive", { uid: true });
    assert.ok(moved);
    assert.deepEqual([...moved.uidMap!], [[2, 1]]);
    await flow.messageDelete("3", { uid: true });
    const modseq = flow.mailbox && flow.mailbox.highestModseq;
    assert.ok(modseq);
    await flow.logout();

    // A clean restart.
    assert.equal(await serve.stop(), 0);
    serve = await startServe(dir, FLAGS);
    flow = await session();
    assert.deepEqual(await validities(flow), before);
    assert.deepEqual(await contents(flow, "INBOX"), [[1, ["$Keep", "\\Flagged"]]]);
    assert.deepEqual(await contents(flow, "Archive"), [[1, []]]);
    // APPEND answers APPENDUID; the server is killed right after it.
    const appended = await flow.append("Drafts", "Subject: draft\r\n\r\nunsent\r\n", ["\\Draft"]);
    assert.ok(appended);
    assert.equal(appended.uid, 1);
    await serve.kill();
    flow.close();

    // kill -9 right after a delivery's 250: nothing else happens in between.
    serve = await startServe(dir, FLAGS);
    await deliver(serve.smtpPort, ADDRESS, "Subject: m4\r\n\r\nmessage 4\r\n");
    await serve.kill();

    serve = await startServe(dir, FLAGS);
    flow = await session();
    assert.deepEqual(await validities(flow), before);
    // UID 3 is not given again (RFC 9051 §2.3.1.1): the delivery got 4.
    assert.deepEqual(await contents(flow, "INBOX"), [[1, ["$Keep", "\\Flagged"]], [4, []]]);
    assert.deepEqual(await contents(flow, "Drafts"), [[appended.uid, ["\\Draft"]]]);
    const inbox = await flow.mailboxOpen("INBOX");
    assert.equal(inbox.uidNext, 5);
    assert.equal(inbox.uidValidity, BigInt(before.INBOX!));
    // Mod-sequences went on from where they were: CHANGEDSINCE the old one is the new message.
    assert.ok(inbox.highestModseq! > modseq, `${inbox.highestModseq} after ${modseq}`);
    const changed = [];
    for await (const m of flow.fetch("1:*", { uid: true }, { uid: true, changedSince: modseq })) {
      changed.push(m.uid);
    }
    assert.deepEqual(changed, [4]);
    // Archive, after its only message: the next APPEND is UID 2.
    const next = await flow.append("Archive", "Subject: later\r\n\r\nlater\r\n");
    assert.ok(next);
    assert.equal(next.uid, 2);
    await flow.logout();
    assert.equal(await serve.stop(), 0);
    serve = undefined;
  } finally {
    for (const c of clients) c.close();
    if (serve) await serve.kill();
    await Deno.remove(dir, { recursive: true });
  }
});
