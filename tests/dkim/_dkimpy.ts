/**
 * Python's dkimpy (Debian's python3-dkim), the verifier we did not write: checks every
 * DKIM-Signature of a message against the records a test publishes (no real DNS).
 */

/** A Python 3 that can `import dkim` (the system's, where python3-dkim installs it). */
async function dkimPython(): Promise<string> {
  for (const exe of ["python3", "/usr/bin/python3"]) {
    try {
      const r = await new Deno.Command(exe, {
        args: ["-c", "import dkim"],
        stdout: "null",
        stderr: "null",
        signal: AbortSignal.timeout(30_000),
      }).output();
      if (r.code === 0) return exe;
    } catch { /* not there */ }
  }
  throw new Error("No Python with dkimpy (apt-get install python3-dkim)");
}

const VERIFY = `
import dkim, json, sys
records = json.loads(sys.argv[2])
msg = open(sys.argv[1], 'rb').read()
def dns(name, timeout=5):
    n = name.decode() if isinstance(name, bytes) else name
    return records.get(n.rstrip('.'), '').encode()
d = dkim.DKIM(msg)
out = []
sigs = [v for (k, v) in dkim.rfc822_parse(msg)[0] if k.lower() == b'dkim-signature']
for i, s in enumerate(sigs):
    tags = dkim.util.parse_tag_value(s)
    try:
        ok = d.verify(idx=i, dnsfunc=dns)
    except dkim.DKIMException:
        ok = False
    out.append({"ok": bool(ok), "d": tags[b'd'].decode(), "s": tags[b's'].decode(),
                "a": tags[b'a'].decode(), "h": tags[b'h'].decode()})
print(json.dumps(out))
`;

/** One signature as dkimpy judged it. */
export interface Verdict {
  readonly ok: boolean;
  /** The d=, s=, a= and h= tags. */
  readonly d: string;
  readonly s: string;
  readonly a: string;
  readonly h: string;
}

/**
 * dkimpy's verdict on each DKIM-Signature of MESSAGE, top first, with RECORDS (TXT text by
 * name, `SELECTOR._domainkey.DOMAIN`) as the only DNS.
 */
export async function dkimpyVerify(
  message: Uint8Array,
  records: Record<string, string>,
): Promise<Verdict[]> {
  const file = await Deno.makeTempFile({ suffix: ".eml" });
  try {
    await Deno.writeFile(file, message);
    const r = await new Deno.Command(await dkimPython(), {
      args: ["-c", VERIFY, file, JSON.stringify(records)],
      stdin: "null",
      signal: AbortSignal.timeout(60_000),
    }).output();
    const err = new TextDecoder().decode(r.stderr);
    if (r.code !== 0) throw new Error(`dkimpy failed: ${err}`);
    return JSON.parse(new TextDecoder().decode(r.stdout)) as Verdict[];
  } finally {
    await Deno.remove(file);
  }
}
