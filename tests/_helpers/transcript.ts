/**
 * Transcript files: a dialogue written down once and played against the pure session (unit
 * tests) and against a live server over TCP (integration tests).
 *
 * Lines:
 * - `C: text` a client line; CRLF is appended.
 * - `R: "json string"` raw client bytes (escapes such as \r \n \u0000), nothing appended.
 * - `X: hex` raw client bytes in hexadecimal (for bytes that are not UTF-8).
 * - `S: text` an expected server line; a trailing `*` makes it a prefix match.
 * - `STORED: n` the number of messages stored so far.
 * - `BODY: "json string"` the last stored message, after our trace headers, must equal it.
 * - `CONFIG: role=submission insecure-auth` (first) plays the transcript against a submission
 *   session that offers AUTH without TLS, as a loopback client with `--allow-insecure-auth` gets.
 * - `# ...` and blank lines are comments.
 * Client bytes are sent together up to the next S line, so consecutive client lines exercise
 * pipelining (RFC 2920).
 *
 * @module
 */

export type Step =
  | { kind: "send"; bytes: Uint8Array; text: string }
  | { kind: "expect"; line: string; prefix: boolean; lineNo: number }
  | { kind: "stored"; count: number; lineNo: number }
  | { kind: "body"; body: string; lineNo: number };

/** The session a transcript expects. */
export interface TranscriptConfig {
  readonly role: "mx" | "submission";
  readonly insecureAuth: boolean;
}

export interface Transcript {
  readonly name: string;
  readonly config: TranscriptConfig;
  readonly steps: readonly Step[];
}

const enc = new TextEncoder();

export function parseTranscript(name: string, text: string): Transcript {
  const steps: Step[] = [];
  let config: TranscriptConfig = { role: "mx", insecureAuth: false };
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "");
    const lineNo = i + 1;
    if (line === "" || line.startsWith("#")) return;
    const tag = line.slice(0, line.indexOf(":"));
    const rest = line.slice(line.indexOf(":") + 2);
    switch (tag) {
      case "C":
        steps.push({ kind: "send", bytes: enc.encode(rest + "\r\n"), text: rest });
        break;
      case "R": {
        const s = JSON.parse(rest) as string;
        steps.push({ kind: "send", bytes: enc.encode(s), text: s });
        break;
      }
      case "X": {
        const hex = rest.replace(/\s/g, "");
        const bytes = new Uint8Array(hex.length / 2);
        for (let k = 0; k < bytes.length; k++) bytes[k] = parseInt(hex.slice(2 * k, 2 * k + 2), 16);
        steps.push({ kind: "send", bytes, text: hex });
        break;
      }
      case "S":
        steps.push(
          rest.endsWith("*")
            ? { kind: "expect", line: rest.slice(0, -1), prefix: true, lineNo }
            : { kind: "expect", line: rest, prefix: false, lineNo },
        );
        break;
      case "CONFIG": {
        const words = rest.split(" ");
        config = {
          role: words.includes("role=submission") ? "submission" : "mx",
          insecureAuth: words.includes("insecure-auth"),
        };
        break;
      }
      case "STORED":
        steps.push({ kind: "stored", count: Number(rest), lineNo });
        break;
      case "BODY":
        steps.push({ kind: "body", body: JSON.parse(rest) as string, lineNo });
        break;
      default:
        throw new Error(`${name}:${lineNo}: unknown line ${JSON.stringify(line)}`);
    }
  });
  return { name, config, steps };
}

/** Loads every `*.txt` in tests/transcripts. */
export async function loadTranscripts(): Promise<Transcript[]> {
  const dir = new URL("../transcripts/", import.meta.url);
  const out: Transcript[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile || !e.name.endsWith(".txt")) continue;
    out.push(parseTranscript(e.name, await Deno.readTextFile(new URL(e.name, dir))));
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** What a transcript is played against. */
export interface Peer {
  /** Sends client bytes. */
  send(bytes: Uint8Array): Promise<void>;
  /** The next server line (without CRLF), or undefined at end of stream. */
  readLine(): Promise<string | undefined>;
  /** Messages stored so far, each after the trace headers. */
  stored(): Promise<string[]>;
}

/** Plays the transcript; throws an Error naming the file and line on the first mismatch. */
export async function play(t: Transcript, peer: Peer): Promise<void> {
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
    await peer.send(buf);
  };
  for (const step of t.steps) {
    if (step.kind === "send") {
      pending.push(step.bytes);
      continue;
    }
    await flush();
    const where = `${t.name}:${step.lineNo}`;
    if (step.kind === "expect") {
      const got = await peer.readLine();
      const ok = got !== undefined && (step.prefix ? got.startsWith(step.line) : got === step.line);
      if (!ok) {
        throw new Error(
          `${where}: expected ${step.prefix ? "a line starting with " : ""}${
            JSON.stringify(step.line)
          }, got ${JSON.stringify(got)}`,
        );
      }
    } else if (step.kind === "stored") {
      const n = (await peer.stored()).length;
      if (n !== step.count) {
        throw new Error(`${where}: expected ${step.count} stored messages, got ${n}`);
      }
    } else {
      const all = await peer.stored();
      const last = all[all.length - 1];
      if (last !== step.body) {
        throw new Error(
          `${where}: stored body ${JSON.stringify(last)}, expected ${JSON.stringify(step.body)}`,
        );
      }
    }
  }
  await flush();
}
