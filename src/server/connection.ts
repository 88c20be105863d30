/**
 * The I/O driver of one SMTP connection: moves bytes between a socket and an
 * {@link SmtpSession}, owns the timers, and performs the STARTTLS upgrade. It is the only code
 * that touches the socket.
 *
 * @module
 */
import type { Socket } from "node:net";
import { setImmediate } from "node:timers";
import type { SecureContext, TLSSocket } from "node:tls";
import { upgradeToTls } from "./starttls.ts";
import type { Logger } from "../log.ts";
import type { Output, SmtpSession } from "../smtp/session.ts";
import { formatReply, reply } from "../smtp/reply.ts";
import type { DeadlineSweeper, Expiring } from "./deadlines.ts";

/** How long a socket we have closed may wait for the peer to close its side. */
export const LINGER_MS = 5000;

/** Input buffers held while the session is busy before reading from the socket pauses. */
const MAX_QUEUED = 4;

/** Timers, in milliseconds. */
export interface ConnectionTimers {
  /** Waiting for a command (RFC 5321 §4.5.3.2.7: 5 minutes). */
  readonly command: number;
  /** Waiting for the next bytes of DATA (RFC 5321 §4.5.3.2.5/6). */
  readonly data: number;
  /**
   * A begun line (command or DATA) must end within this, however the bytes trickle in: an
   * idle timeout alone is defeated by one byte every few seconds (slowloris).
   */
  readonly lineDeadline: number;
  /** Gap between the greeting's two lines; input in the gap marks an early talker. */
  readonly greetWait: number;
}

/** Describes the TLS session of a socket for logs and Received: `TLSv1.3 TLS_AES_256_GCM_SHA384`. */
export function describeTls(s: TLSSocket): string {
  return `${s.getProtocol() ?? "TLS"} ${s.getCipher()?.name ?? ""}`.trim();
}

/**
 * Drives one session over one socket. Its deadlines (idle, per line, linger) are checked by a
 * shared {@link DeadlineSweeper}, not by a timer of its own.
 */
export class Connection implements Expiring {
  #socket: Socket;
  readonly #session: SmtpSession;
  readonly #timers: ConnectionTimers;
  readonly #log: Logger;
  readonly #tls: (() => SecureContext) | undefined;
  readonly #deadlines: DeadlineSweeper;
  readonly #queue: Uint8Array[] = [];
  #busy = false;
  #paused = false;
  #closeRequested = false;
  #ended = false;
  #greeted = false;
  /** While the STARTTLS handshake runs: when it must have ended. */
  #upgradeUntil: number | undefined;
  /** When the client last sent anything: the idle timeout counts from here. */
  #lastInput: number;
  /** When the line under way began; undefined when no line is under way. */
  #lineSince: number | undefined;
  /** After our side has closed: when a socket still open is destroyed. */
  #lingerUntil: number | undefined;
  readonly #finished = Promise.withResolvers<void>();
  readonly #closed = Promise.withResolvers<void>();

  /** `tls` gives the certificate for STARTTLS; absent when TLS is off. */
  constructor(
    socket: Socket,
    session: SmtpSession,
    timers: ConnectionTimers,
    deadlines: DeadlineSweeper,
    log: Logger,
    tls?: () => SecureContext,
  ) {
    this.#socket = socket;
    this.#session = session;
    this.#timers = timers;
    this.#deadlines = deadlines;
    this.#log = log;
    this.#tls = tls;
    this.#lastInput = deadlines.now();
  }

  /** Resolves once the socket is closed. */
  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  /** Resolves once our last word is flushed and we closed our side (or the socket closed). */
  get finished(): Promise<void> {
    return this.#finished.promise;
  }

  start(): void {
    this.#attach(this.#socket);
    this.#deadlines.add(this);
    this.#socket.once("close", () => {
      this.#deadlines.delete(this);
      this.#closed.resolve();
      this.#finished.resolve();
    });
    // An early talker, typical of spam bots, speaks before the greeting has ended, where a
    // client must wait for it (RFC 5321 §3.1). With a configured wait, the greeting goes out in
    // two parts and input in the gap between them gives the bot away. Without one the gap is
    // one event-loop turn, too short for a round trip: the greeting is then written whole
    // after it (one write less per connection), and input that came first gives the bot away.
    const greeting = this.#session.greeting().write;
    const cut = this.#timers.greetWait > 0 ? greeting.indexOf("\r\n") + 2 : 0;
    if (cut > 0) this.#socket.write(greeting.slice(0, cut));
    this.#afterGreetWait(() => {
      if (this.#ended) return;
      if (this.#queue.length > 0) {
        this.#log.info("Early talker refused");
        this.#queue.length = 0;
        this.#emit(this.#session.earlyTalker());
        return;
      }
      this.#greeted = true;
      this.#socket.write(greeting.slice(cut));
    });
  }

  /**
   * Runs FN after the greeting gap: with no configured wait, after pending I/O has been polled
   * (setImmediate), which costs microseconds; a zero setTimeout costs milliseconds under Deno,
   * which is what this gap must never cost a legitimate client.
   */
  #afterGreetWait(fn: () => void): void {
    if (this.#timers.greetWait > 0) setTimeout(fn, this.#timers.greetWait);
    else setImmediate(fn);
  }

  /**
   * Acts on expired deadlines. The idle timeout (RFC 5321 §4.5.3.2.7: waiting for a command;
   * §4.5.3.2.5/6: for the next bytes of DATA) and the per-line deadline count only while the
   * session waits for the client, never while it is busy with what the client sent.
   */
  sweep(now: number): void {
    if (this.#lingerUntil !== undefined) {
      if (now >= this.#lingerUntil) this.#socket.destroy();
      return;
    }
    if (this.#upgradeUntil !== undefined) {
      // The whole handshake must end within the command timeout, however slowly its bytes
      // come: a deadline, not an idle timer that each byte would re-arm.
      if (now >= this.#upgradeUntil) {
        this.#log.info("TLS handshake timed out");
        this.#socket.destroy();
      }
      return;
    }
    if (this.#ended || this.#busy) return;
    const idle = this.#session.state === "data" ? this.#timers.data : this.#timers.command;
    if (now - this.#lastInput >= idle) {
      this.#emit(this.#session.timeout());
    } else if (
      this.#lineSince !== undefined && now - this.#lineSince >= this.#timers.lineDeadline
    ) {
      this.#log.info("Line deadline exceeded");
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
      this.#queue.push(buf);
      // The session takes input in order, one buffer after another. While it is busy (a
      // commit), a client that keeps sending is held back by TCP, not by our memory: pausing
      // and resuming costs a round of the socket's read loop, so it is done only then.
      if (this.#queue.length >= MAX_QUEUED && !this.#paused) {
        this.#paused = true;
        s.pause();
      }
      if (!this.#busy && this.#greeted) void this.#drain();
    });
  }

  /**
   * Asks the connection to close for shutdown: at once when no transaction is in flight,
   * otherwise as soon as the current one ends.
   */
  requestClose(): void {
    this.#closeRequested = true;
    if (!this.#busy && !this.#session.inTransaction) this.#emit(this.#session.shutdown());
  }

  /** Drops the connection without a word (second signal, shutdown grace over). */
  destroy(): void {
    this.#ended = true;
    this.#socket.destroy();
  }

  async #drain(): Promise<void> {
    this.#busy = true;
    let upgrade = false;
    try {
      while (this.#queue.length > 0 && !this.#ended) {
        // Awaited only when the session has to wait: a synchronous answer is written here and
        // now, in the same turn as the read, before the socket reads again.
        const answer = this.#session.receive(this.#queue.shift()!);
        const out = answer instanceof Promise ? await answer : answer;
        this.#emit(out);
        if (out.startTls) {
          upgrade = true;
          break;
        }
      }
    } catch (err) {
      // One failure stays in one connection: tell the client, log the stack, carry on serving.
      this.#log.error("Internal error in session", {
        error: err instanceof Error ? err.message : String(err),
        stack: err instanceof Error ? err.stack : undefined,
      });
      this.#emit({
        write: formatReply(reply(421, "4.3.0", "Internal error, closing connection")),
        close: true,
      });
    } finally {
      this.#busy = false;
    }
    if (this.#ended) return;
    if (upgrade) return this.#startTls();
    if (this.#closeRequested && !this.#session.inTransaction) {
      this.#emit(this.#session.shutdown());
      return;
    }
    // The per-line deadline runs from the moment a line begins until it ends.
    if (!this.#session.midLine) this.#lineSince = undefined;
    else this.#lineSince ??= this.#deadlines.now();
    if (this.#paused) {
      this.#paused = false;
      this.#socket.resume();
    }
  }

  /**
   * RFC 3207: after our 220 has been flushed, the handshake. Bytes the client pipelined after
   * STARTTLS were sent in the clear and are dropped, never executed (RFC 3207 §6).
   */
  #startTls(): void {
    const plain = this.#socket;
    this.#queue.length = 0;
    this.#upgradeUntil = this.#deadlines.now() + this.#timers.command;
    this.#lineSince = undefined;
    upgradeToTls(plain, this.#log, {
      context: this.#tls!,
      ended: () => this.#ended,
      wrapped: (secure) => {
        this.#socket = secure;
        // Nothing the client sent in the clear may be read as a command after the handshake.
        this.#queue.length = 0;
      },
      secure: (secure) => {
        this.#upgradeUntil = undefined;
        this.#lastInput = this.#deadlines.now();
        const tls = describeTls(secure);
        this.#log.debug("TLS started", { tls });
        this.#session.tlsStarted(tls);
        this.#attach(secure);
        secure.resume();
      },
    });
  }

  #emit(out: Output): void {
    if (this.#ended) return;
    if (!out.close) {
      if (out.write) this.#socket.write(out.write);
      return;
    }
    this.#ended = true;
    const socket = this.#socket;
    // RFC 5321 §4.1.1.10: the closing reply, then the close. Once the reply is with the kernel
    // the socket is closed outright, not half-closed to wait for the peer's FIN: clients that
    // reset the connection after QUIT (as Postfix's smtp-source does) would otherwise cost a
    // read error with a formatted stack trace each.
    socket.write(out.write ?? "", () => {
      this.#finished.resolve();
      // Not from inside the write's own callback: the stream would still be finishing that
      // write, and fail its bookkeeping with an ERR_STREAM_DESTROYED (a stack trace each).
      setImmediate(() => socket.destroy());
    });
    // A peer that never reads would keep the write, and the socket, pending.
    this.#lingerUntil = this.#deadlines.now() + LINGER_MS;
  }
}
