/**
 * A scripted SMTP server for client tests: it plays a list of steps on each connection,
 * sending server lines and checking that the client's lines are exactly the expected ones, so
 * a test sees every byte the client wrote (dot-stuffing, CRLF, pipelining, redaction).
 *
 * Steps:
 * - `S: text` a server line (consecutive ones go out in one write, as a pipelined server does);
 * - `RAW: "json string"` server bytes as they are, no CRLF added (in the same write as the
 *   server lines around it: a partial line, or junk after a reply);
 * - `C: text` the next client line must be exactly this (a trailing `*` matches a prefix);
 * - `TLS` upgrade to TLS with the test certificate (after a `S: 220` to STARTTLS);
 * - `CLOSE` drop the connection.
 *
 * @module
 */
import net from "node:net";
import tls from "node:tls";

const FIXTURES = new URL("../fixtures/tls/", import.meta.url);
export const TEST_CERT = new URL("cert.pem", FIXTURES).pathname;
export const TEST_KEY = new URL("key.pem", FIXTURES).pathname;

export type FakeStep =
  | { kind: "send"; line: string; raw?: boolean }
  | { kind: "expect"; line: string; prefix: boolean }
  | { kind: "tls" }
  | { kind: "close" };

/** Parses the S:/C:/TLS/CLOSE lines of a script; `#` lines and blank lines are comments. */
export function parseScript(text: string): FakeStep[] {
  const steps: FakeStep[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "");
    if (line.trim() === "" || line.startsWith("#")) continue;
    if (line === "TLS") steps.push({ kind: "tls" });
    else if (line === "CLOSE") steps.push({ kind: "close" });
    else if (line.startsWith("RAW: ")) {
      steps.push({ kind: "send", line: JSON.parse(line.slice(5)) as string, raw: true });
    } else if (line.startsWith("S: ") || line === "S:") {
      steps.push({ kind: "send", line: line.slice(3) });
    } else if (line.startsWith("C: ") || line === "C:") {
      const body = line.slice(3);
      steps.push(
        body.endsWith("*") && body.length > 1
          ? { kind: "expect", line: body.slice(0, -1), prefix: true }
          : { kind: "expect", line: body, prefix: false },
      );
    }
  }
  return steps;
}

export interface FakeServer {
  readonly port: number;
  /** Mismatches and errors seen so far (empty when the client followed the script). */
  readonly problems: string[];
  /** Every line the client sent, in order, across connections. */
  readonly received: string[];
  close(): Promise<void>;
}

/** Line reader over a socket that can be swapped for its TLS wrapper. */
class Lines {
  #buf = "";
  #waiting: (() => void) | undefined;
  #ended = false;

  attach(socket: net.Socket): void {
    socket.on("data", (d: Uint8Array) => {
      this.#buf += new TextDecoder().decode(d);
      this.#waiting?.();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#waiting?.();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#waiting?.();
    });
  }

  async next(): Promise<string | undefined> {
    for (;;) {
      const i = this.#buf.indexOf("\r\n");
      if (i >= 0) {
        const line = this.#buf.slice(0, i);
        this.#buf = this.#buf.slice(i + 2);
        return line;
      }
      if (this.#ended) return undefined;
      await new Promise<void>((r) => (this.#waiting = r));
      this.#waiting = undefined;
    }
  }

  /** Bytes received but not read as lines (must be none when TLS starts). */
  drain(): string {
    const b = this.#buf;
    this.#buf = "";
    return b;
  }
}

const write = (s: net.Socket, text: string) =>
  new Promise<void>((resolve) => s.write(text, () => resolve()));

async function play(socket: net.Socket, steps: readonly FakeStep[], server: FakeServer) {
  let sock = socket;
  const lines = new Lines();
  lines.attach(sock);
  let out: string[] = [];
  const flush = async () => {
    if (out.length > 0) await write(sock, out.join(""));
    out = [];
  };
  for (const step of steps) {
    if (step.kind === "send") {
      out.push(step.raw ? step.line : `${step.line}\r\n`);
      continue;
    }
    await flush();
    if (step.kind === "close") {
      sock.destroy();
      return;
    }
    if (step.kind === "tls") {
      const early = lines.drain();
      if (early) server.problems.push(`client sent before the TLS handshake: ${early}`);
      sock.removeAllListeners("data");
      sock.pause();
      const ctx = tls.createSecureContext({
        cert: Deno.readTextFileSync(TEST_CERT),
        key: Deno.readTextFileSync(TEST_KEY),
      });
      const secure = new tls.TLSSocket(sock, { isServer: true, secureContext: ctx });
      secure.on("error", () => {/* the client gave up on the certificate */});
      sock = secure;
      lines.attach(secure);
      continue;
    }
    const got = await lines.next();
    if (got === undefined) {
      server.problems.push(`expected ${JSON.stringify(step.line)}, connection closed`);
      return;
    }
    server.received.push(got);
    const ok = step.prefix ? got.startsWith(step.line) : got === step.line;
    if (!ok) {
      server.problems.push(`expected ${JSON.stringify(step.line)}, got ${JSON.stringify(got)}`);
    }
  }
  await flush();
  sock.end();
}

/** Starts a server on 127.0.0.1:0 that plays STEPS on every connection. */
export async function startFakeServer(steps: readonly FakeStep[] | string): Promise<FakeServer> {
  const script = typeof steps === "string" ? parseScript(steps) : steps;
  const sockets = new Set<net.Socket>();
  const done: Promise<void>[] = [];
  const srv = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    done.push(
      play(socket, script, server).catch((err) => {
        server.problems.push(`server error: ${err}`);
      }),
    );
  });
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", () => resolve()));
  const server: FakeServer = {
    port: (srv.address() as net.AddressInfo).port,
    problems: [],
    received: [],
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all(done);
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    },
  };
  return server;
}
