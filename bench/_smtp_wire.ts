/**
 * The few SMTP client pieces the benchmarks share: reading final reply lines off a connection
 * and writing all of a buffer. Deliberately minimal (no parsing beyond the reply code): the
 * benchmarks drive our server and need the least client cost per message.
 *
 * @module
 */

const enc = new TextEncoder();

/** Reads replies off a connection; resolves each awaited count of final reply lines. */
export class Replies {
  #buf = "";
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();
  constructor(conn: Deno.Conn) {
    this.#reader = conn.readable.getReader();
  }
  /** Waits for N final reply lines ("ddd " lines); returns the last one. */
  async take(n: number): Promise<string> {
    let last = "";
    for (;;) {
      let i: number;
      while ((i = this.#buf.indexOf("\r\n")) >= 0) {
        const line = this.#buf.slice(0, i);
        this.#buf = this.#buf.slice(i + 2);
        if (/^\d{3} /.test(line)) {
          last = line;
          if (--n === 0) return last;
        }
      }
      const { value, done } = await this.#reader.read();
      if (done) throw new Error(`Connection closed, last reply ${last}`);
      this.#buf += this.#decoder.decode(value, { stream: true });
    }
  }
}

/** Writes all of DATA to CONN. */
export async function write(conn: Deno.Conn, data: Uint8Array | string): Promise<void> {
  const bytes = typeof data === "string" ? enc.encode(data) : data;
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}
