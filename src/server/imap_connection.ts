/**
 * The I/O driver of one IMAP connection: moves bytes between a socket and an
 * {@link ImapSession} through the shared {@link SocketDriver} (which performs the STARTTLS
 * upgrade, RFC 9051 §6.2.1), and adds what is IMAP's own: the autologout and progress
 * deadlines, output the session sends unasked (`notify`, `drained`), and a step's answers
 * coalesced into few writes. The session decides everything else.
 *
 * @module
 */
import { concatBytes } from "../bytes.ts";
import type { Socket } from "node:net";
import type { SecureContext } from "node:tls";
import type { Logger } from "../log.ts";
import type { ImapSession } from "../imap/session.ts";
import type { Output } from "../imap/session_types.ts";
import type { DeadlineSweeper } from "./deadlines.ts";
import { SocketDriver, writeLastWords } from "./socket_driver.ts";

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
export class ImapConnection extends SocketDriver<ImapSession, Output> {
  readonly #timers: ImapTimers;
  /** While a command is under way: when it last made progress, and how far it had got. */
  #progressSince: number | undefined;
  #progressAt = 0;
  protected readonly sessionName = "IMAP session";

  constructor(
    socket: Socket,
    timers: ImapTimers,
    deadlines: DeadlineSweeper,
    log: Logger,
    tls?: () => SecureContext,
  ) {
    super(socket, deadlines, log, tls);
    this.#timers = timers;
  }

  /** The session's way to speak unasked (IDLE updates, a long FETCH): written at once. */
  readonly notify = (out: Output): void => this.emit(out);

  /** Resolves once the socket has room for more output (or is gone). */
  readonly drained = (): Promise<void> => this.writable();

  start(session: ImapSession): void {
    this.session = session;
    this.begin();
    this.emit(session.greeting());
  }

  protected expire(now: number): void {
    if (this.busy) return;
    if (now - this.lastInput >= this.#timers.idle) {
      this.emit(this.session.timeout());
    } else if (
      this.#progressSince !== undefined && now - this.#progressSince >= this.#timers.progress
    ) {
      this.log.info("Command deadline exceeded");
      this.emit(this.session.timeout());
    }
  }

  protected handshakeMs(): number {
    return this.#timers.progress;
  }

  protected settled(): void {
    // The progress deadline runs while a command is under way.
    if (!this.session.midCommand) this.#progressSince = undefined;
    else if (
      this.#progressSince === undefined || this.received - this.#progressAt >= PROGRESS_BYTES
    ) {
      this.#progressSince = this.deadlines.now();
      this.#progressAt = this.received;
    }
  }

  protected override upgrading(): void {
    this.#progressSince = undefined;
  }

  protected write(out: Output): void {
    const socket = this.socket;
    const chunks = coalesce(out.write);
    if (chunks.length === 1) socket.write(chunks[0]!);
    else if (chunks.length > 1) {
      socket.cork();
      for (const chunk of chunks) socket.write(chunk);
      socket.uncork();
    }
  }

  /** RFC 9051 §6.1.3: the last words (BYE, LOGOUT's OK), then the close. */
  protected writeLast(out: Output, flushed: () => void): void {
    writeLastWords(this.socket, out.write, flushed);
  }

  protected internalError(): Output {
    return {
      write: [new TextEncoder().encode("* BYE Internal error, closing connection\r\n")],
      close: true,
    };
  }
}
