/**
 * IMAP transcripts: a dialogue written down once and played against the pure
 * {@link ImapSession} over a {@link MemoryImapBackend}, fed whole and byte by byte (as
 * tests/_helpers/transcript.ts does for SMTP), so framing never depends on how TCP splits the
 * stream.
 *
 * Lines:
 * - `C: text` a client line; CRLF is appended.
 * - `R: "json string"` raw client bytes (escapes such as \r \n \u0000), nothing appended.
 * - `X: hex` raw client bytes in hexadecimal (for bytes that are not UTF-8).
 * - `S: text` an expected server line, exact; a trailing `*` makes it a prefix match.
 * - `CONFIG: word…` (before the first other line) the session's options: `plain` (a
 *   connection that is not TLS yet, with STARTTLS offered), `insecure-auth` (logins allowed
 *   without TLS), `maxsize=N` (largest message), `maxtext=N`, `maxliteral=N`, `maxerrors=N`.
 *   Without `plain` the connection is TLS already (implicit TLS). `unwatched`: the store never
 *   calls the session's `watch` listener (it learns of changes only by asking).
 * - `DELIVER: user folder "json string"` a message arrives from outside the session (SMTP, another
 *   process), flags none, internal date 02-Jan-2026 03:04:05 +0000.
 * - `DELIVER: user folder (flag flag) "json string"` the same, with flags.
 * - `RACE-DELIVER: user folder "json string"` the same delivery, landing right after the store
 *   has answered the session's next `changes` call (while the session applies that answer).
 * - `FLAGS: user folder uid,uid add|remove|replace flag…` another session changes flags.
 * - `REMOVE: user folder uid,uid` another process removes messages (`mail inbox --delete`).
 *   After each of these the store's change notifications are delivered before the client's
 *   next bytes.
 * - `TIMEOUT:` / `SHUTDOWN:` the driver's autologout timer fires / the server stops.
 * - `CLOSED:` the session has asked for the connection to close.
 * - `MODES: name…` play the transcript only in these of the {@link PLAY_MODES} (default: all).
 * - `KNOWN: n why` the session is known to answer otherwise than line N of the transcript says
 *   (a disagreement with the RFC, reported and awaiting a fix): the test then expects the
 *   transcript to fail there, and fails itself once it passes, so the line goes with the fix.
 * - `# …` and blank lines are comments.
 *
 * Client bytes are sent together up to the next line that is not a client line, so consecutive
 * client lines are pipelined. Output that `notify` delivers (IDLE updates) joins the same
 * stream of server lines. After the last line no server output may be left unread, and no
 * unexpected error may have happened inside the session (one that escapes `receive` is answered
 * as the connection driver answers it: `* BYE Internal error, closing connection`). A STARTTLS
 * that the session accepts is "negotiated" at once (`tlsStarted()`), and client bytes of the same
 * batch after it are dropped, as the driver drops what it holds (RFC 9051 §6.2.1).
 *
 * @module
 */
import { setImmediate } from "node:timers";
import type { FlagMode } from "../../src/imap/backend.ts";
import { ImapSession } from "../../src/imap/session.ts";
import type { Output, SessionOptions } from "../../src/imap/session_types.ts";
import { MemoryImapBackend } from "./memory_imap.ts";

export type ImapStep =
  | { kind: "send"; bytes: Uint8Array; lineNo: number }
  | { kind: "expect"; line: string; prefix: boolean; lineNo: number }
  | {
    kind: "deliver" | "race-deliver";
    user: string;
    folder: string;
    flags: string[];
    message: string;
    lineNo: number;
  }
  | {
    kind: "flags";
    user: string;
    folder: string;
    uids: number[];
    mode: FlagMode;
    flags: string[];
    lineNo: number;
  }
  | { kind: "remove"; user: string; folder: string; uids: number[]; lineNo: number }
  | { kind: "timeout" | "shutdown" | "closed"; lineNo: number };

export interface ImapTranscript {
  readonly name: string;
  readonly options: SessionOptions;
  /** The store never calls `watch` listeners (CONFIG `unwatched`). */
  readonly unwatched: boolean;
  /** The names of the {@link PLAY_MODES} it is played in. */
  readonly modes: readonly string[];
  /** Where and why the session is known to fail this transcript (see `KNOWN:`). */
  readonly known?: { readonly line: number; readonly why: string };
  readonly steps: readonly ImapStep[];
}

/** The session options every transcript starts from (CONFIG changes them). */
export const TRANSCRIPT_OPTIONS: SessionOptions = {
  hostname: "imap.test",
  startTls: false,
  tls: true,
  allowInsecureAuth: false,
  maxMessageSize: 10_000,
};

const enc = new TextEncoder();

function parseConfig(words: readonly string[], where: string): SessionOptions {
  let opts: SessionOptions = { ...TRANSCRIPT_OPTIONS };
  words = words.filter((w) => w !== "unwatched");
  const limits: Record<string, number> = {};
  for (const w of words) {
    const [key, value] = w.split("=");
    const n = Number(value);
    if (w === "plain") opts = { ...opts, tls: false, startTls: true };
    else if (w === "insecure-auth") opts = { ...opts, allowInsecureAuth: true };
    else if (key === "maxsize") opts = { ...opts, maxMessageSize: n };
    else if (key === "maxerrors") opts = { ...opts, maxErrors: n };
    else if (key === "maxtext") limits.maxText = n;
    else if (key === "maxliteral") limits.maxLiteral = n;
    else throw new Error(`${where}: unknown CONFIG word ${JSON.stringify(w)}`);
  }
  return Object.keys(limits).length > 0 ? { ...opts, limits } : opts;
}

const MODES = new Set(["add", "remove", "replace"]);

export function parseImapTranscript(name: string, text: string): ImapTranscript {
  const steps: ImapStep[] = [];
  let options = TRANSCRIPT_OPTIONS;
  let unwatched = false;
  let modes: string[] = Object.keys(PLAY_MODES);
  let known: { line: number; why: string } | undefined;
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "");
    const lineNo = i + 1;
    const where = `${name}:${lineNo}`;
    if (line === "" || line.startsWith("#")) return;
    const colon = line.indexOf(":");
    const tag = colon < 0 ? line : line.slice(0, colon);
    const rest = line.slice(colon + 2);
    const words = rest.split(" ").filter((w) => w !== "");
    switch (tag) {
      case "C":
        steps.push({ kind: "send", bytes: enc.encode(rest + "\r\n"), lineNo });
        break;
      case "R":
        steps.push({ kind: "send", bytes: enc.encode(JSON.parse(rest) as string), lineNo });
        break;
      case "X": {
        const hex = rest.replace(/\s/g, "");
        if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new Error(`${where}: bad hex`);
        const bytes = new Uint8Array(hex.length / 2);
        for (let k = 0; k < bytes.length; k++) bytes[k] = parseInt(hex.slice(2 * k, 2 * k + 2), 16);
        steps.push({ kind: "send", bytes, lineNo });
        break;
      }
      case "S":
        steps.push(
          rest.endsWith("*")
            ? { kind: "expect", line: rest.slice(0, -1), prefix: true, lineNo }
            : { kind: "expect", line: rest, prefix: false, lineNo },
        );
        break;
      case "CONFIG":
        if (steps.length > 0) throw new Error(`${where}: CONFIG must come first`);
        options = parseConfig(words, where);
        unwatched = words.includes("unwatched");
        break;
      case "DELIVER":
      case "RACE-DELIVER": {
        const m = /^(\S+) (\S+) (?:\(([^)]*)\) )?("(?:[^"\\]|\\.)*")$/.exec(rest);
        if (!m) throw new Error(`${where}: ${tag} user folder [(flags)] "json"`);
        steps.push({
          kind: tag === "DELIVER" ? "deliver" : "race-deliver",
          user: m[1]!,
          folder: m[2]!,
          flags: (m[3] ?? "").split(" ").filter((f) => f !== ""),
          message: JSON.parse(m[4]!) as string,
          lineNo,
        });
        break;
      }
      case "FLAGS": {
        const [user, folder, uids, mode, ...flags] = words;
        if (!user || !folder || !uids || !mode || !MODES.has(mode)) {
          throw new Error(`${where}: FLAGS user folder uids add|remove|replace flag…`);
        }
        steps.push({
          kind: "flags",
          user,
          folder,
          uids: uids.split(",").map(Number),
          mode: mode as FlagMode,
          flags,
          lineNo,
        });
        break;
      }
      case "REMOVE": {
        const [user, folder, uids] = words;
        if (!user || !folder || !uids) throw new Error(`${where}: REMOVE user folder uids`);
        steps.push({ kind: "remove", user, folder, uids: uids.split(",").map(Number), lineNo });
        break;
      }
      case "MODES":
        if (!words.every((w) => w in PLAY_MODES)) throw new Error(`${where}: unknown mode`);
        modes = words;
        break;
      case "KNOWN": {
        const m = /^(\d+) (.+)$/.exec(rest);
        if (!m) throw new Error(`${where}: KNOWN line-number why`);
        known = { line: Number(m[1]), why: m[2]! };
        break;
      }
      case "TIMEOUT":
        steps.push({ kind: "timeout", lineNo });
        break;
      case "SHUTDOWN":
        steps.push({ kind: "shutdown", lineNo });
        break;
      case "CLOSED":
        steps.push({ kind: "closed", lineNo });
        break;
      default:
        throw new Error(`${where}: unknown line ${JSON.stringify(line)}`);
    }
  });
  const t = { name, options, unwatched, modes, steps };
  return known === undefined ? t : { ...t, known };
}

/** Loads every `*.txt` in DIR, by name. */
export async function loadImapTranscripts(dir: URL): Promise<ImapTranscript[]> {
  const out: ImapTranscript[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile || !e.name.endsWith(".txt")) continue;
    out.push(parseImapTranscript(e.name, await Deno.readTextFile(new URL(e.name, dir))));
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** How a transcript is played. */
export interface PlayMode {
  /** Feed the client's bytes one at a time. */
  readonly byteByByte: boolean;
  /** The backend answers with promises (`late`: in a later event-loop turn). */
  readonly asyncBackend: boolean | "late";
}

/**
 * The ways every transcript is played: whole reads, one byte per read, a store that answers
 * with promises, and a store that answers in a later event-loop turn (so that client bytes and
 * store notifications can overtake its answers, as with a store doing real I/O).
 */
export const PLAY_MODES: Readonly<Record<string, PlayMode>> = {
  whole: { byteByByte: false, asyncBackend: false },
  bytes: { byteByByte: true, asyncBackend: false },
  async: { byteByByte: false, asyncBackend: true },
  late: { byteByByte: false, asyncBackend: "late" },
};

/** Event-loop turns a test waits for output that `notify` owes before it calls it missing. */
const NOTIFY_TURNS = 200;

const INTERNAL_ERROR = new TextEncoder().encode("* BYE Internal error, closing connection\r\n");

/** A session under test and the server lines it wrote. */
export class ImapPeer {
  readonly backend: MemoryImapBackend;
  readonly session: ImapSession;
  /** Errors that escaped the session (the driver would log them) or that it reported. */
  readonly errors: unknown[] = [];
  #lines: string[] = [];
  #partial = "";
  #closed = false;
  #startTls = false;
  readonly #decoder = new TextDecoder();

  constructor(
    options: SessionOptions,
    mode: PlayMode,
    backend = new MemoryImapBackend({ async: mode.asyncBackend }),
  ) {
    this.backend = backend;
    this.session = new ImapSession(
      options,
      this.backend,
      "192.0.2.1",
      (out) => this.#take(out),
      (e) => {
        if (e.type === "error") this.errors.push(e.error);
      },
    );
    this.#take(this.session.greeting());
  }

  get closed(): boolean {
    return this.#closed;
  }

  #take(out: Output): void {
    for (const chunk of out.write) this.#partial += this.#decoder.decode(chunk, { stream: true });
    const parts = this.#partial.split("\r\n");
    this.#partial = parts.pop()!;
    this.#lines.push(...parts);
    if (out.close) this.#closed = true;
    if (out.startTls) this.#startTls = true;
  }

  /** Sends BYTES as one read, or one byte per read. */
  async send(bytes: Uint8Array, byteByByte: boolean): Promise<void> {
    const chunks = byteByByte ? Array.from(bytes, (_, i) => bytes.subarray(i, i + 1)) : [bytes];
    for (const chunk of chunks) {
      if (this.#closed) return;
      try {
        const out = this.session.receive(chunk);
        this.#take(out instanceof Promise ? await out : out);
      } catch (err) {
        // What the connection driver (src/server/imap_connection.ts) does with an error that
        // escapes the session: log it and close with BYE.
        this.errors.push(err);
        this.#take({ write: [INTERNAL_ERROR], close: true });
        return;
      }
      if (this.#startTls) {
        // The handshake happens here; what the client sent after STARTTLS is dropped.
        this.#startTls = false;
        this.session.tlsStarted();
        return;
      }
    }
  }

  /** The next server line; waits a bounded number of event-loop turns for `notify`. */
  async readLine(): Promise<string | undefined> {
    for (let turn = 0; this.#lines.length === 0 && turn < NOTIFY_TURNS; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    return this.#lines.shift();
  }

  /** Lines written and not read yet (after letting pending work finish). */
  async leftover(): Promise<string[]> {
    for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
    const rest = [...this.#lines, ...(this.#partial ? [this.#partial] : [])];
    this.#lines = [];
    this.#partial = "";
    return rest;
  }

  /**
   * One turn of the event loop: the store's change notifications (microtasks) reach the
   * session before the client's next bytes, as they do when a change comes between two reads.
   */
  async settle(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
  }

  takeOutput(out: Output): void {
    this.#take(out);
  }
}

/** Plays T; throws an Error naming the file and line at the first difference. */
export async function playImap(t: ImapTranscript, mode: PlayMode): Promise<ImapPeer> {
  const backend = new MemoryImapBackend({ async: mode.asyncBackend, notify: !t.unwatched });
  const peer = new ImapPeer(t.options, mode, backend);
  let pending: Uint8Array[] = [];
  const flush = async () => {
    if (pending.length === 0) return;
    const total = pending.reduce((n, b) => n + b.length, 0);
    const buf = new Uint8Array(total);
    let o = 0;
    for (const b of pending) {
      buf.set(b, o);
      o += b.length;
    }
    pending = [];
    await peer.send(buf, mode.byteByByte);
  };
  for (const step of t.steps) {
    if (step.kind === "send") {
      pending.push(step.bytes);
      continue;
    }
    await flush();
    const where = `${t.name}:${step.lineNo}`;
    switch (step.kind) {
      case "expect": {
        const got = await peer.readLine();
        const ok = got !== undefined &&
          (step.prefix ? got.startsWith(step.line) : got === step.line);
        if (!ok) {
          throw new Error(
            `${where}: expected ${step.prefix ? "a line starting with " : ""}${
              JSON.stringify(step.line)
            }, got ${JSON.stringify(got)}`,
          );
        }
        break;
      }
      case "deliver":
        peer.backend.deliver(step.user, step.folder, step.message, step.flags);
        await peer.settle();
        break;
      case "race-deliver":
        peer.backend.afterNextChanges(() =>
          peer.backend.deliver(step.user, step.folder, step.message, step.flags)
        );
        break;
      case "flags":
        peer.backend.setFlags(step.user, step.folder, step.uids, step.mode, step.flags);
        await peer.settle();
        break;
      case "remove":
        peer.backend.remove(step.user, step.folder, step.uids);
        await peer.settle();
        break;
      case "timeout":
        peer.takeOutput(peer.session.timeout());
        break;
      case "shutdown":
        peer.takeOutput(peer.session.shutdown());
        break;
      case "closed":
        if (!peer.closed) throw new Error(`${where}: the session did not close the connection`);
        break;
    }
  }
  await flush();
  const rest = await peer.leftover();
  if (rest.length > 0) {
    throw new Error(`${t.name}: unexpected server output at the end: ${JSON.stringify(rest)}`);
  }
  if (peer.errors.length > 0) {
    throw new Error(`${t.name}: the session failed inside: ${String(peer.errors[0])}`);
  }
  peer.session.closed();
  return peer;
}
