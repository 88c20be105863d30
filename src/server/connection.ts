/**
 * The I/O driver of one SMTP connection: moves bytes between a socket and an
 * {@link SmtpSession}, and owns the timers. It is the only code that touches the socket.
 *
 * @module
 */
import type { Socket } from "node:net";
import type { Logger } from "@logtape/logtape";
import type { Output, SmtpSession } from "../smtp/session.ts";
import { formatReply, reply } from "../smtp/reply.ts";
import { LINGER_MS } from "./server.ts";

/** Timeouts in milliseconds. */
export interface ConnectionTimeouts {
  /** Waiting for a command (RFC 5321 §4.5.3.2.7: 5 minutes). */
  readonly command: number;
  /** Waiting for the next bytes of DATA (RFC 5321 §4.5.3.2.5/6). */
  readonly data: number;
}

/** Drives one session over one socket. */
export class Connection {
  readonly #socket: Socket;
  readonly #session: SmtpSession;
  readonly #timeouts: ConnectionTimeouts;
  readonly #log: Logger;
  readonly #queue: Uint8Array[] = [];
  #busy = false;
  #closeRequested = false;
  #ended = false;
  /** Resolves once the socket is closed. */
  readonly closed: Promise<void>;
  readonly #finished = Promise.withResolvers<void>();

  constructor(socket: Socket, session: SmtpSession, timeouts: ConnectionTimeouts, log: Logger) {
    this.#socket = socket;
    this.#session = session;
    this.#timeouts = timeouts;
    this.#log = log;
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
    void this.closed.then(this.#finished.resolve);
  }

  /** Resolves once our last word is flushed and we closed our side (or the socket closed). */
  get finished(): Promise<void> {
    return this.#finished.promise;
  }

  start(): void {
    const s = this.#socket;
    s.setNoDelay(true);
    s.setTimeout(this.#timeouts.command);
    s.on("timeout", () => this.#emit(this.#session.timeout()));
    s.on("error", (err) => {
      this.#log.debug("Socket error", { error: err.message });
      s.destroy();
    });
    s.on("data", (buf: Uint8Array) => {
      this.#queue.push(buf);
      if (!this.#busy) void this.#drain();
    });
    this.#emit(this.#session.greeting());
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
    // No more reading until this input is answered: the session sees bytes in order, and a
    // client that floods us is held back by TCP instead of our memory.
    this.#socket.pause();
    try {
      while (this.#queue.length > 0 && !this.#ended) {
        const buf = this.#queue.shift()!;
        const out = await this.#session.receive(buf);
        this.#emit(out);
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
    if (this.#closeRequested && !this.#session.inTransaction) {
      this.#emit(this.#session.shutdown());
      return;
    }
    this.#socket.setTimeout(
      this.#session.state === "data" ? this.#timeouts.data : this.#timeouts.command,
    );
    this.#socket.resume();
  }

  #emit(out: Output): void {
    if (this.#ended) return;
    if (out.write) this.#socket.write(out.write);
    if (out.close) {
      this.#ended = true;
      this.#socket.end(() => this.#finished.resolve());
      // A peer that never closes its side must not keep the socket open.
      this.#socket.setTimeout(LINGER_MS, () => this.#socket.destroy());
    }
  }
}
