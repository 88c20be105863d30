/**
 * What the SMTP, IMAP and POP3 I/O drivers do alike, once: attach to a socket (no Nagle, errors
 * logged, input queued, reading paused while the session is busy with a full queue), feed the
 * queue to the session one buffer at a time, write its answers, upgrade to TLS when it says so,
 * close after its last words, and expire the linger and TLS-handshake deadlines. It is the only
 * code that touches a connection's socket.
 *
 * It is an abstract class, not a driver taking an adapter object: what each protocol adds
 * (SMTP's greeting gap and per-line deadline, IMAP's progress deadline and coalesced writes,
 * POP3's output-progress idle rule and held-back pipelined commands) reads and sets the state
 * kept here (the queue, busy, the last input), which an adapter could only reach through
 * callbacks handed back and forth. A subclass overrides a few protected steps instead, and
 * keeps its own constructor and public API.
 *
 * @module
 */
import type { Socket } from "node:net";
import { setImmediate } from "node:timers";
import type { SecureContext, TLSSocket } from "node:tls";
import type { Logger } from "../log.ts";
import type { DeadlineSweeper, Expiring } from "./deadlines.ts";
import { upgradeToTls } from "./starttls.ts";

/** How long a socket we have closed may wait for the peer to close its side. */
export const LINGER_MS = 5000;

/** Input buffers held while the session is busy before reading from the socket pauses. */
const MAX_QUEUED = 4;

/** Describes the TLS session of a socket for logs and Received: `TLSv1.3 TLS_AES_256_GCM_SHA384`. */
export function describeTls(s: TLSSocket): string {
  return `${s.getProtocol() ?? "TLS"} ${s.getCipher()?.name ?? ""}`.trim();
}

/** What every protocol's session answers with. */
export interface DriverOutput {
  /** Close the connection once the answer is flushed. */
  readonly close?: boolean;
  /** Start the TLS handshake once the answer is flushed; input after it is dropped. */
  readonly startTls?: boolean;
}

/** The session side every driver talks to. */
export interface DriverSession<O extends DriverOutput> {
  /** Feeds bytes from the client; the answer is a promise only when the session must wait. */
  receive(input: Uint8Array): O | Promise<O>;
  /** The client was silent too long: the last words. */
  timeout(): O;
  /** The server is shutting down: the last words. */
  shutdown(): O;
  /** The TLS handshake succeeded; DESCRIPTION is {@link describeTls}'s. */
  tlsStarted(description: string): void;
  /** The socket has closed: release what the session holds. */
  closed?(): void;
}

/**
 * Drives one session of session type S over one socket. Its deadlines are checked by a shared
 * {@link DeadlineSweeper}, not by a timer of its own.
 */
export abstract class SocketDriver<S extends DriverSession<O>, O extends DriverOutput>
  implements Expiring {
  protected socket: Socket;
  protected session!: S;
  protected readonly log: Logger;
  protected readonly deadlines: DeadlineSweeper;
  /** Input not yet handed to the session, oldest first. */
  protected readonly queue: Uint8Array[] = [];
  /** The session is working on input (and may be awaiting a backend). */
  protected busy = false;
  /** Our side has closed, or is closing after its last words: nothing more is written. */
  protected ended = false;
  /** Input is queued but not handed to the session (SMTP's greeting gap). */
  protected inputHeld = false;
  /** When the client last sent anything. */
  protected lastInput: number;
  /** Octets the client has sent, in all. */
  protected received = 0;
  /** After our side has closed: when a socket still open is destroyed. */
  protected lingerUntil: number | undefined;
  readonly #tls: (() => SecureContext) | undefined;
  #paused = false;
  #closeRequested = false;
  /** While the TLS handshake runs: when it must have ended. */
  #upgradeUntil: number | undefined;
  readonly #finished = Promise.withResolvers<void>();
  readonly #closed = Promise.withResolvers<void>();

  /** `tls` gives the certificate for the TLS upgrade; absent when TLS is off. */
  constructor(
    socket: Socket,
    deadlines: DeadlineSweeper,
    log: Logger,
    tls: (() => SecureContext) | undefined,
  ) {
    this.socket = socket;
    this.deadlines = deadlines;
    this.log = log;
    this.#tls = tls;
    this.lastInput = deadlines.now();
  }

  /** Resolves once the socket is closed. */
  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  /** Resolves once our last word is flushed and we closed our side (or the socket closed). */
  get finished(): Promise<void> {
    return this.#finished.promise;
  }

  /** Asks the connection to close for shutdown: at once when it may, else after this input. */
  requestClose(): void {
    this.#closeRequested = true;
    if (!this.busy && this.mayShutdown()) this.emit(this.session.shutdown());
  }

  /** Drops the connection without a word (second signal, shutdown grace over). */
  destroy(): void {
    this.ended = true;
    this.socket.destroy();
  }

  /** Acts on expired deadlines: the linger and the handshake's here, the protocol's in expire. */
  sweep(now: number): void {
    if (this.lingerUntil !== undefined) {
      this.lingering(now);
      if (now >= this.lingerUntil) this.socket.destroy();
      return;
    }
    if (this.#upgradeUntil !== undefined) {
      // The whole handshake must end in time, however slowly its bytes come: a deadline, not an
      // idle timer that each byte would re-arm.
      if (now >= this.#upgradeUntil) {
        this.log.info("TLS handshake timed out");
        this.socket.destroy();
      }
      return;
    }
    if (!this.ended) this.expire(now);
  }

  /** The protocol's own deadlines, while the connection is open and not upgrading. */
  protected abstract expire(now: number): void;

  /** How long the TLS handshake may take, in all. */
  protected abstract handshakeMs(): number;

  /** Writes an answer that does not close the connection. */
  protected abstract write(out: O): void;

  /** Writes the last words, then closes the socket and calls FLUSHED once they are flushed. */
  protected abstract writeLast(out: O, flushed: () => void): void;

  /** The last words after an exception in the session. */
  protected abstract internalError(): O;

  /** Names the session in the log of an internal error. */
  protected abstract readonly sessionName: string;

  /** After input has been answered and the connection stays open: the protocol's bookkeeping. */
  protected abstract settled(): void;

  /** Whether a shutdown may close the connection now (SMTP waits for a transaction's end). */
  protected mayShutdown(): boolean {
    return true;
  }

  /** The next input for the session, or undefined when there is none. */
  protected nextInput(): Uint8Array | undefined {
    return this.queue.shift();
  }

  /** After an answer has been written: what to wait for before the next input, if anything. */
  protected answered(_out: O): Promise<void> | undefined {
    return undefined;
  }

  /** The TLS upgrade begins: forget what the plaintext connection was in the middle of. */
  protected upgrading(): void {}

  /** At each sweep while lingering: a protocol may move lingerUntil on. */
  protected lingering(_now: number): void {}

  /** Attaches to the socket and registers the deadlines; the subclass then greets. */
  protected begin(): void {
    this.#attach(this.socket);
    this.deadlines.add(this);
    this.socket.once("close", () => {
      this.deadlines.delete(this);
      this.session.closed?.();
      this.#closed.resolve();
      this.#finished.resolve();
    });
  }

  /** Writes OUT; when it closes, the last words, then the close, with the linger running. */
  protected emit(out: O): void {
    if (this.ended) return;
    if (!out.close) {
      this.write(out);
      return;
    }
    this.ended = true;
    this.writeLast(out, () => this.#finished.resolve());
    // A peer that never reads would keep the write, and the socket, pending.
    this.lingerUntil = this.deadlines.now() + LINGER_MS;
  }

  /** Resolves once the socket has room for more output (or is gone). */
  protected writable(): Promise<void> {
    const s = this.socket;
    if (!s.writableNeedDrain || this.ended) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        s.off("drain", done);
        s.off("close", done);
        resolve();
      };
      s.on("drain", done);
      s.on("close", done);
    });
  }

  #attach(s: Socket): void {
    s.setNoDelay(true);
    s.on("error", (err) => {
      this.log.debug("Socket error", { error: err.message });
      s.destroy();
    });
    s.on("data", (buf: Uint8Array) => {
      this.lastInput = this.deadlines.now();
      this.received += buf.length;
      this.queue.push(buf);
      // The session takes input in order, one buffer after another. While it is busy (a
      // commit), a client that keeps sending is held back by TCP, not by our memory: pausing
      // and resuming costs a round of the socket's read loop, so it is done only then.
      if (this.queue.length >= MAX_QUEUED && !this.#paused) {
        this.#paused = true;
        s.pause();
      }
      if (!this.busy && !this.inputHeld) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.busy = true;
    let upgrade = false;
    try {
      while (!this.ended) {
        const input = this.nextInput();
        if (input === undefined) break;
        // Awaited only when the session has to wait: a synchronous answer is written here and
        // now, in the same turn as the read, before the socket reads again.
        const answer = this.session.receive(input);
        const out = answer instanceof Promise ? await answer : answer;
        this.emit(out);
        if (out.startTls) {
          upgrade = true;
          break;
        }
        const wait = this.answered(out);
        if (wait !== undefined) await wait;
      }
    } catch (err) {
      // One failure stays in one connection: tell the client, log the stack, carry on serving.
      this.log.error(`Internal error in ${this.sessionName}`, {
        error: err instanceof Error ? err.message : String(err),
        stack: err instanceof Error ? err.stack : undefined,
      });
      this.emit(this.internalError());
    } finally {
      this.busy = false;
    }
    if (this.ended) return;
    if (upgrade) return this.#startTls();
    if (this.#closeRequested && this.mayShutdown()) {
      this.emit(this.session.shutdown());
      return;
    }
    this.settled();
    if (this.#paused) {
      this.#paused = false;
      this.socket.resume();
    }
  }

  /**
   * The handshake once our go-ahead has been flushed (RFC 3207, RFC 9051 §6.2.1, RFC 2595 §4).
   * Bytes the client pipelined after its command were sent in the clear and are dropped, never
   * executed (RFC 3207 §6).
   */
  #startTls(): void {
    this.queue.length = 0;
    this.#upgradeUntil = this.deadlines.now() + this.handshakeMs();
    this.upgrading();
    upgradeToTls(this.socket, this.log, {
      context: this.#tls!,
      ended: () => this.ended,
      wrapped: (secure) => {
        this.socket = secure;
        // Nothing the client sent in the clear may be read as a command after the handshake.
        this.queue.length = 0;
      },
      secure: (secure) => {
        this.#upgradeUntil = undefined;
        this.lastInput = this.deadlines.now();
        const tls = describeTls(secure);
        this.log.debug("TLS started", { tls });
        this.session.tlsStarted(tls);
        this.#attach(secure);
        secure.resume();
      },
    });
  }
}

/**
 * Writes the last words of a connection (SMTP's 221, IMAP's BYE and OK, POP3's +OK), then
 * closes the socket outright once they are with the kernel, and calls FLUSHED. The close waits
 * for the callback of the last real write: under Deno a TLS socket never calls back an empty
 * one. It is not done from inside that callback, where the stream is still finishing the write
 * and would fail its bookkeeping with an ERR_STREAM_DESTROYED. Closed outright, not half-closed
 * to wait for the peer's FIN: clients that reset the connection after their last command (as
 * Postfix's smtp-source does) would otherwise cost a read error with a stack trace each.
 */
export function writeLastWords(
  socket: Socket,
  chunks: readonly (Uint8Array | string)[],
  flushed: () => void,
): void {
  const done = () => {
    flushed();
    setImmediate(() => socket.destroy());
  };
  const real = chunks.filter((c) => c.length > 0);
  socket.cork();
  real.forEach((c, i) => socket.write(c, i === real.length - 1 ? done : undefined));
  socket.uncork();
  if (real.length === 0) socket.end(done);
}
