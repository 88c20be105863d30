/**
 * What the tests that drive `mail serve`'s POP3 listeners with independent clients (fetchmail,
 * curl) share: a server with the fixture certificate and one account, the stored messages as
 * `mail inbox --raw` gives them, and a raw session for what those clients cannot do (hold the
 * mailbox, drop the connection after DELE).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { CA_FILE } from "./imap_clients.ts";
import { mail, type ServeProcess, startServe, TEST_SERVE_FLAGS } from "./mail_process.ts";
import { bounded } from "./clock.ts";

export const ADDRESS = "alice@example.test";
export const PASSWORD = "pw-alice";
const KEY_FILE = join(CA_FILE, "..", "key.pem");

/** A running `mail serve` with POP3 on, its data directory, and its implicit-TLS POP3 port. */
export interface Pop3Serve {
  readonly serve: ServeProcess;
  readonly dir: string;
  /** The `--pop3s` port (0 when not asked for). */
  readonly pop3sPort: number;
  close(): Promise<void>;
}

/**
 * Starts `mail serve` (the real entrypoint) with the fixture certificate and the account
 * ADDRESS. `insecure` allows logins in the clear from loopback; `pop3s` adds the implicit-TLS
 * listener.
 */
export async function startPop3Serve(
  opts: { insecure?: boolean; pop3s?: boolean } = {},
): Promise<Pop3Serve> {
  const dir = await Deno.makeTempDir({ prefix: "mail-pop3-client-" });
  try {
    const added = await mail(["user", "add", ADDRESS, "--data", dir], { stdin: `${PASSWORD}\n` });
    assert.equal(added.code, 0, added.err);
    const serve = await startServe(dir, [
      ...TEST_SERVE_FLAGS,
      "--tls-cert",
      CA_FILE,
      "--tls-key",
      KEY_FILE,
      ...(opts.insecure ? ["--allow-insecure-auth"] : []),
      ...(opts.pop3s ? ["--pop3s", "127.0.0.1:0"] : []),
    ]);
    const pop3s = Number(/\bpop3s=[^\s]*:(\d+)/.exec(serve.log())?.[1] ?? 0);
    return {
      serve,
      dir,
      pop3sPort: pop3s,
      async close() {
        await serve.stop();
        await Deno.remove(dir, { recursive: true });
      },
    };
  } catch (err) {
    await Deno.remove(dir, { recursive: true });
    throw err;
  }
}

/** The INBOX of ADDRESS in order of arrival, each message as `mail inbox ID --raw` prints it. */
export async function storedMessages(dir: string): Promise<Uint8Array[]> {
  const list = await mail(["inbox", ADDRESS, "--data", dir, "--json"]);
  assert.equal(list.code, 0, list.err);
  const ids = (JSON.parse(list.out) as { id: number }[]).map((m) => m.id).sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  for (const id of ids) {
    const raw = await mail(["inbox", ADDRESS, String(id), "--raw", "--data", dir]);
    assert.equal(raw.code, 0, raw.err);
    out.push(raw.stdout);
  }
  return out;
}

/** A POP3 session on a raw socket, logged in as ADDRESS (in the clear: needs `insecure`). */
export class RawPop3 {
  readonly #conn: Deno.Conn;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buf = "";
  /** Our side's port: the server's log names the connection by it. */
  readonly localPort: number;

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
    this.#reader = conn.readable.getReader();
    this.localPort = (conn.localAddr as Deno.NetAddr).port;
  }

  /** Connects and logs in; resolves with the session in TRANSACTION state. */
  static async login(port: number): Promise<RawPop3> {
    const session = new RawPop3(await Deno.connect({ hostname: "127.0.0.1", port }));
    assert.match(await session.#line(), /^\+OK /);
    assert.match(await session.command(`USER ${ADDRESS}`), /^\+OK/);
    assert.match(await session.command(`PASS ${PASSWORD}`), /^\+OK/);
    return session;
  }

  /** Sends one command and returns its status line (single-line commands only). */
  async command(line: string): Promise<string> {
    const bytes = new TextEncoder().encode(`${line}\r\n`);
    for (let off = 0; off < bytes.length;) off += await this.#conn.write(bytes.subarray(off));
    return await this.#line();
  }

  /** The next line without CRLF; bounded, so a silent server fails the test. */
  async #line(): Promise<string> {
    for (;;) {
      const i = this.#buf.indexOf("\r\n");
      if (i >= 0) {
        const line = this.#buf.slice(0, i);
        this.#buf = this.#buf.slice(i + 2);
        return line;
      }
      const { value, done } = await bounded(this.#reader.read(), "a POP3 status line");
      if (done) return "(connection closed)";
      this.#buf += new TextDecoder().decode(value);
    }
  }

  /** Closes the connection without QUIT. */
  drop(): void {
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }
}

/** Resolves once the server logged the end of the POP3 connection from LOCAL_PORT. */
export function disconnected(serve: ServeProcess, localPort: number): Promise<void> {
  return serve.waitForLog(`Disconnected client=127.0.0.1 port=${localPort} role=pop3`);
}
