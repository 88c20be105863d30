/**
 * The I/O driver of one POP3 connection: moves bytes between a socket and a
 * {@link Pop3Session}, owns its deadlines, holds pipelined commands back until the answers
 * before them have drained, and performs the STLS upgrade (RFC 2595 §4). It is the only POP3
 * code that touches the socket; the session decides everything else.
 *
 * Deadlines, checked by the shared {@link DeadlineSweeper}:
 * - idle: the client has neither sent anything nor read any of our output for this long
 *   (RFC 1939 §3: at least 10 minutes). A client reading a large message slowly is not idle.
 * - line: a command line that has begun must end within this (a slowloris sends a byte now
 *   and then to keep the idle timer from firing).
 * - a client that stops reading our output for the idle time is dropped: the output it does
 *   not read is memory we hold for it.
 *
 * @module
 */
import type { Socket } from "node:net";
import type { SecureContext } from "node:tls";
import { upgradeToTls, writeLastWords } from "./starttls.ts";
import type { Logger } from "../log.ts";
import { err } from "../pop3/response.ts";
import type { Pop3Session } from "../pop3/session.ts";
import type { Output } from "../pop3/session_types.ts";
import { describeTls, LINGER_MS } from "./connection.ts";
import type { DeadlineSweeper, Expiring } from "./deadlines.ts";

/** Deadlines, in milliseconds. */
export interface Pop3Timers {
  /** Autologout (RFC 1939 §3: at least {@link MIN_POP3_IDLE_MS}). */
  readonly idle: number;
  /** How long a begun command line may take to end; also bounds the TLS handshake. */
  readonly line: number;
}

/** RFC 1939 §3: "the autologout timer MUST be of at least 10 minutes' duration". */
export const MIN_POP3_IDLE_MS = 10 * 60_000;

/** Input buffers held while the session is busy before reading from the socket pauses. */
const MAX_QUEUED = 4;

const EMPTY = new Uint8Array(0);

/** Drives one POP3 session over one socket. */
export class Pop3Connection implements Expiring {
  #socket: Socket;
  #session!: Pop3Session;
  readonly #timers: Pop3Timers;
  readonly #log: Logger;
  readonly #tls: (() => SecureContext) | undefined;
  readonly #deadlines: DeadlineSweeper;
  readonly #queue: Uint8Array[] = [];
  #busy = false;
  #paused = false;
  #ended = false;
  #closeRequested = false;
  /** The session holds pipelined commands it has not answered yet (Output.more). */
  #more = false;
  #lastInput: number;
  /** When our output last moved: written by us, or taken by the client. */
  #lastOutput: number;
  /** Octets of our output waiting in the socket at the last look. */
  #pendingOutput = 0;
  /** When the command line under way began; undefined when none is. */
  #lineSince: number | undefined;
  #upgradeUntil: number | undefined;
  #lingerUntil: number | undefined;
  readonly #finished = Promise.withResolvers<void>();
  readonly #closed = Promise.withResolvers<void>();

  /** `tls` gives the certificate for STLS; absent when TLS is off. */
  constructor(
    socket: Socket,
    timers: Pop3Timers,
    deadlines: DeadlineSweeper,
    log: Logger,
    tls?: () => SecureContext,
  ) {
    this.#socket = socket;
    this.#timers = timers;
    this.#deadlines = deadlines;
    this.#log = log;
    this.#tls = tls;
    this.#lastInput = this.#lastOutput = deadlines.now();
  }

  /** Resolves once the socket is closed. */
  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  /** Resolves once our last word is flushed and we closed our side (or the socket closed). */
  get finished(): Promise<void> {
    return this.#finished.promise;
  }

  start(session: Pop3Session): void {
    this.#session = session;
    this.#attach(this.#socket);
    this.#deadlines.add(this);
    this.#socket.once("close", () => {
      this.#deadlines.delete(this);
      // Without QUIT nothing is deleted (RFC 1939 §6); the session releases the maildrop.
      this.#session.closed();
      this.#closed.resolve();
      this.#finished.resolve();
    });
    this.#emit(session.greeting());
  }

  sweep(now: number): void {
    if (this.#lingerUntil !== undefined) {
      // Our last words may follow a large message still on its way: the linger runs from
      // the last time the client took some of it.
      const left = this.#socket.writableLength;
      if (left < this.#pendingOutput) this.#lingerUntil = now + LINGER_MS;
      this.#pendingOutput = left;
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
    if (this.#ended) return;
    const pending = this.#socket.writableLength;
    if (pending < this.#pendingOutput) this.#lastOutput = now;
    this.#pendingOutput = pending;
    if (pending > 0 && now - this.#lastOutput >= this.#timers.idle) {
      this.#log.info("Client stopped reading");
      this.destroy();
      return;
    }
    if (this.#busy) return;
    if (now - Math.max(this.#lastInput, this.#lastOutput) >= this.#timers.idle) {
      this.#emit(this.#session.timeout());
    } else if (this.#lineSince !== undefined && now - this.#lineSince >= this.#timers.line) {
      this.#log.info("Line deadline exceeded");
      this.#emit(this.#session.timeout());
    }
  }

  #attach(s: Socket): void {
    s.setNoDelay(true);
    s.on("error", (e) => {
      this.#log.debug("Socket error", { error: e.message });
      s.destroy();
    });
    s.on("data", (buf: Uint8Array) => {
      this.#lastInput = this.#deadlines.now();
      this.#queue.push(buf);
      if (this.#queue.length >= MAX_QUEUED && !this.#paused) {
        this.#paused = true;
        s.pause();
      }
      if (!this.#busy) void this.#drain();
    });
  }

  /** Asks the connection to close for shutdown: at once unless a command is under way. */
  requestClose(): void {
    if (!this.#busy) this.#emit(this.#session.shutdown());
    else this.#closeRequested = true;
  }

  /** Drops the connection without a word. */
  destroy(): void {
    this.#ended = true;
    this.#socket.destroy();
  }

  async #drain(): Promise<void> {
    this.#busy = true;
    let upgrade = false;
    try {
      while (!this.#ended) {
        let answer: Output | Promise<Output>;
        // Commands the session holds come before anything read since.
        if (this.#more) answer = this.#session.receive(EMPTY);
        else if (this.#queue.length > 0) answer = this.#session.receive(this.#queue.shift()!);
        else break;
        const out = answer instanceof Promise ? await answer : answer;
        this.#more = out.more === true;
        this.#emit(out);
        if (out.startTls) {
          upgrade = true;
          break;
        }
        // The next batch waits until the client has taken this one (RFC 2449 §6.6 lets a
        // client send many commands; it does not make us hold all their answers).
        if (this.#more) await this.#writable();
      }
    } catch (e) {
      this.#log.error("Internal error in POP3 session", {
        error: e instanceof Error ? e.message : String(e),
        stack: e instanceof Error ? e.stack : undefined,
      });
      this.#emit({ write: [err("Internal error, closing connection", "SYS/TEMP")], close: true });
    } finally {
      this.#busy = false;
    }
    if (this.#ended) return;
    if (upgrade) return this.#startTls();
    if (this.#closeRequested) {
      this.#emit(this.#session.shutdown());
      return;
    }
    if (!this.#session.midLine) this.#lineSince = undefined;
    else this.#lineSince ??= this.#deadlines.now();
    if (this.#paused) {
      this.#paused = false;
      this.#socket.resume();
    }
  }

  /** Resolves once the socket has room for more output (or is gone). */
  #writable(): Promise<void> {
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
  }

  /** RFC 2595 §4: the handshake after our +OK is flushed; input sent before it is dropped. */
  #startTls(): void {
    const plain = this.#socket;
    this.#queue.length = 0;
    this.#more = false;
    this.#upgradeUntil = this.#deadlines.now() + this.#timers.line;
    this.#lineSince = undefined;
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
    if (out.write.length > 0) {
      socket.cork();
      for (const chunk of out.write) socket.write(chunk);
      socket.uncork();
      this.#lastOutput = this.#deadlines.now();
      this.#pendingOutput = socket.writableLength;
    }
    if (!out.close) return;
    this.#ended = true;
    // The words were written above; the close waits for them (RFC 1939 §6: QUIT's +OK).
    writeLastWords(socket, [], () => this.#finished.resolve());
    // A peer that never reads would keep the write, and the socket, pending.
    this.#lingerUntil = this.#deadlines.now() + LINGER_MS;
  }
}
