/**
 * A crowd of clients from many loopback addresses sending wrong passwords at once, against a
 * live server on port 0: every attempt is answered (535, or 454 when the password checks are
 * all taken and the queue is full or waited too long), the server keeps serving others
 * meanwhile, and the right password still logs in afterwards.
 *
 * The clients bind distinct 127.0.0.0/8 source addresses, so each counts as its own client.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { defaults, type ServeConfig } from "../../src/config.ts";
import { AuthLimiter } from "../../src/server/auth_limiter.ts";
import { LocalBackend } from "../../src/server/local_backend.ts";
import { MailServer } from "../../src/server/server.ts";
import { bounded, ManualClock, until } from "../_helpers/clock.ts";
import { startLiveServer } from "../_helpers/live_server.ts";
import { MemorySink } from "../_helpers/memory_sink.ts";
import {
  TEST_DOMAIN,
  TEST_HOSTNAME,
  TEST_PASSWORD,
  TEST_USERS,
  testGuard,
  testPasswordHash,
} from "../_helpers/session_peer.ts";

const WRONG = `AUTH PLAIN ${btoa("\0alice@example.test\0guess")}`;
const RIGHT = `AUTH PLAIN ${btoa(`\0alice@example.test\0${TEST_PASSWORD}`)}`;
const BUSY = "454 4.7.0 Temporary authentication failure";
const INVALID = "535 5.7.8 Authentication credentials invalid";

/** An SMTP client over node:net, so that it can pick its source address. */
class Client {
  readonly #socket: net.Socket;
  #buf = "";
  #ended = false;
  #wake: (() => void) | undefined;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => {
      this.#buf += d;
      this.#wake?.();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#wake?.();
    });
    socket.on("error", () => {});
  }

  /** Connects from LOCAL (a 127.0.0.0/8 address) and reads the greeting. */
  static async connect(port: number, local: string): Promise<Client> {
    const socket = net.createConnection({ host: "127.0.0.1", port, localAddress: local });
    await bounded(
      new Promise<void>((resolve, reject) => {
        socket.once("connect", resolve);
        socket.once("error", reject);
      }),
      `a connection from ${local}`,
    );
    const client = new Client(socket);
    assert.match(await client.reply(), /^220 /);
    return client;
  }

  /** The last line of the next whole reply. */
  reply(): Promise<string> {
    return bounded(this.#reply(), "a reply");
  }

  async #reply(): Promise<string> {
    for (;;) {
      const m = /^(?:\d{3}-[^\r\n]*\r\n)*(\d{3}(?: [^\r\n]*)?)\r\n/.exec(this.#buf);
      if (m) {
        this.#buf = this.#buf.slice(m[0].length);
        return m[1]!;
      }
      if (this.#ended) throw new Error(`Connection closed; got ${JSON.stringify(this.#buf)}`);
      await new Promise<void>((r) => (this.#wake = r));
    }
  }

  async command(line: string): Promise<string> {
    this.#socket.write(line + "\r\n");
    return await this.reply();
  }

  close(): void {
    this.#socket.destroy();
  }
}

/** Clients from ADDRESSES loopback addresses, PER each, past their EHLO. */
async function crowd(port: number, addresses: number, per: number): Promise<Client[]> {
  const clients: Client[] = [];
  for (let a = 0; a < addresses; a++) {
    for (let k = 0; k < per; k++) {
      const c = await Client.connect(port, `127.0.${1 + a}.${10 + k}`);
      assert.match(await c.command("EHLO crowd.test"), /^250 /);
      clients.push(c);
    }
  }
  return clients;
}

/** A server whose backend uses LIMITER, with the test users in memory. */
async function serverWith(limiter: AuthLimiter) {
  const sink = new MemorySink(TEST_USERS);
  const hash = await testPasswordHash();
  for (const u of TEST_USERS) sink.passwords.set(u, hash);
  const config: ServeConfig = {
    ...defaults("/nonexistent", TEST_HOSTNAME),
    domains: [TEST_DOMAIN],
    smtp: undefined,
    submission: { host: "127.0.0.1", port: 0 },
    allowInsecureAuth: true,
  };
  const backend = new LocalBackend(
    sink,
    { domains: [TEST_DOMAIN], catchAll: false },
    testGuard(),
    undefined,
    undefined,
    limiter,
  );
  const server = new MailServer(config, backend);
  const [bound] = await server.listen();
  return { server, port: bound!.port };
}

/** Holds every turn of LIMITER until the returned function is called. */
function holdTurns(limiter: AuthLimiter, turns: number): () => Promise<void> {
  const gate = Promise.withResolvers<void>();
  const held = Array.from({ length: turns }, () => limiter.run(() => gate.promise));
  return async () => {
    gate.resolve();
    await Promise.all(held);
  };
}

/** Whether the server still serves a new client while the crowd waits. */
async function assertResponsive(port: number): Promise<void> {
  const other = await Client.connect(port, "127.0.200.1");
  assert.match(await other.command("EHLO other.test"), /^250 /);
  assert.match(await other.command("NOOP"), /^250 /);
  assert.match(await other.command("QUIT"), /^221 /);
  other.close();
}

Deno.test("auth flood: past the checks and the queue, attempts get 454 at once; the rest 535; then a login works", async () => {
  const limiter = new AuthLimiter({ concurrency: 2, maxWaiting: 8 });
  const { server, port } = await serverWith(limiter);
  const clients = await crowd(port, 10, 3);
  try {
    const release = holdTurns(limiter, 2);
    const answers: string[] = [];
    const replies = clients.map((c) => c.command(WRONG).then((r) => (answers.push(r), r)));
    // Both checks are busy: 8 attempts wait their turn, the other 22 are refused at once.
    await until(() => answers.length === 22 && limiter.waiting === 8, "the queue to fill");
    assert.deepEqual(answers, Array(22).fill(BUSY));
    await assertResponsive(port);
    await release();
    const all = await Promise.all(replies);
    assert.equal(all.filter((r) => r === INVALID).length, 8, all.join("\n"));
    assert.equal(all.filter((r) => r === BUSY).length, 22, all.join("\n"));
    // A 454 is temporary: the same client tries again, with the right password.
    const retry = clients[all.indexOf(BUSY)]!;
    assert.equal(await retry.command(RIGHT), "235 2.7.0 Authentication successful");
    assert.equal(limiter.running + limiter.waiting, 0);
  } finally {
    for (const c of clients) c.close();
    await server.close(1000);
  }
});

Deno.test("auth flood: attempts that wait past the limit get 454, and the queue moves on", async () => {
  const clock = new ManualClock();
  const limiter = new AuthLimiter(
    { concurrency: 1, maxWaiting: 100, waitMs: 300_000 },
    clock.deadlines,
  );
  const { server, port } = await serverWith(limiter);
  const clients = await crowd(port, 5, 2);
  try {
    const release = holdTurns(limiter, 1);
    const replies = clients.map((c) => c.command(WRONG));
    await until(() => limiter.waiting === 10, "every attempt to wait");
    clock.advance(299_999);
    assert.equal(limiter.waiting, 10);
    clock.advance(1);
    assert.deepEqual(await Promise.all(replies), Array(10).fill(BUSY));
    await release();
    const late = await Client.connect(port, "127.0.9.9");
    await late.command("EHLO late.test");
    assert.equal(await late.command(RIGHT), "235 2.7.0 Authentication successful");
    late.close();
  } finally {
    for (const c of clients) c.close();
    await server.close(1000);
  }
});

Deno.test("auth flood: with the default limits, every wrong attempt is answered and a login works after", async () => {
  const live = await startLiveServer({ allowInsecureAuth: true });
  const clients = await crowd(live.submissionPort, 6, 4);
  try {
    const [replies] = await Promise.all([
      Promise.all(clients.map((c) => c.command(WRONG))),
      // Served while the checks run.
      assertResponsive(live.submissionPort),
    ]);
    for (const r of replies) assert.ok(r === INVALID || r === BUSY, r);
    const again = await Client.connect(live.submissionPort, "127.0.1.10");
    await again.command("EHLO again.test");
    assert.equal(await again.command(RIGHT), "235 2.7.0 Authentication successful");
    again.close();
  } finally {
    for (const c of clients) c.close();
    await live.close();
  }
});
