/**
 * Sizes for people: `512 B`, `2.0 KiB`, `13 MiB`.
 *
 * @module
 */

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"] as const;

/** Formats BYTES with binary prefixes; one decimal below 10 units, none above. */
export function humanSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "?";
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${bytes} B`;
  const shown = value < 10 ? value.toFixed(1) : Math.round(value).toString();
  // 1023.6 KiB rounds to "1024 KiB": say "1.0 MiB" instead.
  if (shown === "1024" && unit < UNITS.length - 1) return `1.0 ${UNITS[unit + 1]}`;
  return `${shown} ${UNITS[unit]}`;
}
