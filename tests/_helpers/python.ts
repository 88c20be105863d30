/**
 * Runs a Python 3 script (an independent SMTP client: smtplib is on every machine), with
 * INTERPRETER (`python3` on PATH by default).
 */
export async function python(
  script: string,
  args: string[],
  interpreter = "python3",
): Promise<{ code: number; out: string; err: string }> {
  // Bounded: a client that hangs is killed (and its test fails on the status) instead of
  // hanging the suite.
  const out = await new Deno.Command(interpreter, {
    args: ["-c", script, ...args],
    stdin: "null",
    signal: AbortSignal.timeout(120_000),
  }).output();
  return {
    code: out.code,
    out: new TextDecoder().decode(out.stdout),
    err: new TextDecoder().decode(out.stderr),
  };
}
