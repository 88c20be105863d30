/**
 * A progress line for long work (`mail import`, `mail export`), in the manner of rsync and pv:
 * one line on the terminal, redrawn in place at most a few times a second, erased when the
 * work ends so that the command's own summary follows on a clean line. It is only ever shown
 * on a terminal: a script reading stderr, or `--json`, gets nothing extra.
 *
 * @module
 */

/** What the meter knows the whole will be, when it does. */
export interface ProgressTotals {
  readonly messages?: number | undefined;
  readonly bytes?: number | undefined;
}

/** How a meter draws: injectable so that it is tested without a terminal or a real clock. */
export interface ProgressOptions {
  /** What is being done, first on the line: `Importing`. */
  readonly label: string;
  /** Writes to the terminal. */
  readonly write: (text: string) => void;
  /** A monotonic clock in milliseconds. */
  readonly now: () => number;
  /** The terminal's width: the line is cut to fit, since a wrapped line cannot be redrawn. */
  readonly columns: number;
  /** The least time between two redraws, in milliseconds. */
  readonly interval?: number;
  readonly totals?: ProgressTotals;
}

/** Redraws at most four times a second, as pv does. */
export const DEFAULT_INTERVAL_MS = 250;

/** Carriage return, then erase to the end of the line (ECMA-48 EL). */
const REDRAW = "\r";
const ERASE_REST = "\x1b[K";

/** 1234567 as `1,234,567`. */
export function formatCount(n: number): string {
  return String(Math.floor(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

const UNITS = ["KiB", "MiB", "GiB", "TiB", "PiB"];

function bytesParts(n: number): [string, string] {
  if (n < 1024) return [String(Math.floor(n)), "B"];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return [value.toFixed(1), UNITS[unit]!];
}

/** A byte count in binary units with one decimal: `512 B`, `48.2 MiB`. */
export function formatBytes(n: number): string {
  return bytesParts(n).join(" ");
}

/** Part of a whole: `940.1/954.1 MiB`, or `940.1 MiB/1.2 GiB` when the units differ. */
export function formatBytesOf(n: number, total: number): string {
  const [value, unit] = bytesParts(n);
  const [whole, wholeUnit] = bytesParts(total);
  return unit === wholeUnit
    ? `${value}/${whole} ${unit}`
    : `${value} ${unit}/${whole} ${wholeUnit}`;
}

/** Seconds as `0:07`, `12:34`, `1:02:03`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const two = (n: number) => String(n).padStart(2, "0");
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}

/** One progress line on a terminal. */
export class ProgressMeter {
  readonly #opts: ProgressOptions;
  readonly #interval: number;
  #totals: ProgressTotals;
  #start: number | undefined;
  #lastDraw: number | undefined;
  #messages = 0;
  #bytes = 0;
  #shown = false;
  #done = false;

  constructor(opts: ProgressOptions) {
    this.#opts = opts;
    this.#interval = opts.interval ?? DEFAULT_INTERVAL_MS;
    this.#totals = opts.totals ?? {};
  }

  /** Sets what the whole will be, once it is known. */
  setTotals(totals: ProgressTotals): void {
    this.#totals = totals;
  }

  /** Draws the line now (at 0 when nothing is done yet): the start of the work. */
  start(): void {
    this.#start ??= this.#opts.now();
    this.#draw(this.#start);
  }

  /** Records how much is done so far; redraws if the last drawing is old enough. */
  update(messages: number, bytes: number): void {
    if (this.#done) return;
    this.#messages = messages;
    this.#bytes = bytes;
    const now = this.#opts.now();
    this.#start ??= now;
    if (this.#lastDraw === undefined || now - this.#lastDraw >= this.#interval) this.#draw(now);
  }

  /** Erases the line (if one was drawn). Later calls do nothing. */
  done(): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#shown) this.#opts.write(REDRAW + ERASE_REST);
  }

  /**
   * The parts of the line at time NOW, most important first: what is done (messages, bytes),
   * then the rate and the time left, which give way first on a narrow terminal.
   */
  parts(now: number): string[] {
    const { messages: totalMessages, bytes: totalBytes } = this.#totals;
    const parts: string[] = [];
    const noun = (totalMessages ?? this.#messages) === 1 ? "message" : "messages";
    const count = totalMessages === undefined
      ? formatCount(this.#messages)
      : `${formatCount(this.#messages)}/${formatCount(totalMessages)}`;
    parts.push(`${this.#opts.label} ${count} ${noun}`);
    if (totalBytes !== undefined && totalBytes > 0) {
      const percent = Math.min(100, Math.floor((this.#bytes / totalBytes) * 100));
      parts.push(`${formatBytesOf(this.#bytes, totalBytes)} (${percent}%)`);
    } else {
      parts.push(formatBytes(this.#bytes));
    }
    const seconds = (now - (this.#start ?? now)) / 1000;
    if (seconds > 0) {
      const rate = this.#bytes / seconds;
      parts.push(`${formatBytes(rate)}/s`);
      if (totalBytes !== undefined && rate > 0 && this.#bytes < totalBytes) {
        parts.push(`${formatDuration((totalBytes - this.#bytes) / rate)} left`);
      }
    }
    return parts;
  }

  /** The line at time NOW for a terminal of COLUMNS: whole parts while they fit, else cut. */
  line(now: number, columns: number = Infinity): string {
    // One column short of the width: a line that reaches the last column wraps on some
    // terminals, and the carriage return would then redraw only its second row.
    const room = Math.max(1, columns - 1);
    const parts = this.parts(now);
    while (parts.length > 1 && parts.join(", ").length > room) parts.pop();
    return parts.join(", ").slice(0, room);
  }

  #draw(now: number): void {
    if (this.#done) return;
    this.#lastDraw = now;
    this.#shown = true;
    this.#opts.write(REDRAW + this.line(now, this.#opts.columns) + ERASE_REST);
  }
}

function writeStderr(text: string): void {
  let bytes = new TextEncoder().encode(text);
  try {
    while (bytes.length > 0) bytes = bytes.subarray(Deno.stderr.writeSync(bytes));
  } catch {
    // A progress line is never worth failing the work for.
  }
}

function terminalColumns(): number {
  try {
    return Deno.consoleSize().columns || 80;
  } catch {
    return 80;
  }
}

/**
 * A meter on stderr when stderr is a terminal that can redraw a line, else undefined: nothing
 * extra for `--json` (QUIET), for a script, or when the data itself goes to that terminal.
 */
export function terminalProgress(
  label: string,
  quiet: boolean,
  totals: ProgressTotals = {},
): ProgressMeter | undefined {
  if (quiet || !Deno.stderr.isTerminal() || Deno.env.get("TERM") === "dumb") return undefined;
  return new ProgressMeter({
    label,
    write: writeStderr,
    now: () => performance.now(),
    columns: terminalColumns(),
    totals,
  });
}
