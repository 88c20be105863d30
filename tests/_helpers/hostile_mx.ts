/**
 * An MX on 127.0.0.1 that is honest in every way but one a test picks: an EHLO reply of a
 * thousand lines, a STARTTLS it refuses or answers with bytes that are not TLS. Apart from that
 * it speaks plain ESMTP (EHLO, MAIL, RCPT, DATA, RSET, QUIT) and records what it accepted, so a
 * client that tolerates the fault delivers, and a test can tell.
 *
 * Everything it sends is bounded: a hostile stream that never ends would make a test of the old
 * client eat memory instead of failing.
 *
 * @module
 */
import net from "node:net";

export interface HostileMxOptions {
  /** Lines of the EHLO reply before its last one (`250-` is added to each). */
  readonly ehloLines?: readonly string[];
  /**
   * `refuse`: offer STARTTLS and answer it 454; `not-tls`: answer 220, then send bytes that are
   * not a TLS handshake and hang up.
   */
  readonly startTls?: "refuse" | "not-tls";
}

export interface HostileMx {
  readonly port: number;
  /** Connections so far. */
  connections(): number;
  /** Messages whose data got a 250, as received (dot-stuffing left as is). */
  readonly accepted: string[];
  close(): Promise<void>;
}

/** N lines of WIDTH characters: an EHLO reply far over any sane size. */
export function floodLines(n: number, width = 60): string[] {
  return Array.from({ length: n }, (_, i) => `X-FLOOD-${i} ${"x".repeat(width)}`);
}

export async function startHostileMx(options: HostileMxOptions): Promise<HostileMx> {
  const accepted: string[] = [];
  const sockets = new Set<net.Socket>();
  let count = 0;
  const srv = net.createServer((socket) => {
    count++;
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    const send = (text: string) => {
      if (!socket.destroyed) socket.write(text);
    };
    let buf = "";
    let data: string[] | undefined;
    send("220 hostile.test ESMTP\r\n");
    socket.on("data", (chunk: Uint8Array) => {
      buf += new TextDecoder().decode(chunk);
      for (let i = buf.indexOf("\r\n"); i >= 0; i = buf.indexOf("\r\n")) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (data) {
          if (line !== ".") {
            data.push(line);
            continue;
          }
          accepted.push(data.join("\r\n") + "\r\n");
          data = undefined;
          send("250 2.0.0 accepted\r\n");
          continue;
        }
        const verb = line.split(" ")[0]!.toUpperCase();
        if (verb === "EHLO") {
          const extra = [...(options.ehloLines ?? []), ...(options.startTls ? ["STARTTLS"] : [])];
          send(["hostile.test", ...extra].map((l) => `250-${l}\r\n`).join("") + "250 8BITMIME\r\n");
        } else if (verb === "STARTTLS" && options.startTls === "refuse") {
          send("454 4.7.0 TLS not available\r\n");
        } else if (verb === "STARTTLS" && options.startTls === "not-tls") {
          socket.end("220 2.0.0 go ahead\r\nthis is no TLS handshake\r\n");
        } else if (verb === "DATA") {
          data = [];
          send("354 go ahead\r\n");
        } else if (verb === "QUIT") socket.end("221 2.0.0 bye\r\n");
        else if (["HELO", "MAIL", "RCPT", "RSET", "NOOP"].includes(verb)) send("250 2.0.0 ok\r\n");
        else send("502 5.5.1 not here\r\n");
      }
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", () => resolve()));
  return {
    port: (srv.address() as net.AddressInfo).port,
    connections: () => count,
    accepted,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    },
  };
}
