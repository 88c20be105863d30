/**
 * A small IMAP client for the benchmarks: sends a command, reads to its tagged response
 * (literals skipped by their length), and says how long that took and how many untagged
 * responses came. It parses nothing else, so it costs the same whichever server it talks to.
 *
 * @module
 */

const CR = 0x0d;
const LF = 0x0a;

/** The outcome of one command. */
export interface Reply {
  /** The tagged response's line, e.g. `a1 OK SELECT completed`. */
  readonly status: string;
  /** Untagged responses before it. */
  readonly untagged: number;
  /** Octets read, the tagged response included. */
  readonly bytes: number;
  /** The untagged responses' first lines, up to 1 MiB each (only when asked for). */
  readonly lines: string[];
}

/** One connection to an IMAP server. */
export class ImapClient {
  readonly #conn: Deno.Conn | Deno.TlsConn;
  #buf = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;
  #tag = 0;
  #closed = false;
  /** Called with every untagged line read while no command waits (IDLE's news). */
  onUntagged: ((line: string) => void) | undefined;

  private constructor(conn: Deno.Conn | Deno.TlsConn) {
    this.#conn = conn;
  }

  /** Connects (over TLS with CA when given) and reads the greeting. */
  static async connect(port: number, ca?: string): Promise<ImapClient> {
    const conn = ca
      ? await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [ca] })
      : await Deno.connect({ hostname: "127.0.0.1", port });
    const c = new ImapClient(conn);
    const greeting = await c.#line();
    if (!greeting.startsWith("* OK")) throw new Error(`Greeting: ${greeting}`);
    return c;
  }

  /** Reads more octets into the buffer; false at the end of the stream. */
  async #fill(): Promise<boolean> {
    if (this.#end === this.#buf.length) {
      // Keep what is unread at the front; grow when it fills the buffer.
      const live = this.#end - this.#start;
      if (live === this.#buf.length) {
        const next = new Uint8Array(this.#buf.length * 2);
        next.set(this.#buf);
        this.#buf = next;
      } else {
        this.#buf.copyWithin(0, this.#start, this.#end);
        this.#start = 0;
        this.#end = live;
      }
    }
    const n = await this.#conn.read(this.#buf.subarray(this.#end));
    if (n === null) {
      this.#closed = true;
      return false;
    }
    this.#end += n;
    return true;
  }

  /** One line without its CRLF, as Latin-1 text (no literal handling). */
  async #line(): Promise<string> {
    for (;;) {
      const lf = this.#buf.subarray(this.#start, this.#end).indexOf(LF);
      if (lf >= 0) {
        const line = this.#buf.subarray(this.#start, this.#start + lf - 1);
        this.#start += lf + 1;
        return String.fromCharCode(...line.subarray(0, 1000));
      }
      if (!(await this.#fill())) throw new Error("Connection closed");
    }
  }

  /**
   * One whole response: its first line, and the octets it took (literals included). A literal
   * announced at the end of a line (`{n}`) is skipped and the response goes on after it.
   */
  async #response(keep: boolean): Promise<{ first: string; bytes: number }> {
    let first: string | undefined;
    let bytes = 0;
    for (;;) {
      let lf = -1;
      while ((lf = this.#buf.subarray(this.#start, this.#end).indexOf(LF)) < 0) {
        if (!(await this.#fill())) throw new Error("Connection closed");
      }
      const at = this.#start;
      const end = at + lf - 1; // the CR
      if (first === undefined) {
        const n = Math.min(end - at, keep ? 1 << 20 : 16);
        first = new TextDecoder("latin1").decode(this.#buf.subarray(at, at + n));
      }
      this.#start += lf + 1;
      bytes += lf + 1;
      // A literal: `{123}` or `~{123}` right before the CRLF.
      if (this.#buf[end - 1] !== 0x7d || this.#buf[end] !== CR) return { first, bytes };
      let i = end - 2;
      let size = 0;
      let scale = 1;
      while (i > at && this.#buf[i]! >= 0x30 && this.#buf[i]! <= 0x39) {
        size += (this.#buf[i]! - 0x30) * scale;
        scale *= 10;
        i--;
      }
      if (this.#buf[i] !== 0x7b) return { first, bytes };
      bytes += size;
      while (size > 0) {
        const have = this.#end - this.#start;
        if (have >= size) {
          this.#start += size;
          size = 0;
        } else {
          size -= have;
          this.#start = this.#end;
          if (!(await this.#fill())) throw new Error("Connection closed");
        }
      }
    }
  }

  async #write(text: string): Promise<void> {
    const bytes = new TextEncoder().encode(text);
    for (let off = 0; off < bytes.length;) off += await this.#conn.write(bytes.subarray(off));
  }

  /** Sends COMMAND with a new tag and reads to its tagged response. */
  async command(command: string, keep = false): Promise<Reply> {
    const tag = `b${++this.#tag}`;
    await this.#write(`${tag} ${command}\r\n`);
    let untagged = 0;
    let bytes = 0;
    const lines: string[] = [];
    for (;;) {
      const r = await this.#response(keep);
      bytes += r.bytes;
      if (r.first.startsWith(`${tag} `)) {
        // The whole status line, for the caller's checks.
        return { status: r.first, untagged, bytes, lines };
      }
      if (r.first.startsWith("* ")) {
        untagged++;
        if (keep) lines.push(r.first);
      }
    }
  }

  /** Like {@link command}, but throws unless the server answered OK. */
  async ok(command: string, keep = false): Promise<Reply> {
    const r = await this.command(command, keep);
    if (!/^\S+ OK/.test(r.status)) throw new Error(`${command.slice(0, 40)}: ${r.status}`);
    return r;
  }

  /** Starts IDLE (RFC 2177) and waits for its continuation; untagged news go to onUntagged. */
  async idle(): Promise<void> {
    await this.#write(`b${++this.#tag} IDLE\r\n`);
    for (;;) {
      const line = await this.#line();
      if (line.startsWith("+")) break;
    }
    void this.#listen();
  }

  async #listen(): Promise<void> {
    try {
      while (!this.#closed) {
        const { first } = await this.#response(true);
        this.onUntagged?.(first);
      }
    } catch {
      // Closed: the benchmark is over for this connection.
    }
  }

  close(): void {
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }
}
