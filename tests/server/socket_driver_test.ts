/**
 * The shared socket driver under a toy protocol (one text answer per input), over a real socket
 * on port 0: what it does for every protocol alike, apart from any protocol's own rules.
 */
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { getLogger, Logger, type LogProperties } from "../../src/log.ts";
import type { DeadlineSweeper } from "../../src/server/deadlines.ts";
import {
  type DriverSession,
  LINGER_MS,
  SocketDriver,
  writeLastWords,
} from "../../src/server/socket_driver.ts";
import { bounded, ioTurn, ManualClock, until } from "../_helpers/clock.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

interface ToyOutput {
  readonly write: string;
  readonly close?: boolean;
}

/** Answers each input through ANSWER; records what it was given. */
class ToySession implements DriverSession<ToyOutput> {
  readonly inputs: string[] = [];
  constructor(readonly answer: (input: string) => ToyOutput | Promise<ToyOutput>) {}
  receive(input: Uint8Array): ToyOutput | Promise<ToyOutput> {
    const text = dec.decode(input);
    this.inputs.push(text);
    return this.answer(text);
  }
  timeout(): ToyOutput {
    return { write: "BYE timeout\r\n", close: true };
  }
  shutdown(): ToyOutput {
    return { write: "BYE shutdown\r\n", close: true };
  }
  tlsStarted(): void {}
}

class ToyDriver extends SocketDriver<ToySession, ToyOutput> {
  protected readonly sessionName = "toy session";
  constructor(socket: Socket, session: ToySession, deadlines: DeadlineSweeper, log: Logger) {
    super(socket, deadlines, log, undefined);
    this.session = session;
  }
  start(): void {
    this.begin();
  }
  /** Input waiting for the session, and whether reading is paused: what the tests watch. */
  get queued(): number {
    return this.queue.length;
  }
  get paused(): boolean {
    return this.socket.isPaused();
  }
  protected expire(): void {}
  protected handshakeMs(): number {
    return 1000;
  }
  protected settled(): void {}
  protected write(out: ToyOutput): void {
    this.socket.write(out.write);
  }
  protected writeLast(out: ToyOutput, flushed: () => void): void {
    writeLastWords(this.socket, [out.write], flushed);
  }
  protected internalError(): ToyOutput {
    return { write: "BYE internal error\r\n", close: true };
  }
}

/** A logger that keeps its error lines. */
class Recorder extends Logger {
  readonly errors: { message: string; properties: LogProperties | undefined }[] = [];
  constructor() {
    super("test");
  }
  override error(message: string, properties?: LogProperties): void {
    this.errors.push({ message, properties });
  }
}

/** One toy driver behind a listener on 127.0.0.1:0, and a client connected to it. */
async function connect(session: ToySession, log: Logger = getLogger(["test"])) {
  const clock = new ManualClock();
  const { promise: accepted, resolve } = Promise.withResolvers<ToyDriver>();
  const server: Server = createServer((socket) => {
    const driver = new ToyDriver(socket, session, clock.deadlines, log);
    driver.start();
    resolve(driver);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address();
  assert.ok(address && typeof address === "object");
  const client = await Deno.connect({ hostname: "127.0.0.1", port: address.port });
  const driver = await bounded(accepted, "the connection");
  /** Everything the client reads until the server closes. */
  const readAll = async () => {
    const chunks: Uint8Array[] = [];
    for await (const c of client.readable) chunks.push(c);
    return chunks.map((c) => dec.decode(c)).join("");
  };
  const close = async () => {
    driver.destroy();
    await bounded(driver.closed, "the socket's close");
    await new Promise<void>((r) => server.close(() => r()));
  };
  return { clock, driver, client, readAll, close };
}

Deno.test("socket driver: while the session is busy, input queues and reading pauses at four buffers, then all of it is answered in order", async () => {
  const pending = Promise.withResolvers<ToyOutput>();
  const session = new ToySession((input) =>
    input === "0" ? pending.promise : { write: `ok ${input}\r\n` }
  );
  const { driver, client, readAll, close } = await connect(session);
  await client.write(enc.encode("0"));
  await until(() => session.inputs.length === 1, "the first input");
  for (let i = 1; i <= 4; i++) {
    await client.write(enc.encode(String(i)));
    await until(() => driver.queued === i, `input ${i} queued`);
    // Held back by TCP, not by our memory, once the queue is full.
    assert.equal(driver.paused, i === 4);
  }
  assert.deepEqual(session.inputs, ["0"]);
  pending.resolve({ write: "ok 0\r\n" });
  await until(() => session.inputs.length === 5, "the queued input");
  assert.deepEqual(session.inputs, ["0", "1", "2", "3", "4"]);
  assert.equal(driver.queued, 0);
  assert.equal(driver.paused, false);
  driver.requestClose();
  assert.equal(
    await bounded(readAll(), "the answers"),
    "ok 0\r\nok 1\r\nok 2\r\nok 3\r\nok 4\r\nBYE shutdown\r\n",
  );
  await close();
});

Deno.test("socket driver: a shutdown asked for while the session is busy comes after its answer", async () => {
  const pending = Promise.withResolvers<ToyOutput>();
  const session = new ToySession(() => pending.promise);
  const { driver, client, readAll, close } = await connect(session);
  await client.write(enc.encode("slow"));
  await until(() => session.inputs.length === 1, "the input");
  driver.requestClose();
  pending.resolve({ write: "ok slow\r\n" });
  assert.equal(await bounded(readAll(), "the answers"), "ok slow\r\nBYE shutdown\r\n");
  await bounded(driver.finished, "the last words flushed");
  await close();
});

Deno.test("socket driver: an exception in the session gets the protocol's last words and a logged stack, then the close", async () => {
  const log = new Recorder();
  const session = new ToySession(() => {
    throw new Error("Boom: a bug");
  });
  const { client, readAll, close } = await connect(session, log);
  await client.write(enc.encode("anything"));
  assert.equal(await bounded(readAll(), "the last words"), "BYE internal error\r\n");
  assert.equal(log.errors.length, 1);
  assert.equal(log.errors[0]!.message, "Internal error in toy session");
  assert.equal(log.errors[0]!.properties?.error, "Boom: a bug");
  assert.match(String(log.errors[0]!.properties?.stack), /Boom: a bug\n\s+at /);
  await close();
});

Deno.test("socket driver: last words a peer never reads keep the socket open for the linger only", async () => {
  // More than loopback's socket buffers hold: the write stays pending while the client reads nothing.
  const flood = "x".repeat(32 * 1024 * 1024);
  const session = new ToySession(() => ({ write: flood, close: true }));
  const { clock, driver, client, close } = await connect(session);
  await client.write(enc.encode("flood me"));
  await until(() => session.inputs.length === 1, "the input");
  let closed = false;
  void driver.closed.then(() => closed = true);
  clock.advance(LINGER_MS - 1);
  await ioTurn();
  assert.equal(closed, false);
  clock.advance(1);
  await bounded(driver.closed, "the close after the linger");
  client.close();
  await close();
});
