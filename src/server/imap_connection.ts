/**
 * The I/O driver of one IMAP connection: moves bytes between a socket and an
 * {@link ImapSession}, owns its deadlines, and performs the STARTTLS upgrade (RFC 9051 §6.2.1).
 * It is the only IMAP code that touches the socket; the session decides everything else.
 *
 * @module
 */
import { concatBytes } from "../bytes.ts";
import type { Socket } from "node:net";
import type { SecureContext } from "node:tls";
import { upgradeToTls, writeLastWords } from "./starttls.ts";
import type { Logger } from "../log.ts";
import type { ImapSession } from "../imap/session.ts";
import type { Output } from "../imap/session_types.ts";
import { describeTls, LINGER_MS } from "./connection.ts";
import type { DeadlineSweeper, Expiring } from "./deadlines.ts";

/** Deadlines, in milliseconds. */
export interface ImapTimers {
  /** Autologout: how long a client may be silent, IDLE included (RFC 9051 §5.4: 30 min at least). */
  readonly idle: number;
  /**
   * A command under way must keep moving: it fails when it has grown by less than
   * {@link PROGRESS_BYTES} in this long (a slowloris sends a byte now and then).
   */
  readonly progress: number;
}

/** What a command must grow by within the progress deadline (a slow APPEND easily does). */
const PROGRESS_BYTES = 8192;

/** Input buffers held while the session is busy before reading from the socket pauses. */
const MAX_QUEUED = 4;

/** Chunks at least this long are written as they are; shorter ones are joined. */
const OWN_WRITE = 16 * 1024;

/**
 * CHUNKS with each run of small ones joined into one buffer: a step's responses go out in as
 * few writes as can be, and a message's large bytes are never copied.
 */
export function coalesce(chunks: readonly Uint8Array[]): Uint8Array[] {
  if (chunks.length < 2) return chunks.filter((c) => c.length > 0);
  const out: Uint8Array[] = [];
  let run: Uint8Array[] = [];
  const end = () => {
    if (run.length > 0) out.push(concatBytes(run));
    run = [];
  };
  for (const c of chunks) {
    if (c.length === 0) continue;
    if (c.length >= OWN_WRITE) {
      end();
      out.push(c);
    } else {
      run.push(c);
    }
  }
  end();
  return out;
}

/** Drives one IMAP session over one socket. */
export class ImapConnection implements Expiring {
  #socket: Socket;
  #session!: ImapSession;
  readonly #timers: ImapTimers;
  readonly #log: Logger;
  readonly #tls: (() => SecureContext) | undefined;
  readonly #deadlines: DeadlineSweeper;
  readonly #queue: Uint8Array[] = [];
  #busy = false;
  #paused = false;
  #ended = false;
  #lastInput: number;
  /** While a command is under way: when it last made progress, and how far it had got. */
  #progressSince: number | undefined;
  #progressAt = 0;
  #received = 0;
  #upgradeUntil: number | undefined;
  #lingerUntil: number | undefined;
  readonly #finished = Promise.withResolvers<void>();
  readonly #closed = Promise.withResolvers<void>();

  constructor(
    socket: Socket,
    timers: ImapTimers,
    deadlines: DeadlineSweeper,
    log: Logger,
    tls?: () => SecureContext,
  ) {
    this.#socket = socket;
    this.#timers = timers;
    this.#deadlines = deadlines;
    this.#log = log;
    this.#tls = tls;
    this.#lastInput = deadlines.now();
  }

  /** The session's way to speak unasked (IDLE updates, a long FETCH): written at once. */
  readonly notify = (out: Output): void => this.#emit(out);

  /** Resolves once the socket has room for more output (or is gone). */
  readonly drained = (): Promise<void> => {
    const s = this.#socket;
    if (!s.writableNeedDrain || this.#ended) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        s.off("drain", done);
        s.off("close", done);
        resolve();
      };
      s.on("drain", done);
      s.on("close", done);
    });
  };

  /** Resolves once the socket is closed. */
  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  /** Resolves once our last word is flushed and we closed our side (or the socket closed). */
  get finished(): Promise<void> {
    return this.#finished.promise;
  }

  start(session: ImapSession): void {
    this.#session = session;
    this.#attach(this.#socket);
    this.#deadlines.add(this);
    this.#socket.once("close", () => {
      this.#deadlines.delete(this);
      this.#session.closed();
      this.#closed.resolve();
      this.#finished.resolve();
    });
    this.#emit(session.greeting());
  }

  sweep(now: number): void {
    if (this.#lingerUntil !== undefined) {
      if (now >= this.#lingerUntil) this.#socket.destroy();
      return;
    }
    if (this.#upgradeUntil !== undefined) {
      if (now >= this.#upgradeUntil) {
        this.#log.info("TLS handshake timed out");
        this.#socket.destroy();
      }
      return;
    }
    if (this.#ended || this.#busy) return;
    if (now - this.#lastInput >= this.#timers.idle) {
      this.#emit(this.#session.timeout());
    } else if (
      this.#progressSince !== undefined && now - this.#progressSince >= this.#timers.progress
    ) {
      this.#log.info("Command deadline exceeded");
      this.#emit(this.#session.timeout());
    }
  }

  #attach(s: Socket): void {
    s.setNoDelay(true);
    s.on("error", (err) => {
      this.#log.debug("Socket error", { error: err.message });
      s.destroy();
    });
    s.on("data", (buf: Uint8Array) => {
      this.#lastInput = this.#deadlines.now();
      this.#received += buf.length;
      this.#queue.push(buf);
      if (this.#queue.length >= MAX_QUEUED && !this.#paused) {
        this.#paused = true;
        s.pause();
      }
      if (!this.#busy) void this.#drain();
    });
  }

  /** Asks the connection to close for shutdown: BYE once no command is under way. */
  requestClose(): void {
    if (!this.#busy) this.#emit(this.#session.shutdown());
    else this.#closeRequested = true;
  }

  #closeRequested = false;

  /** Drops the connection without a word. */
  destroy(): void {
    this.#ended = true;
    this.#socket.destroy();
  }

  async #drain(): Promise<void> {
    this.#busy = true;
    let upgrade = false;
    try {
      while (this.#queue.length > 0 && !this.#ended) {
        const answer = this.#session.receive(this.#queue.shift()!);
        const out = answer instanceof Promise ? await answer : answer;
        this.#emit(out);
        if (out.startTls) {
          upgrade = true;
          break;
        }
      }
    } catch (err) {
      this.#log.error("Internal error in IMAP session", {
        error: err instanceof Error ? err.message : String(err),
        stack: err instanceof Error ? err.stack : undefined,
      });
      this.#emit({
        write: [new TextEncoder().encode("* BYE Internal error, closing connection\r\n")],
        close: true,
      });
    } finally {
      this.#busy = false;
    }
    if (this.#ended) return;
    if (upgrade) return this.#startTls();
    if (this.#closeRequested) {
      this.#emit(this.#session.shutdown());
      return;
    }
    // The progress deadline runs while a command is under way.
    if (!this.#session.midCommand) this.#progressSince = undefined;
    else if (
      this.#progressSince === undefined || this.#received - this.#progressAt >= PROGRESS_BYTES
    ) {
      this.#progressSince = this.#deadlines.now();
      this.#progressAt = this.#received;
    }
    if (this.#paused) {
      this.#paused = false;
      this.#socket.resume();
    }
  }

  /** RFC 9051 §6.2.1: the handshake after our OK is flushed; input sent before it is dropped. */
  #startTls(): void {
    const plain = this.#socket;
    this.#queue.length = 0;
    this.#upgradeUntil = this.#deadlines.now() + this.#timers.progress;
    this.#progressSince = undefined;
    upgradeToTls(plain, this.#log, {
      context: this.#tls!,
      ended: () => this.#ended,
      wrapped: (secure) => {
        this.#socket = secure;
        this.#queue.length = 0;
      },
      secure: (secure) => {
        this.#upgradeUntil = undefined;
        this.#lastInput = this.#deadlines.now();
        this.#log.debug("TLS started", { tls: describeTls(secure) });
        this.#session.tlsStarted();
        this.#attach(secure);
        secure.resume();
      },
    });
  }

  #emit(out: Output): void {
    if (this.#ended) return;
    const socket = this.#socket;
    if (!out.close) {
      const chunks = coalesce(out.write);
      if (chunks.length === 1) socket.write(chunks[0]!);
      else if (chunks.length > 1) {
        socket.cork();
        for (const chunk of chunks) socket.write(chunk);
        socket.uncork();
      }
      return;
    }
    this.#ended = true;
    // RFC 9051 §6.1.3: the last words (BYE, LOGOUT's OK), then the close.
    writeLastWords(socket, out.write, () => this.#finished.resolve());
    // A peer that never reads would keep the write, and the socket, pending.
    this.#lingerUntil = this.#deadlines.now() + LINGER_MS;
  }
}
