/**
 * A receiving MX for the MTA-STS tests: just enough ESMTP (EHLO, STARTTLS when offered, MAIL,
 * RCPT, DATA, RSET, QUIT) on HOST:PORT, with a certificate of the test CA (or none), recording
 * every message and whether it came over TLS.
 *
 * @module
 */
import net from "node:net";
import tls from "node:tls";
import { readFixture } from "./_helpers.ts";

export interface MxOptions {
  /** 127.0.0.1 unless another loopback address is wanted (a second MX on the same port). */
  readonly host?: string;
  readonly port?: number;
  /** Offer STARTTLS with this fixture's certificate (`mx`, `wrong-name`); none: no STARTTLS. */
  readonly cert?: string | undefined;
}

export interface Received {
  readonly tls: boolean;
  readonly sender: string;
  readonly recipients: readonly string[];
  readonly data: string;
}

export interface TestMx {
  readonly port: number;
  readonly received: Received[];
  /** Connections so far. */
  connections: number;
  /** Resolves with the next message received (or one received since the last call). */
  nextMessage(): Promise<Received>;
  close(): Promise<void>;
}

export async function startMx(options: MxOptions = {}): Promise<TestMx> {
  const sockets = new Set<net.Socket>();
  let taken = 0;
  let wake: (() => void) | undefined;
  const mx: TestMx = {
    port: 0,
    received: [],
    connections: 0,
    async nextMessage() {
      while (mx.received.length <= taken) await new Promise<void>((r) => (wake = r));
      return mx.received[taken++]!;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const context = options.cert
    ? tls.createSecureContext({
      cert: readFixture(`${options.cert}.pem`),
      key: readFixture(`${options.cert}.key`),
    })
    : undefined;

  const server = net.createServer((plain) => {
    mx.connections++;
    sockets.add(plain);
    plain.on("close", () => sockets.delete(plain));
    plain.on("error", () => {});
    let socket: net.Socket = plain;
    let secure = false;
    let buffer = "";
    let inData = false;
    let data: string[] = [];
    let sender = "";
    let recipients: string[] = [];
    const send = (line: string) => socket.write(`${line}\r\n`);
    const onLine = (line: string) => {
      if (inData) {
        if (line === ".") {
          inData = false;
          mx.received.push({ tls: secure, sender, recipients, data: data.join("\r\n") });
          wake?.();
          send("250 2.0.0 Queued");
        } else data.push(line.startsWith(".") ? line.slice(1) : line);
        return;
      }
      const verb = line.slice(0, 4).toUpperCase();
      if (verb === "EHLO") {
        send(context && !secure ? "250-mx.example.test\r\n250 STARTTLS" : "250 mx.example.test");
      } else if (verb === "HELO") send("250 mx.example.test");
      else if (line.toUpperCase() === "STARTTLS" && context && !secure) {
        // Stop reading before the 220 goes out: the client's ClientHello may come at once, and
        // must reach the TLS socket, not the line reader.
        plain.removeAllListeners("data");
        plain.pause();
        socket.write("220 2.0.0 Go ahead\r\n", () => {
          const upgraded = new tls.TLSSocket(plain, { isServer: true, secureContext: context });
          upgraded.on("error", () => {/* the client refused our certificate */});
          upgraded.on("data", onData);
          socket = upgraded;
          secure = true;
          buffer = "";
        });
      } else if (verb === "MAIL") {
        sender = /<(.*)>/.exec(line)?.[1] ?? "";
        recipients = [];
        send("250 2.1.0 OK");
      } else if (verb === "RCPT") {
        recipients.push(/<(.*)>/.exec(line)?.[1] ?? "");
        send("250 2.1.5 OK");
      } else if (verb === "DATA") {
        inData = true;
        data = [];
        send("354 Go ahead");
      } else if (verb === "RSET") send("250 OK");
      else if (verb === "QUIT") {
        send("221 Bye");
        socket.end();
      } else send("502 5.5.2 Not implemented");
    };
    const onData = (chunk: Uint8Array) => {
      buffer += new TextDecoder().decode(chunk);
      for (let i = buffer.indexOf("\r\n"); i >= 0; i = buffer.indexOf("\r\n")) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        onLine(line);
      }
    };
    plain.on("data", onData);
    send("220 mx.example.test ESMTP test MX");
  });
  await new Promise<void>((r) =>
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => r())
  );
  (mx as { port: number }).port = (server.address() as net.AddressInfo).port;
  return mx;
}
