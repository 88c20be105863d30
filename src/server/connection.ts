/**
 * The I/O driver of one SMTP connection: moves bytes between a socket and an
 * {@link SmtpSession} through the shared {@link SocketDriver}, and adds what is SMTP's own: the
 * greeting in two parts with the early-talker gap between them, the idle timeouts of a command
 * and of DATA, the per-line deadline, and a shutdown that waits for a transaction to end.
 *
 * @module
 */
import type { Socket } from "node:net";
import { setImmediate } from "node:timers";
import type { SecureContext } from "node:tls";
import type { Logger } from "../log.ts";
import type { Output, SmtpSession } from "../smtp/session.ts";
import { formatReply, reply } from "../smtp/reply.ts";
import type { DeadlineSweeper } from "./deadlines.ts";
import { SocketDriver, writeLastWords } from "./socket_driver.ts";

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

/**
 * Drives one session over one socket. Its deadlines (idle, per line, linger) are checked by a
 * shared {@link DeadlineSweeper}, not by a timer of its own.
 */
export class Connection extends SocketDriver<SmtpSession, Output> {
  readonly #timers: ConnectionTimers;
  /** When the line under way began; undefined when no line is under way. */
  #lineSince: number | undefined;
  protected readonly sessionName = "session";

  /** `tls` gives the certificate for STARTTLS; absent when TLS is off. */
  constructor(
    socket: Socket,
    session: SmtpSession,
    timers: ConnectionTimers,
    deadlines: DeadlineSweeper,
    log: Logger,
    tls?: () => SecureContext,
  ) {
    super(socket, deadlines, log, tls);
    this.session = session;
    this.#timers = timers;
    // Nothing the client sends is read before the greeting is complete.
    this.inputHeld = true;
  }

  start(): void {
    this.begin();
    // An early talker, typical of spam bots, speaks before the greeting has ended, where a
    // client must wait for it (RFC 5321 §3.1). With a configured wait, the greeting goes out in
    // two parts and input in the gap between them gives the bot away. Without one the gap is
    // one event-loop turn, too short for a round trip: the greeting is then written whole
    // after it (one write less per connection), and input that came first gives the bot away.
    const greeting = this.session.greeting().write;
    const cut = this.#timers.greetWait > 0 ? greeting.indexOf("\r\n") + 2 : 0;
    if (cut > 0) this.socket.write(greeting.slice(0, cut));
    this.#afterGreetWait(() => {
      if (this.ended) return;
      if (this.queue.length > 0) {
        this.log.info("Early talker refused");
        this.queue.length = 0;
        this.emit(this.session.earlyTalker());
        return;
      }
      this.inputHeld = false;
      this.socket.write(greeting.slice(cut));
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
   * The idle timeout (RFC 5321 §4.5.3.2.7: waiting for a command; §4.5.3.2.5/6: for the next
   * bytes of DATA) and the per-line deadline count only while the session waits for the client,
   * never while it is busy with what the client sent.
   */
  protected expire(now: number): void {
    if (this.busy) return;
    const idle = this.session.state === "data" ? this.#timers.data : this.#timers.command;
    if (now - this.lastInput >= idle) {
      this.emit(this.session.timeout());
    } else if (
      this.#lineSince !== undefined && now - this.#lineSince >= this.#timers.lineDeadline
    ) {
      this.log.info("Line deadline exceeded");
      this.emit(this.session.timeout());
    }
  }

  /** The handshake must end within the command timeout. */
  protected handshakeMs(): number {
    return this.#timers.command;
  }

  /** Shutdown lets a transaction under way finish (RFC 5321 §3.8). */
  protected override mayShutdown(): boolean {
    return !this.session.inTransaction;
  }

  protected settled(): void {
    // The per-line deadline runs from the moment a line begins until it ends.
    if (!this.session.midLine) this.#lineSince = undefined;
    else this.#lineSince ??= this.deadlines.now();
  }

  protected override upgrading(): void {
    this.#lineSince = undefined;
  }

  protected write(out: Output): void {
    if (out.write) this.socket.write(out.write);
  }

  /** RFC 5321 §4.1.1.10: the closing reply, then the close. */
  protected writeLast(out: Output, flushed: () => void): void {
    writeLastWords(this.socket, [out.write], flushed);
  }

  protected internalError(): Output {
    return {
      write: formatReply(reply(421, "4.3.0", "Internal error, closing connection")),
      close: true,
    };
  }
}
