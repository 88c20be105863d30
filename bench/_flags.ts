/**
 * The benchmarks' command-line flags: `--name VALUE`, read from Deno.args.
 *
 * @module
 */

/** The value after flag NAME, if it was given. */
export function stringFlag(name: string): string | undefined {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

/** The number after flag NAME, or FALLBACK when it was not given. */
export function numberFlag(name: string, fallback: number): number {
  const value = stringFlag(name);
  return value === undefined ? fallback : Number(value);
}
