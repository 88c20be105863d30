/**
 * SMTP replies: the one place where reply lines are formatted and parsed.
 *
 * RFC 5321 §4.2: a reply is a three-digit code, then text; all lines but the last of a
 * multi-line reply put "-" after the code, the last one a space.
 * RFC 2034 / RFC 3463: with ENHANCEDSTATUSCODES, each line's text starts with
 * `class.subject.detail`, whose class matches the first digit of the reply code.
 *
 * @module
 */

/** One SMTP reply, possibly spanning several lines. */
export interface Reply {
  /** Three-digit reply code (RFC 5321 §4.2.1). */
  readonly code: number;
  /** Enhanced status code (RFC 3463), such as `"2.0.0"`; omitted for greetings and 334. */
  readonly enhanced?: string | undefined;
  /** Text lines, without code or status; at least one (it may be empty). */
  readonly lines: readonly string[];
}

const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})$/;

/** Builds a reply; `text` may hold several lines separated by "\n". */
export function reply(code: number, enhanced: string | undefined, text: string): Reply {
  return { code, enhanced, lines: text.split("\n") };
}

/**
 * Formats a reply for the wire, CRLF after every line.
 *
 * `withEnhanced` is whether the session negotiated ENHANCEDSTATUSCODES (after EHLO).
 */
export function formatReply(r: Reply, withEnhanced = true): string {
  const status = withEnhanced && r.enhanced ? `${r.enhanced} ` : "";
  let out = "";
  // A reply has at least one line, even when no text was given.
  const lines = r.lines.length > 0 ? r.lines : [""];
  const last = lines.length - 1;
  for (let i = 0; i <= last; i++) {
    // Reply text is ours, but it may echo client input: never let a CR or LF through, or a
    // client could forge extra reply lines.
    const text = (lines[i] ?? "").replace(/[\r\n]/g, " ");
    const sep = i === last ? " " : "-";
    const body = `${status}${text}`;
    // RFC 4954 §4 wants the space even when the text is empty ("334 ").
    out += `${r.code}${sep}${body}\r\n`;
  }
  return out;
}

/**
 * An error that is also an SMTP reply. Anything in the server that refuses something throws
 * one; the session turns it into the reply. Any other error becomes `451 4.3.0`.
 */
export class SmtpError extends Error {
  readonly code: number;
  readonly enhanced: string;
  /** Whether the failure is transient (4xx): a client may retry later. */
  get temporary(): boolean {
    return this.code >= 400 && this.code < 500;
  }

  constructor(code: number, enhanced: string, text: string, options?: ErrorOptions) {
    super(text, options);
    this.name = "SmtpError";
    this.code = code;
    this.enhanced = enhanced;
  }

  toReply(): Reply {
    return reply(this.code, this.enhanced, this.message);
  }

  override toString(): string {
    return `${this.code} ${this.enhanced} ${this.message}`;
  }
}

/** Turns whatever was thrown into a reply: an SmtpError as itself, anything else as 451. */
export function errorToReply(err: unknown): Reply {
  if (err instanceof SmtpError) return err.toReply();
  return reply(451, "4.3.0", "Local error in processing, try again later");
}

/** A reply received from a peer, as the client reads it. */
export interface ParsedReply extends Reply {
  /** The text of each line with code and enhanced status removed. */
  readonly lines: readonly string[];
}

/** Why a reply line could not be parsed. */
export class ReplySyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReplySyntaxError";
  }
}

/**
 * Incremental multi-line reply parser for the client side: feed lines (without CRLF); it
 * returns a reply once the last line has arrived.
 */
export class ReplyParser {
  #code = 0;
  #lines: string[] = [];

  /** Feeds one line; returns the complete reply when this was its last line. */
  push(line: string): ParsedReply | undefined {
    try {
      return this.#push(line);
    } catch (err) {
      // A malformed reply ends the exchange; a parser reused afterwards starts clean.
      this.#lines = [];
      throw err;
    }
  }

  #push(line: string): ParsedReply | undefined {
    // RFC 5321 §4.2: Reply-code, then "-" or SP and text, or the bare code on a last line;
    // "250abc" is not a reply line.
    const m = /^([2-5]\d\d)(?:([ -])(.*))?$/s.exec(line);
    if (!m) {
      throw new ReplySyntaxError(`Malformed reply line: ${JSON.stringify(line.slice(0, 80))}`);
    }
    const code = Number(m[1]);
    if (this.#lines.length > 0 && code !== this.#code) {
      throw new ReplySyntaxError(`Reply code changed inside a multi-line reply: ${code}`);
    }
    this.#code = code;
    this.#lines.push(m[3] ?? "");
    if (m[2] === "-") return undefined;
    const lines = this.#lines;
    this.#lines = [];
    // The enhanced code is taken from the first line and stripped from every line that has it.
    const first = lines[0] ?? "";
    const sp = first.indexOf(" ");
    const candidate = sp < 0 ? first : first.slice(0, sp);
    const em = ENHANCED.exec(candidate);
    if (em && em[1] === String(code)[0]) {
      // Only a whole status word is stripped: "2.0.0 text" or "2.0.0", never "2.0.0x".
      const stripped = lines.map((l) =>
        l === candidate ? "" : l.startsWith(`${candidate} `) ? l.slice(candidate.length + 1) : l
      );
      return { code, enhanced: candidate, lines: stripped };
    }
    return { code, enhanced: undefined, lines };
  }
}

/** `"550 5.1.1 No such user"`: a reply on one line, for logs and client error messages. */
export function replyToString(r: Reply): string {
  return [String(r.code), r.enhanced, r.lines.join(" ")].filter((s) => s).join(" ");
}
