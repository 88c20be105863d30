/**
 * Logging: categories under `["mail", ...]`, sinks configured once from the entrypoint.
 * Log lines go to stderr; stdout belongs to command output.
 *
 * Modules call `getLogger(["mail", "smtp"])` and log a short message with structured
 * properties; the pretty format appends them as `key=value`, the JSON format keeps them as
 * fields. Never log secrets (passwords, AUTH payloads).
 *
 * @module
 */
import {
  configure,
  getJsonLinesFormatter,
  type LogLevel,
  type LogRecord,
  type Sink,
} from "@logtape/logtape";
import { clearTimeout, setTimeout } from "node:timers";

export { getLogger } from "@logtape/logtape";

const encoder = new TextEncoder();
const LEVEL: Record<LogLevel, string> = {
  trace: "TRC",
  debug: "DBG",
  info: "INF",
  warning: "WRN",
  error: "ERR",
  fatal: "FTL",
};

function renderMessage(r: LogRecord): string {
  return r.message.map((part) => (typeof part === "string" ? part : JSON.stringify(part))).join("");
}

function renderValue(v: unknown): string {
  if (v instanceof Error) return JSON.stringify(v.message);
  if (Array.isArray(v)) return v.map(renderValue).join(",");
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return s === undefined ? "" : /[\s"=]/.test(s) || s === "" ? JSON.stringify(s) : s;
}

/** `2026-11-28T11:52:44.123Z INF mail.server: message key=value ...` */
export function prettyLine(r: LogRecord): string {
  const props = Object.entries(r.properties)
    .filter(([k, v]) => v !== undefined && k !== "stack")
    .map(([k, v]) => `${k}=${renderValue(v)}`)
    .join(" ");
  const stack = typeof r.properties.stack === "string" ? `\n${r.properties.stack}` : "";
  return `${new Date(r.timestamp).toISOString()} ${LEVEL[r.level]} ${r.category.join(".")}: ` +
    `${renderMessage(r)}${props ? " " + props : ""}${stack}\n`;
}

let pending: string[] = [];
let pendingLength = 0;
let flushTimer: ReturnType<typeof setTimeout> | undefined;

/**
 * How long an informational line may wait to be written. Under load a server logs a few lines
 * per connection; writing them every few milliseconds, many at once, instead of at the end of
 * every event-loop turn took the writes from about 3% of the server's time to almost nothing.
 */
const FLUSH_DELAY_MS = 20;
/** Buffered text that is written at once, whatever the delay. */
const FLUSH_LENGTH = 64 * 1024;

/** Writes the log lines buffered so far. Called after a short delay and on exit. */
export function flushLogs(): void {
  if (flushTimer !== undefined) {
    clearTimeout(flushTimer);
    flushTimer = undefined;
  }
  if (pending.length === 0) return;
  const text = pending.join("");
  pending = [];
  pendingLength = 0;
  try {
    const bytes = encoder.encode(text);
    for (let off = 0; off < bytes.length;) off += Deno.stderr.writeSync(bytes.subarray(off));
  } catch {
    // A closed stderr must not take the server down.
  }
}

/**
 * Lines are formatted at once but written together: one write for many lines instead of a
 * system call per line on the server's hot path. Warnings and errors are written at once
 * (with whatever came before them), so that the line before a crash is never lost.
 */
function stderrSink(format: (r: LogRecord) => string): Sink {
  return (record) => {
    const line = format(record);
    pending.push(line);
    pendingLength += line.length;
    const urgent = record.level !== "info" && record.level !== "debug" && record.level !== "trace";
    if (urgent || pendingLength >= FLUSH_LENGTH) flushLogs();
    else if (flushTimer === undefined) {
      // Buffered lines never keep the process alive; exit flushes them.
      flushTimer = setTimeout(flushLogs, FLUSH_DELAY_MS).unref();
    }
  };
}

// Whatever is buffered when the process ends is still written.
globalThis.addEventListener("unload", flushLogs);

/** Configures the sinks; call once, from the entrypoint. */
export async function setupLogging(
  format: "pretty" | "json",
  level: "debug" | "info" | "warning" | "error",
): Promise<void> {
  const formatter = format === "json" ? getJsonLinesFormatter({ message: "rendered" }) : prettyLine;
  await configure({
    reset: true,
    sinks: { stderr: stderrSink(formatter) },
    loggers: [
      { category: ["mail"], lowestLevel: level, sinks: ["stderr"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
    ],
  });
}
