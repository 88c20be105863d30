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
  reset,
  type Sink,
} from "@logtape/logtape";

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

function stderrSink(format: (r: LogRecord) => string): Sink {
  return (record) => {
    try {
      Deno.stderr.writeSync(encoder.encode(format(record)));
    } catch {
      // A closed stderr must not take the server down.
    }
  };
}

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

/** Removes the sinks (tests, shutdown). */
export async function teardownLogging(): Promise<void> {
  await reset();
}
