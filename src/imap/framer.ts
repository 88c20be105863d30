/**
 * Command framing (RFC 9051 §2.2, §4.3): splits the client's byte stream into whole commands,
 * each a line that may carry literals, `{n}` CRLF followed by n octets that can hold anything,
 * CRLF included. A synchronizing literal (`{n}`) waits for our `+` continuation before the
 * client sends it; a non-synchronizing one (`{n+}`, RFC 7888 LITERAL+/LITERAL-) comes at once.
 *
 * Everything is bounded before it is buffered: the text of a command, each literal (APPEND's
 * message may be as large as the largest message we accept, other literals are small), and the
 * number of literals in one command. A synchronizing literal over its bound is refused before
 * the client sends it (it then sends nothing more of that command); a non-synchronizing one is
 * on its way already, and the connection is closed after the refusal (RFC 7888 §4).
 *
 * The framer only finds where commands begin and end; command.ts parses what they say.
 *
 * @module
 */
import { concatBytes } from "../bytes.ts";

/** Bounds on what one command may make us buffer. */
export interface FramerLimits {
  /** Octets of command text (everything but literal data), line endings included. */
  readonly maxText: number;
  /** Octets of one literal in any command but APPEND. */
  readonly maxLiteral: number;
  /** Octets of one literal in APPEND (the message): the largest message accepted. */
  readonly maxAppendLiteral: number;
  /** Literals in one command. */
  readonly maxLiterals: number;
}

/**
 * Defaults. Command text as Dovecot's imap_max_line_length (64 KiB): clients send long UID
 * sets. A literal outside APPEND is a name, a password or a search string: 64 KiB is ample.
 */
export const DEFAULT_FRAMER_LIMITS: FramerLimits = {
  maxText: 65_536,
  maxLiteral: 65_536,
  maxAppendLiteral: 26_214_400,
  maxLiterals: 100,
};

/** What the framer produced. */
export type FrameEvent =
  /** A whole command, without its final line ending; literals stay inline with their markers. */
  | { readonly kind: "command"; readonly bytes: Uint8Array }
  /** The client waits for a `+` before it sends a synchronizing literal of SIZE octets. */
  | { readonly kind: "continue"; readonly size: number }
  /**
   * The command was refused and dropped: its text too long, a literal too large or too many.
   * TAG is the command's tag when it could be read. `close`: the client is sending data we
   * will not read (a non-synchronizing literal), so the connection must end after the reply.
   */
  | {
    readonly kind: "refused";
    readonly tag: string | undefined;
    readonly command: string | undefined;
    readonly reason: "too-long" | "literal-too-large" | "too-many-literals";
    readonly close: boolean;
  };

const LF = 0x0a;
const CR = 0x0d;

/** `{123}` or `{123+}` (or `~{123}`, RFC 3516 literal8) just before the line ending. */
const LITERAL_MARKER = /~?\{([0-9]{1,20})(\+?)\}$/;

/** Incremental command framer. Feed it with {@link CommandFramer.push}. */
export class CommandFramer {
  readonly #limits: FramerLimits;
  /** Pieces of the command under way. */
  #parts: Uint8Array[] = [];
  /** Pieces of the text line under way (since the last literal). */
  #line: Uint8Array[] = [];
  #text = 0;
  #literals = 0;
  /** Octets of literal data still to come; 0 while reading text. */
  #literalLeft = 0;
  /** Discarding a too-long line up to its end. */
  #discarding = false;
  #discardTag: string | undefined;
  #discardCommand: string | undefined;
  /** The first line's start, kept to learn the tag and command name. */
  #head: string | undefined;

  constructor(limits: FramerLimits = DEFAULT_FRAMER_LIMITS) {
    this.#limits = limits;
  }

  /** Octets held for the command under way. */
  get buffered(): number {
    return this.#parts.reduce((n, p) => n + p.length, 0);
  }

  /** Whether a command is under way (some of it has arrived). */
  get midCommand(): boolean {
    return this.#parts.length > 0 || this.#literalLeft > 0 || this.#discarding;
  }

  /** Takes BUF and returns what it completed, in order. Bytes past the last event are kept. */
  push(buf: Uint8Array): FrameEvent[] {
    const events: FrameEvent[] = [];
    let at = 0;
    while (at < buf.length) {
      if (this.#literalLeft > 0) {
        const take = Math.min(this.#literalLeft, buf.length - at);
        this.#parts.push(buf.subarray(at, at + take));
        this.#literalLeft -= take;
        at += take;
        continue;
      }
      const lf = buf.indexOf(LF, at);
      const end = lf < 0 ? buf.length : lf + 1;
      const piece = buf.subarray(at, end);
      at = end;
      if (this.#discarding) {
        if (lf >= 0) events.push(this.#endDiscard());
        continue;
      }
      this.#text += piece.length;
      if (this.#text > this.#limits.maxText) {
        this.#learnHead(piece);
        this.#startDiscard();
        if (lf >= 0) events.push(this.#endDiscard());
        continue;
      }
      this.#parts.push(piece);
      this.#line.push(piece);
      if (lf < 0) continue;
      const event = this.#lineEnded();
      if (event) events.push(event);
    }
    return events;
  }

  /** A line of text ended: the command is whole, or a literal follows. */
  #lineEnded(): FrameEvent | undefined {
    const line = this.#lastLine();
    if (this.#head === undefined) this.#head = line;
    const m = LITERAL_MARKER.exec(line);
    if (!m) {
      const all = concatBytes(this.#parts);
      const cut = all.length >= 2 && all[all.length - 2] === CR ? 2 : 1;
      this.#reset();
      return { kind: "command", bytes: all.subarray(0, all.length - cut) };
    }
    const size = Number(m[1]);
    const nonSync = m[2] === "+";
    const { tag, command } = splitHead(this.#head);
    const limit = command === "APPEND" ? this.#limits.maxAppendLiteral : this.#limits.maxLiteral;
    const refuse = (reason: "literal-too-large" | "too-many-literals"): FrameEvent => {
      this.#reset();
      // A non-synchronizing literal's data is on its way and will not be read: nothing after
      // it can be trusted to be a command.
      return { kind: "refused", tag, command, reason, close: nonSync };
    };
    if (!Number.isSafeInteger(size) || size > limit) return refuse("literal-too-large");
    if (++this.#literals > this.#limits.maxLiterals) return refuse("too-many-literals");
    this.#literalLeft = size;
    return nonSync ? undefined : { kind: "continue", size };
  }

  /** The text of the line just ended (from after the last literal), without its line ending. */
  #lastLine(): string {
    const bytes = this.#line.length === 1 ? this.#line[0]! : concatBytes(this.#line);
    this.#line = [];
    let end = bytes.length - 1;
    if (end > 0 && bytes[end - 1] === CR) end--;
    return new TextDecoder().decode(bytes.subarray(0, end));
  }

  #learnHead(piece: Uint8Array): void {
    if (this.#head !== undefined) return;
    const first = this.#parts.length > 0 ? concatBytes([...this.#parts, piece]) : piece;
    this.#head = new TextDecoder().decode(first.subarray(0, Math.min(first.length, 200)));
  }

  #startDiscard(): void {
    const { tag, command } = splitHead(this.#head ?? "");
    this.#discardTag = tag;
    this.#discardCommand = command;
    this.#reset();
    this.#discarding = true;
  }

  #endDiscard(): FrameEvent {
    this.#discarding = false;
    const event: FrameEvent = {
      kind: "refused",
      tag: this.#discardTag,
      command: this.#discardCommand,
      reason: "too-long",
      close: false,
    };
    this.#discardTag = this.#discardCommand = undefined;
    return event;
  }

  #reset(): void {
    this.#parts = [];
    this.#line = [];
    this.#text = 0;
    this.#literals = 0;
    this.#literalLeft = 0;
    this.#head = undefined;
  }
}

const TAG = /^([^\x00-\x20\x7f(){%*"\\+]{1,64}) ((?:UID )?[A-Za-z0-9-]+)?/i;

/**
 * The tag and (upper-cased) command name at the start of a command, where they can be read: a
 * tag is only taken when a space follows it, and only a short one is echoed back.
 */
export function splitHead(head: string): { tag: string | undefined; command: string | undefined } {
  const m = TAG.exec(head);
  if (!m) return { tag: undefined, command: undefined };
  const name = m[2]?.toUpperCase();
  return { tag: m[1], command: name };
}
