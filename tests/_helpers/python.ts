/** Runs a Python 3 script (an independent SMTP client: smtplib is on every machine). */
export async function python(
  script: string,
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  const out = await new Deno.Command("python3", { args: ["-c", script, ...args], stdin: "null" })
    .output();
  return {
    code: out.code,
    out: new TextDecoder().decode(out.stdout),
    err: new TextDecoder().decode(out.stderr),
  };
}
