/** A raw TCP client for tests: write bytes, read reply lines (each read bounded in time). */
import { bounded } from "./clock.ts";

export class LineSocket {
  readonly #conn: Deno.Conn;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buf = "";
  #eof = false;

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
    this.#reader = conn.readable.getReader();
  }

  static async connect(port: number, hostname = "127.0.0.1"): Promise<LineSocket> {
    return new LineSocket(await Deno.connect({ hostname, port }));
  }

  async send(data: Uint8Array | string): Promise<void> {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    let off = 0;
    while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
  }

  /** Next line without CRLF, or undefined once the server closed the connection. */
  async readLine(): Promise<string | undefined> {
    for (;;) {
      const i = this.#buf.indexOf("\r\n");
      if (i >= 0) {
        const line = this.#buf.slice(0, i);
        this.#buf = this.#buf.slice(i + 2);
        return line;
      }
      if (this.#eof) return undefined;
      const { value, done } = await bounded(
        this.#reader.read().catch(() => ({ value: undefined, done: true })),
        `a reply line; got so far ${JSON.stringify(this.#buf)}`,
      );
      if (done || !value) this.#eof = true;
      else this.#buf += new TextDecoder().decode(value);
    }
  }

  /** Reads one whole (possibly multi-line) reply; returns its lines. */
  async readReply(): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      const l = await this.readLine();
      if (l === undefined) {
        throw new Error(`Connection closed; got so far ${JSON.stringify(lines)}`);
      }
      lines.push(l);
      if (/^\d{3}(?: |$)/.test(l)) return lines;
    }
  }

  /** Sends a command and returns the last reply line. */
  async command(line: string): Promise<string> {
    await this.send(line + "\r\n");
    const r = await this.readReply();
    return r[r.length - 1]!;
  }

  /** Resolves once the server has closed the connection (reads and drops anything left). */
  async closedByPeer(): Promise<void> {
    while ((await this.readLine()) !== undefined) { /* drain */ }
  }

  close(): void {
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }
}
