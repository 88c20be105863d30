/**
 * A small SMTP server on 127.0.0.1 whose replies a test decides per connection: 450 to RCPT
 * on the first connection and 250 on the next, 550 for one recipient, or no reply at all after
 * the data (a delivery caught in flight). It speaks just enough ESMTP (EHLO, PIPELINING, MAIL,
 * RCPT, DATA, RSET, QUIT) for our client and records every transaction.
 *
 * @module
 */
import net from "node:net";

/** A transaction as received. */
export interface ReceivedMail {
  readonly connection: number;
  readonly sender: string;
  readonly recipients: readonly string[];
  /** The message with dot-stuffing undone, CRLF line ends. */
  readonly data: string;
}

export interface MtaPolicy {
  /** The reply to `RCPT TO:<recipient>` on connection N (0-based); default 250. */
  rcpt?(recipient: string, connection: number): string;
  /** The reply after the data on connection N; `"stall"`: never reply. Default 250. */
  data?(connection: number): string;
}

export interface ScriptedMta {
  readonly port: number;
  /** Transactions whose data got a 2xx reply. */
  readonly accepted: ReceivedMail[];
  /** Connections so far. */
  connections(): number;
  /** Resolves once a message's final dot has arrived (whatever the reply). */
  readonly dataSeen: Promise<void>;
  close(): Promise<void>;
}

export async function startScriptedMta(policy: MtaPolicy = {}): Promise<ScriptedMta> {
  const accepted: ReceivedMail[] = [];
  const sockets = new Set<net.Socket>();
  const dataSeen = Promise.withResolvers<void>();
  let count = 0;
  const srv = net.createServer((socket) => {
    const connection = count++;
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    const send = (line: string) => {
      if (!socket.destroyed) socket.write(`${line}\r\n`);
    };
    let buf = "";
    let inData = false;
    let data: string[] = [];
    let sender = "";
    let recipients: string[] = [];
    send("220 scripted.test ESMTP");
    socket.on("data", (chunk: Uint8Array) => {
      buf += new TextDecoder().decode(chunk);
      for (let i = buf.indexOf("\r\n"); i >= 0; i = buf.indexOf("\r\n")) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (inData) {
          if (line !== ".") {
            data.push(line.startsWith(".") ? line.slice(1) : line);
            continue;
          }
          inData = false;
          dataSeen.resolve();
          const reply = policy.data?.(connection) ?? "250 2.0.0 accepted";
          if (reply === "stall") continue;
          if (reply.startsWith("2")) {
            accepted.push({ connection, sender, recipients, data: data.join("\r\n") + "\r\n" });
          }
          send(reply);
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO") send("250-scripted.test\r\n250-PIPELINING\r\n250 8BITMIME");
        else if (verb === "HELO") send("250 scripted.test");
        else if (verb === "MAIL") {
          sender = /<(.*)>/.exec(line)?.[1] ?? "";
          recipients = [];
          send("250 2.1.0 ok");
        } else if (verb === "RCPT") {
          const rcpt = /<(.*)>/.exec(line)?.[1] ?? "";
          const reply = policy.rcpt?.(rcpt, connection) ?? "250 2.1.5 ok";
          if (reply.startsWith("2")) recipients.push(rcpt);
          send(reply);
        } else if (verb === "DATA") {
          inData = true;
          data = [];
          send("354 go ahead");
        } else if (verb === "RSET") send("250 2.0.0 ok");
        else if (verb === "QUIT") {
          send("221 2.0.0 bye");
          socket.end();
        } else send("502 5.5.1 not here");
      }
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", () => resolve()));
  return {
    port: (srv.address() as net.AddressInfo).port,
    accepted,
    connections: () => count,
    dataSeen: dataSeen.promise,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    },
  };
}
