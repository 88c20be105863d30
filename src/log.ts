/**
 * Logging: a logger per category under `["mail", ...]`, one sink (stderr) configured once from
 * the entrypoint. Log lines go to stderr; stdout belongs to command output.
 *
 * Modules call `getLogger(["mail", "smtp"])` and log a short message with structured
 * properties; the pretty format appends them as `key=value`, the JSON format keeps them as
 * fields. `logger.with({...})` gives a logger whose lines all carry those properties (a
 * connection's client address). Never log secrets (passwords, AUTH payloads).
 *
 * Our own, not a logging library: the server logs a few lines per connection, and the library
 * we used before (logtape) cost about 15 µs a line and 1.5 MiB of heap in every process.
 *
 * @module
 */
import { clearTimeout, setTimeout } from "node:timers";

/** Levels, lowest first. */
export type LogLevel = "debug" | "info" | "warning" | "error";

/** Structured properties of a line. */
export type LogProperties = Readonly<Record<string, unknown>>;

/** One line to be written. */
export interface LogRecord {
  readonly timestamp: number;
  readonly level: LogLevel;
  /** Dotted: `mail.server`. */
  readonly category: string;
  readonly message: string;
  /** The logger's own properties (from `with`), then the line's; a line's win on a clash. */
  readonly properties: LogProperties;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warning: 2, error: 3 };

const LEVEL: Record<LogLevel, string> = {
  debug: "DBG",
  info: "INF",
  warning: "WRN",
  error: "ERR",
};

const encoder = new TextEncoder();

/** Where records go: formatted to stderr, or handed to a function (tests keep them). */
type Sink = { readonly format: (r: LogRecord) => string } | {
  readonly keep: (r: LogRecord) => void;
};

/** What setupLogging chose; undefined: logging is not set up, and lines go nowhere. */
let active: { readonly sink: Sink; readonly lowest: number } | undefined;

/** Logs lines of one category, with properties every line carries. */
export class Logger {
  readonly #category: string;
  readonly #context: LogProperties | undefined;

  constructor(category: string, context?: LogProperties) {
    this.#category = category;
    this.#context = context;
  }

  debug(message: string, properties?: LogProperties): void {
    this.#log("debug", message, properties);
  }

  info(message: string, properties?: LogProperties): void {
    this.#log("info", message, properties);
  }

  warning(message: string, properties?: LogProperties): void {
    this.#log("warning", message, properties);
  }

  error(message: string, properties?: LogProperties): void {
    this.#log("error", message, properties);
  }

  /** A logger of the same category whose lines also carry PROPERTIES. */
  with(properties: LogProperties): Logger {
    return new Logger(
      this.#category,
      this.#context ? { ...this.#context, ...properties } : properties,
    );
  }

  #log(level: LogLevel, message: string, properties: LogProperties | undefined): void {
    if (active === undefined || RANK[level] < active.lowest) return;
    const context = this.#context;
    const merged = context === undefined
      ? properties ?? {}
      : properties === undefined
      ? context
      : { ...context, ...properties };
    const record = {
      timestamp: Date.now(),
      level,
      category: this.#category,
      message,
      properties: merged,
    };
    if ("keep" in active.sink) active.sink.keep(record);
    else write(level, active.sink.format(record));
  }
}

/** The logger of CATEGORY, e.g. `["mail", "server"]`. */
export function getLogger(category: readonly string[]): Logger {
  return new Logger(category.join("."));
}

function renderValue(v: unknown): string {
  if (v instanceof Error) return JSON.stringify(v.message);
  if (Array.isArray(v)) return v.map(renderValue).join(",");
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return s === undefined ? "" : /[\s"=]/.test(s) || s === "" ? JSON.stringify(s) : s;
}

/** `2026-11-28T11:52:44.123Z INF mail.server: message key=value ...` */
export function prettyLine(r: LogRecord): string {
  let line = `${new Date(r.timestamp).toISOString()} ${LEVEL[r.level]} ${r.category}: ${r.message}`;
  let stack = "";
  for (const key in r.properties) {
    const v = r.properties[key];
    if (v === undefined) continue;
    if (key === "stack") {
      if (typeof v === "string") stack = `\n${v}`;
      continue;
    }
    line += ` ${key}=${renderValue(v)}`;
  }
  return `${line}${stack}\n`;
}

/**
 * One JSON document per line:
 * `{"@timestamp", "level": "INFO", "message", "logger": "mail.server", "properties": {...}}`.
 */
export function jsonLine(r: LogRecord): string {
  return JSON.stringify({
    "@timestamp": new Date(r.timestamp).toISOString(),
    level: r.level.toUpperCase(),
    message: r.message,
    logger: r.category,
    properties: r.properties,
  }, (_key, value) => (value instanceof Error ? value.message : value)) + "\n";
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
function write(level: LogLevel, line: string): void {
  pending.push(line);
  pendingLength += line.length;
  if (level === "warning" || level === "error" || pendingLength >= FLUSH_LENGTH) flushLogs();
  else if (flushTimer === undefined) {
    // Buffered lines never keep the process alive; exit flushes them.
    flushTimer = setTimeout(flushLogs, FLUSH_DELAY_MS).unref();
  }
}

// Whatever is buffered when the process ends is still written.
globalThis.addEventListener("unload", flushLogs);

/**
 * Chooses the format and the lowest level written; call once, from the entrypoint. A KEEP
 * function receives the records instead of stderr (tests collect them in an array).
 */
export function setupLogging(
  format: "pretty" | "json",
  level: LogLevel,
  keep?: (r: LogRecord) => void,
): void {
  const sink: Sink = keep ? { keep } : { format: format === "json" ? jsonLine : prettyLine };
  active = { sink, lowest: RANK[level] };
}

/** Stops logging (lines go nowhere again); for tests. */
export function resetLogging(): void {
  flushLogs();
  active = undefined;
}
