/**
 * The client's socket: connect (plain or implicit TLS), write, read reply lines until a
 * deadline, and upgrade to TLS in place for STARTTLS. It knows nothing of SMTP beyond line
 * framing, which it takes from the protocol module's {@link LineReader}.
 *
 * What the server sends is held only up to {@link MAX_BUFFERED} octets of unread lines: past
 * that the socket is paused until the client has read them, so a server that talks without end
 * fills its own TCP window, not our memory.
 *
 * node:net / node:tls rather than Deno.connect / Deno.startTls: only node:tls can accept a
 * self-signed certificate for one connection (`--insecure`) without a process-wide flag.
 *
 * @module
 */
import net from "node:net";
import tls from "node:tls";
import { LineReader } from "../smtp/line_reader.ts";
import { type ClientClock, SYSTEM_CLOCK } from "./clock.ts";

/** Longest reply line read, in octets. RFC 5321 §4.5.3.1.5 says 512; be generous to peers. */
export const MAX_REPLY_LINE = 8192;

/**
 * Unread reply lines held before the socket is paused, in octets. Pipelined replies (RFC 2920)
 * are a few dozen octets each, so this holds those of a thousand recipients with room to spare.
 */
export const MAX_BUFFERED = 64 * 1024;

/** How the socket failed. */
export type WireFailure = "connect" | "tls" | "timeout" | "closed" | "protocol";

/** A socket-level failure; the SMTP client adds which command it was in. */
export class WireError extends Error {
  readonly failure: WireFailure;
  constructor(failure: WireFailure, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WireError";
    this.failure = failure;
  }
}

/** TLS settings for one connection. */
export interface TlsSettings {
  /** Name the certificate must match (and SNI, unless it is an IP address). */
  readonly servername: string;
  /** Extra trusted CA certificates (PEM), on top of the built-in roots. */
  readonly ca?: readonly string[] | undefined;
  /** Accept any certificate (`--insecure`). */
  readonly insecure?: boolean | undefined;
}

/** What the TLS handshake gave, for the transcript and the results. */
export interface TlsInfo {
  readonly protocol: string;
  readonly cipher: string;
  /** Whether the certificate was verified (false only with `insecure`). */
  readonly verified: boolean;
  /** Why it could not be (a node:tls code such as ERR_TLS_CERT_ALTNAME_INVALID), if not. */
  readonly authorizationError?: string | undefined;
}

function tlsOptions(settings: TlsSettings): tls.ConnectionOptions {
  const ip = net.isIP(settings.servername) !== 0;
  return {
    // SNI must not carry an IP address (RFC 6066 §3); the identity check still uses `host`.
    ...(ip ? {} : { servername: settings.servername }),
    host: settings.servername,
    // Under Deno, `ca` is trusted in addition to the built-in roots (Deno's caCerts), so the
    // roots need not be listed (and reading tls.rootCertificates needs --allow-sys=ca).
    ...(settings.ca && settings.ca.length > 0 ? { ca: [...settings.ca] } : {}),
    rejectUnauthorized: !settings.insecure,
    minVersion: "TLSv1.2",
  };
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  if (code === "ECONNREFUSED") return "connection refused";
  if (code === "ECONNRESET") return "connection reset by peer";
  if (code === "EHOSTUNREACH" || code === "ENETUNREACH") return "host unreachable";
  if (code === "ENOTFOUND") return "host not found";
  return err.message;
}

/** One connection to a server. */
export class Wire {
  #socket: net.Socket;
  #reader = new LineReader(MAX_REPLY_LINE);
  /** Received lines; those before {@link #read} have been read (an index: shift() is O(n)). */
  #lines: string[] = [];
  #read = 0;
  /**
   * Characters of the unread lines with two for each line ending (octets, for ASCII), for the
   * {@link MAX_BUFFERED} bound: an empty line costs its CRLF, so a flood of them pauses too.
   */
  #buffered = 0;
  #paused = false;
  #failure: WireError | undefined;
  #wake: (() => void) | undefined;
  readonly #decoder = new TextDecoder();
  readonly #clock: ClientClock;

  private constructor(socket: net.Socket, clock: ClientClock) {
    this.#socket = socket;
    this.#clock = clock;
    this.#listen(socket);
  }

  /**
   * Connects to ADDRESS (an IP or a host name for the system resolver) on PORT; with TLS set,
   * the TLS handshake happens at once (implicit TLS, RFC 8314 §3).
   */
  static async connect(
    address: string,
    port: number,
    timeoutMs: number,
    tlsSettings?: TlsSettings,
    clock: ClientClock = SYSTEM_CLOCK,
  ): Promise<{ wire: Wire; tls: TlsInfo | undefined }> {
    const socket = tlsSettings
      ? tls.connect({ ...tlsOptions(tlsSettings), host: address, port })
      : net.connect({ host: address, port });
    const ready = tlsSettings ? "secureConnect" : "connect";
    try {
      await withTimeout(
        new Promise<void>((resolve, reject) => {
          socket.once(ready, () => resolve());
          socket.once("error", reject);
        }),
        timeoutMs,
        clock,
        () => socket.destroy(),
      );
    } catch (err) {
      socket.destroy();
      if (err instanceof WireError) throw err;
      if (tlsSettings && isTlsError(err)) {
        throw new WireError("tls", `TLS handshake failed: ${describe(err)}`, { cause: err });
      }
      throw new WireError("connect", describe(err), { cause: err });
    }
    const wire = new Wire(socket, clock);
    return { wire, tls: tlsSettings ? tlsInfo(socket as tls.TLSSocket) : undefined };
  }

  #listen(socket: net.Socket): void {
    socket.on("data", (chunk: Uint8Array) => this.#onData(chunk));
    socket.on("error", (err) => this.#fail(new WireError("closed", describe(err), { cause: err })));
    socket.on("close", () => this.#fail(new WireError("closed", "connection closed by server")));
  }

  #onData(chunk: Uint8Array): void {
    let off = 0;
    for (;;) {
      const next = this.#reader.next(chunk, off);
      if (!next) break;
      const [event, end] = next;
      off = end;
      if (event.kind === "too-long") {
        this.#fail(new WireError("protocol", `Reply line longer than ${MAX_REPLY_LINE} octets`));
        this.#socket.destroy();
        return;
      }
      let line = event.line;
      if (line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
      const text = this.#decoder.decode(line);
      this.#lines.push(text);
      this.#buffered += text.length + 2;
    }
    if (this.#buffered > MAX_BUFFERED && !this.#paused) {
      this.#paused = true;
      this.#socket.pause();
    }
    this.#wake?.();
  }

  #fail(err: WireError): void {
    this.#failure ??= err;
    this.#wake?.();
  }

  /**
   * The next line from the server, without its line ending; `undefined` once the clock reaches
   * DEADLINE (milliseconds on the wire's clock) with no line. The caller says what that means.
   */
  async readLine(deadline: number): Promise<string | undefined> {
    for (;;) {
      const line = this.#take();
      if (line !== undefined) {
        this.#buffered -= line.length + 2;
        if (this.#paused && this.#buffered <= MAX_BUFFERED / 2) {
          this.#paused = false;
          this.#socket.resume();
        }
        return line;
      }
      if (this.#failure) throw this.#failure;
      const left = deadline - this.#clock.now();
      if (left <= 0) return undefined;
      let cancel: (() => void) | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        cancel = this.#clock.after(left, resolve);
      });
      cancel?.();
      this.#wake = undefined;
    }
  }

  /** The first unread line, if any; read lines are dropped in batches, not one by one. */
  #take(): string | undefined {
    if (this.#read >= this.#lines.length) return undefined;
    const line = this.#lines[this.#read++]!;
    if (this.#read === this.#lines.length) {
      this.#lines = [];
      this.#read = 0;
    } else if (this.#read >= 1024 && this.#read * 2 >= this.#lines.length) {
      this.#lines = this.#lines.slice(this.#read);
      this.#read = 0;
    }
    return line;
  }

  /** Characters of received lines not yet read, two for each line ending (for tests). */
  get buffered(): number {
    return this.#buffered;
  }

  /** The clock the wire's deadlines are read on. */
  get clock(): ClientClock {
    return this.#clock;
  }

  /** Writes DATA; resolves once the socket took it. */
  async write(data: string | Uint8Array): Promise<void> {
    if (this.#failure) throw this.#failure;
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    await new Promise<void>((resolve, reject) => {
      this.#socket.write(bytes, (err) => {
        if (err) reject(new WireError("closed", describe(err), { cause: err }));
        else resolve();
      });
    });
  }

  /**
   * Upgrades the connection to TLS (RFC 3207 §4), after the server's 220 to STARTTLS. Anything
   * the server sent after that 220 and before the handshake, whole lines and a partial one
   * alike, is thrown away, never read as a reply (RFC 3207 §6: the STARTTLS response-injection
   * attack, CVE-2011-0411 and kin). DISCARDED says how many octets that was.
   */
  async startTls(
    settings: TlsSettings,
    timeoutMs: number,
  ): Promise<{ tls: TlsInfo; discarded: number }> {
    const plain = this.#socket;
    plain.removeAllListeners("data");
    plain.removeAllListeners("close");
    plain.removeAllListeners("error");
    const discarded = this.#lines.slice(this.#read).reduce((n, l) => n + l.length + 2, 0) +
      this.#reader.takePending().length;
    this.#lines = [];
    this.#read = 0;
    this.#buffered = 0;
    this.#reader = new LineReader(MAX_REPLY_LINE);
    if (this.#paused) {
      this.#paused = false;
      plain.resume();
    }
    const secure = tls.connect({ ...tlsOptions(settings), socket: plain });
    try {
      await withTimeout(
        new Promise<void>((resolve, reject) => {
          secure.once("secureConnect", () => resolve());
          secure.once("error", reject);
          plain.once("close", () => reject(new Error("connection closed during TLS handshake")));
        }),
        timeoutMs,
        this.#clock,
      );
    } catch (err) {
      secure.destroy();
      if (err instanceof WireError) throw err;
      throw new WireError("tls", `TLS handshake failed: ${describe(err)}`, { cause: err });
    }
    this.#socket = secure;
    this.#listen(secure);
    return { tls: tlsInfo(secure), discarded };
  }

  /** Closes the connection (idempotent). */
  close(): void {
    this.#socket.destroy();
  }
}

function isTlsError(err: unknown): boolean {
  const code = String((err as { code?: unknown })?.code ?? "");
  const message = err instanceof Error ? err.message : "";
  return /CERT|TLS|SSL|SELF_SIGNED|ALTNAME/i.test(code) ||
    /certificate|handshake|tls|ssl/i.test(message);
}

function tlsInfo(socket: tls.TLSSocket): TlsInfo {
  return {
    protocol: socket.getProtocol() ?? "TLS",
    cipher: socket.getCipher()?.name ?? "unknown",
    verified: socket.authorized,
    authorizationError: socket.authorizationError ? String(socket.authorizationError) : undefined,
  };
}

/** Races P against a timer on CLOCK; on timeout runs ONTIMEOUT and rejects with a WireError. */
async function withTimeout<T>(
  p: Promise<T>,
  ms: number,
  clock: ClientClock,
  onTimeout?: () => void,
): Promise<T> {
  let cancel: (() => void) | undefined;
  const timeout = new Promise<never>((_, reject) => {
    cancel = clock.after(ms, () => {
      onTimeout?.();
      reject(new WireError("timeout", `no answer within ${Math.round(ms / 1000)} s`));
    });
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    cancel?.();
  }
}
