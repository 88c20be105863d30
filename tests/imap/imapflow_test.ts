/**
 * `mail serve`'s IMAP listeners driven by an independent client library, imapflow (npm): login
 * over implicit TLS and over STARTTLS with the certificate verified, LIST with special-use
 * folders, FETCH byte for byte what SMTP delivered, envelope and structure, flags set and
 * cleared, MOVE, folders created and renamed, APPEND, and a delivery announced in IDLE.
 */
import assert from "node:assert/strict";
import { ImapFlow, type ImapFlowOptions, type StatusObject, type StatusQuery } from "imapflow";
import { startLiveServer } from "../_helpers/live_server.ts";
import { TEST_PASSWORD } from "../_helpers/session_peer.ts";
import { CA_PEM, deliver, fixtureTls } from "../_helpers/imap_clients.ts";
import { bounded } from "../_helpers/clock.ts";

const tls = fixtureTls();

/** An imapflow client that keeps the lines both sides said, to wait for and check. */
class Client {
  readonly said: { src: "c" | "s"; msg: string }[] = [];
  readonly flow: ImapFlow;
  #waiters: (() => void)[] = [];

  constructor(options: ImapFlowOptions) {
    const record = (entry: { src?: string; msg?: string }) => {
      if ((entry.src === "c" || entry.src === "s") && typeof entry.msg === "string") {
        this.said.push({ src: entry.src, msg: entry.msg });
        for (const w of this.#waiters.splice(0)) w();
      }
    };
    const ignore = () => {};
    this.flow = new ImapFlow({
      host: "127.0.0.1",
      auth: { user: "alice@example.test", pass: TEST_PASSWORD },
      tls: { ca: [CA_PEM] },
      // Bounds on a stuck test (imapflow's own defaults are minutes).
      connectionTimeout: 30_000,
      greetingTimeout: 30_000,
      socketTimeout: 60_000,
      // FETCH responses log at trace.
      logger: { trace: record, debug: record, info: record, warn: ignore, error: ignore },
      ...options,
    });
  }

  /** Resolves once the server has said a line matching RE (bounded). */
  async serverSays(re: RegExp): Promise<string> {
    return await bounded(
      (async () => {
        for (;;) {
          const hit = this.said.find((l) => l.src === "s" && re.test(l.msg));
          if (hit) return hit.msg;
          await new Promise<void>((r) => this.#waiters.push(r));
        }
      })(),
      `the server to say ${re}`,
    );
  }

  /** The commands the client sent (without tags). */
  commands(): string[] {
    return this.said.filter((l) => l.src === "c").map((l) => l.msg.replace(/^\S+ /, ""));
  }
}

const decode = (b: Uint8Array) => new TextDecoder("latin1").decode(b);

/** STATUS, failing the test when imapflow reports a failure as `false`. */
async function status(flow: ImapFlow, path: string, query: StatusQuery): Promise<StatusObject> {
  const st = await flow.status(path, query);
  assert.ok(st, `STATUS ${path} failed`);
  return st;
}

Deno.test("imapflow: TLS and STARTTLS, LIST, FETCH byte for byte, flags, MOVE, folders, APPEND", async () => {
  const live = await startLiveServer({}, tls, undefined, { imap: true, imaps: true });
  const clients: Client[] = [];
  try {
    await deliver(
      live.port,
      "alice@example.test",
      "Subject: first\r\nFrom: Bob <bob@remote.test>\r\nTo: alice@example.test\r\n\r\n" +
        "The needle is here.\r\n.dot line\r\n",
    );
    await deliver(
      live.port,
      "alice@example.test",
      "Subject: second\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
        "--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\nContent-Type: text/html\r\n\r\n" +
        "<p>hello</p>\r\n--b--\r\n",
    );
    const stored = live.messages().map(decode);

    // Implicit TLS (RFC 8314), the certificate checked against the fixture CA.
    const a = new Client({ port: live.imapsPort, secure: true });
    clients.push(a);
    await a.flow.connect();
    assert.ok(a.flow.secureConnection);
    assert.ok(a.flow.authenticated);

    const boxes = await a.flow.list();
    const uses = Object.fromEntries(boxes.map((b) => [b.path, b.specialUse ?? ""]));
    assert.deepEqual(uses, {
      INBOX: "\\Inbox",
      Sent: "\\Sent",
      Drafts: "\\Drafts",
      Archive: "\\Archive",
      Junk: "\\Junk",
      Trash: "\\Trash",
    });

    const inbox = await a.flow.mailboxOpen("INBOX");
    assert.equal(inbox.exists, 2);
    assert.equal(inbox.uidNext, 3);
    const uidValidity = inbox.uidValidity;

    const fetched = [];
    for await (
      const m of a.flow.fetch("1:*", {
        uid: true,
        flags: true,
        source: true,
        envelope: true,
        bodyStructure: true,
        size: true,
      })
    ) fetched.push(m);
    assert.deepEqual(fetched.map((m) => m.uid), [1, 2]);
    // BODY.PEEK[] is the stored message, octet for octet, and its RFC822.SIZE is that length.
    assert.deepEqual(fetched.map((m) => decode(m.source!)), stored);
    assert.deepEqual(fetched.map((m) => m.size), live.messages().map((b) => b.length));
    assert.equal(fetched[0]!.envelope!.subject, "first");
    assert.deepEqual(fetched[0]!.envelope!.from, [{ name: "Bob", address: "bob@remote.test" }]);
    assert.equal(fetched[1]!.bodyStructure!.type, "multipart/mixed");
    assert.deepEqual(
      fetched[1]!.bodyStructure!.childNodes!.map((n) => n.type),
      ["text/plain", "text/html"],
    );
    // imapflow fetches with BODY.PEEK: nothing was marked \Seen.
    assert.deepEqual(fetched.map((m) => [...m.flags!]), [[], []]);

    // A part by its section number.
    const part = await a.flow.download("2", "2", { uid: true });
    const chunks: Uint8Array[] = [];
    assert.ok(part.content);
    for await (const c of part.content) chunks.push(c);
    assert.equal(decode(new Uint8Array(Buffer.concat(chunks))), "<p>hello</p>");

    // Flags: set, cleared, a keyword; seen by the store (mail inbox) too.
    assert.ok(
      await a.flow.messageFlagsAdd("1", ["\\Seen", "\\Flagged", "$Important"], { uid: true }),
    );
    assert.ok(await a.flow.messageFlagsRemove("1", ["\\Flagged"], { uid: true }));
    const one = await a.flow.fetchOne("1", { flags: true }, { uid: true });
    assert.ok(one);
    assert.deepEqual([...one.flags!].sort(), ["$Important", "\\Seen"]);
    assert.equal(live.store.count("alice@example.test").unseen, 1);

    // MOVE (RFC 6851) with COPYUID: UID 2 becomes Archive's UID 1.
    const moved = await a.flow.messageMove("2", "Archive", { uid: true });
    assert.ok(moved);
    assert.equal(moved.destination, "Archive");
    assert.deepEqual([...moved.uidMap!], [[2, 1]]);
    assert.ok(a.commands().includes("UID MOVE 2 Archive"), a.commands().join("\n"));
    assert.equal(a.flow.mailbox && a.flow.mailbox.exists, 1);

    // Folders: create, rename, append with flags, delete.
    await a.flow.mailboxCreate(["Projects", "Mail"]);
    await a.flow.mailboxRename("Projects/Mail", "Projects/Post");
    const appended = await a.flow.append(
      "Projects/Post",
      "Subject: draft\r\n\r\nunfinished\r\n",
      ["\\Draft"],
    );
    assert.ok(appended);
    assert.equal(appended.uid, 1);
    const post = await status(a.flow, "Projects/Post", { messages: true, uidNext: true });
    assert.equal(post.messages, 1);
    assert.equal(post.uidNext, 2);
    const paths = (await a.flow.list()).map((b) => b.path);
    assert.ok(paths.includes("Projects/Post") && !paths.includes("Projects/Mail"), paths.join());
    await a.flow.mailboxDelete("Projects/Post");
    assert.ok(!(await a.flow.list()).some((b) => b.path === "Projects/Post"));

    // STARTTLS (RFC 9051 §6.2.1) required by the client, certificate checked; a second session
    // sees the first one's changes.
    const b = new Client({ port: live.imapPort, secure: false, doSTARTTLS: true });
    clients.push(b);
    await b.flow.connect();
    assert.ok(b.commands().includes("STARTTLS"), b.commands().join("\n"));
    const archive = await status(b.flow, "Archive", { messages: true, uidValidity: true });
    assert.equal(archive.messages, 1);
    const again = await b.flow.mailboxOpen("INBOX");
    assert.equal(again.uidValidity, uidValidity);
    const flags = await b.flow.fetchOne("1", { flags: true, uid: true });
    assert.ok(flags);
    assert.equal(flags.uid, 1);
    assert.deepEqual([...flags.flags!].sort(), ["$Important", "\\Seen"]);

    await a.flow.logout();
    await b.flow.logout();
  } finally {
    for (const c of clients) c.flow.close();
    await live.close();
  }
});

Deno.test("imapflow: a delivery over SMTP is announced in IDLE; flags from another session too", async () => {
  const live = await startLiveServer({ allowInsecureAuth: true }, tls, undefined, { imap: true });
  const clients: Client[] = [];
  try {
    await deliver(live.port, "alice@example.test", "Subject: old\r\n\r\nalready here\r\n");
    // Plain IMAP from loopback with allowInsecureAuth (the client must not try STARTTLS).
    const watcher = new Client({
      port: live.imapPort,
      secure: false,
      doSTARTTLS: false,
      disableAutoIdle: true,
    });
    clients.push(watcher);
    await watcher.flow.connect();
    await watcher.flow.mailboxOpen("INBOX");

    const exists = Promise.withResolvers<number>();
    watcher.flow.on("exists", (e: { count: number }) => exists.resolve(e.count));
    const flagged = Promise.withResolvers<string[]>();
    watcher.flow.on("flags", (e: { flags: Set<string> }) => flagged.resolve([...e.flags]));

    const idle = watcher.flow.idle();
    // Deliver only once the server has accepted IDLE, so the news must come unasked.
    await watcher.serverSays(/^\+ /);
    await deliver(live.port, "alice@example.test", "Subject: ping\r\n\r\nnew mail\r\n");
    assert.equal(await bounded(exists.promise, "the EXISTS in IDLE"), 2);

    // Another session flags message 1: the idling one is told (RFC 9051 §7.5.2 FETCH).
    const other = new Client({
      port: live.imapPort,
      secure: false,
      doSTARTTLS: false,
      disableAutoIdle: true,
    });
    clients.push(other);
    await other.flow.connect();
    await other.flow.mailboxOpen("INBOX");
    await other.flow.messageFlagsAdd("1", ["\\Flagged"], { uid: true });
    assert.deepEqual(await bounded(flagged.promise, "the FETCH FLAGS in IDLE"), ["\\Flagged"]);

    // A command after IDLE ends it with DONE (imapflow does this by itself).
    const st = await status(watcher.flow, "INBOX", { messages: true });
    assert.equal(st.messages, 2);
    await bounded(idle, "IDLE to end");
    // Both came unasked, while the client was in IDLE.
    const said = watcher.said.map((l) => `${l.src} ${l.msg}`);
    const from = said.indexOf("s + idling");
    const done = said.indexOf("c DONE");
    assert.ok(from >= 0 && done > from, said.join("\n"));
    const during = said.slice(from, done);
    assert.ok(during.includes("s * 2 EXISTS"), said.join("\n"));
    assert.ok(during.some((l) => /^s \* 1 FETCH \(.*FLAGS \(\\Flagged\)/.test(l)), said.join("\n"));
    await watcher.flow.logout();
    await other.flow.logout();
  } finally {
    for (const c of clients) c.flow.close();
    await live.close();
  }
});

Deno.test("imapflow with QRESYNC: an expunge by another session comes as VANISHED in IDLE; a reselect is told what vanished", async () => {
  const live = await startLiveServer({ allowInsecureAuth: true }, tls, undefined, { imap: true });
  const clients: Client[] = [];
  const plain = { port: live.imapPort, secure: false, doSTARTTLS: false, disableAutoIdle: true };
  try {
    for (const n of [1, 2, 3]) {
      await deliver(live.port, "alice@example.test", `Subject: m${n}\r\n\r\nmessage ${n}\r\n`);
    }
    const watcher = new Client({ ...plain, qresync: true });
    const other = new Client(plain);
    clients.push(watcher, other);
    await watcher.flow.connect();
    assert.ok(
      watcher.commands().some((c) => /^ENABLE .*QRESYNC/.test(c)),
      watcher.commands().join("\n"),
    );
    const opened = await watcher.flow.mailboxOpen("INBOX");
    const modseq = opened.highestModseq!;
    const uidValidity = opened.uidValidity;
    const gone = Promise.withResolvers<{ uid?: number; vanished: boolean }>();
    watcher.flow.on("expunge", (e: { uid?: number; vanished: boolean }) => gone.resolve(e));
    const idle = watcher.flow.idle();
    await watcher.serverSays(/^\+ /);

    await other.flow.connect();
    await other.flow.mailboxOpen("INBOX");
    assert.ok(await other.flow.messageDelete("2", { uid: true }));
    // RFC 7162 §3.2.10: with QRESYNC enabled, expunges are told as VANISHED, by UID.
    const e = await bounded(gone.promise, "the VANISHED in IDLE");
    assert.deepEqual({ uid: e.uid, vanished: e.vanished }, { uid: 2, vanished: true });
    await watcher.flow.mailboxClose();
    await bounded(idle, "IDLE to end");

    // SELECT (QRESYNC (uidvalidity modseq)): what changed since, and VANISHED (EARLIER).
    await other.flow.messageFlagsAdd("3", ["\\Answered"], { uid: true });
    await watcher.flow.mailboxOpen("INBOX", { changedSince: modseq, uidValidity });
    const said = watcher.said.map((l) => `${l.src} ${l.msg}`);
    const select = said.findLastIndex((l) => /^c \S+ SELECT INBOX \(QRESYNC/.test(l));
    assert.ok(select >= 0, said.join("\n"));
    const reply = said.slice(select);
    assert.ok(reply.includes("s * VANISHED (EARLIER) 2"), reply.join("\n"));
    assert.ok(reply.some((l) => /^s \* 2 FETCH \(.*UID 3.*\\Answered/.test(l)), reply.join("\n"));
    await watcher.flow.logout();
    await other.flow.logout();
  } finally {
    for (const c of clients) c.flow.close();
    await live.close();
  }
});
