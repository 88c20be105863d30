/**
 * The I/O driver of one POP3 connection: moves bytes between a socket and a
 * {@link Pop3Session} through the shared {@link SocketDriver} (which performs the STLS upgrade,
 * RFC 2595 §4), and adds what is POP3's own: its deadlines and the linger below, and pipelined
 * commands held back until the answers before them have drained. The session decides
 * everything else.
 *
 * Deadlines, checked by the shared {@link DeadlineSweeper}:
 * - idle: the client has neither sent anything nor read any of our output for this long
 *   (RFC 1939 §3: at least 10 minutes). A client reading a large message slowly is not idle.
 * - line: a command line that has begun must end within this (a slowloris sends a byte now
 *   and then to keep the idle timer from firing).
 * - a client that stops reading our output for the idle time is dropped: the output it does
 *   not read is memory we hold for it.
 * - the linger after our last words restarts while the client still takes output: they may
 *   follow a large message still on its way.
 *
 * @module
 */
import type { Socket } from "node:net";
import type { SecureContext } from "node:tls";
import type { Logger } from "../log.ts";
import { err } from "../pop3/response.ts";
import type { Pop3Session } from "../pop3/session.ts";
import type { Output } from "../pop3/session_types.ts";
import type { DeadlineSweeper } from "./deadlines.ts";
import { LINGER_MS, SocketDriver, writeLastWords } from "./socket_driver.ts";

/** Deadlines, in milliseconds. */
export interface Pop3Timers {
  /** Autologout (RFC 1939 §3: at least {@link MIN_POP3_IDLE_MS}). */
  readonly idle: number;
  /** How long a begun command line may take to end; also bounds the TLS handshake. */
  readonly line: number;
}

/** RFC 1939 §3: "the autologout timer MUST be of at least 10 minutes' duration". */
export const MIN_POP3_IDLE_MS = 10 * 60_000;

const EMPTY = new Uint8Array(0);

/** Drives one POP3 session over one socket. */
export class Pop3Connection extends SocketDriver<Pop3Session, Output> {
  readonly #timers: Pop3Timers;
  /** The session holds pipelined commands it has not answered yet (Output.more). */
  #more = false;
  /** When our output last moved: written by us, or taken by the client. */
  #lastOutput: number;
  /** Octets of our output waiting in the socket at the last look. */
  #pendingOutput = 0;
  /** When the command line under way began; undefined when none is. */
  #lineSince: number | undefined;
  protected readonly sessionName = "POP3 session";

  /** `tls` gives the certificate for STLS; absent when TLS is off. */
  constructor(
    socket: Socket,
    timers: Pop3Timers,
    deadlines: DeadlineSweeper,
    log: Logger,
    tls?: () => SecureContext,
  ) {
    super(socket, deadlines, log, tls);
    this.#timers = timers;
    this.#lastOutput = this.lastInput;
  }

  start(session: Pop3Session): void {
    this.session = session;
    // On close, without QUIT nothing is deleted (RFC 1939 §6); the session releases the maildrop.
    this.begin();
    this.emit(session.greeting());
  }

  /**
   * Our last words may follow a large message still on its way: the linger runs from the last
   * time the client took some of it.
   */
  protected override lingering(now: number): void {
    const left = this.socket.writableLength;
    if (left < this.#pendingOutput) this.lingerUntil = now + LINGER_MS;
    this.#pendingOutput = left;
  }

  protected expire(now: number): void {
    const pending = this.socket.writableLength;
    if (pending < this.#pendingOutput) this.#lastOutput = now;
    this.#pendingOutput = pending;
    if (pending > 0 && now - this.#lastOutput >= this.#timers.idle) {
      this.log.info("Client stopped reading");
      this.destroy();
      return;
    }
    if (this.busy) return;
    if (now - Math.max(this.lastInput, this.#lastOutput) >= this.#timers.idle) {
      this.emit(this.session.timeout());
    } else if (this.#lineSince !== undefined && now - this.#lineSince >= this.#timers.line) {
      this.log.info("Line deadline exceeded");
      this.emit(this.session.timeout());
    }
  }

  protected handshakeMs(): number {
    return this.#timers.line;
  }

  /** Commands the session holds come before anything read since. */
  protected override nextInput(): Uint8Array | undefined {
    return this.#more ? EMPTY : this.queue.shift();
  }

  protected override answered(out: Output): Promise<void> | undefined {
    this.#more = out.more === true;
    // The next batch waits until the client has taken this one (RFC 2449 §6.6 lets a client
    // send many commands; it does not make us hold all their answers).
    return this.#more ? this.writable() : undefined;
  }

  protected settled(): void {
    if (!this.session.midLine) this.#lineSince = undefined;
    else this.#lineSince ??= this.deadlines.now();
  }

  protected override upgrading(): void {
    this.#more = false;
    this.#lineSince = undefined;
  }

  protected write(out: Output): void {
    if (out.write.length === 0) return;
    const socket = this.socket;
    socket.cork();
    for (const chunk of out.write) socket.write(chunk);
    socket.uncork();
    this.#lastOutput = this.deadlines.now();
    this.#pendingOutput = socket.writableLength;
  }

  /** The words are written first; the close waits for them (RFC 1939 §6: QUIT's +OK). */
  protected writeLast(out: Output, flushed: () => void): void {
    this.write(out);
    writeLastWords(this.socket, [], flushed);
  }

  protected internalError(): Output {
    return { write: [err("Internal error, closing connection", "SYS/TEMP")], close: true };
  }
}
