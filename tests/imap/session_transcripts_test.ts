/**
 * Every transcript in tests/imap/transcripts against the pure IMAP session over the in-memory
 * backend, in each of the PLAY_MODES (whole, byte by byte, a store answering with promises, a
 * store answering in a later event-loop turn). A transcript
 * marked `KNOWN:` records a disagreement with the RFC that awaits a fix in the session: it must
 * still fail, and this test says so once it passes.
 */
import {
  type ImapTranscript,
  loadImapTranscripts,
  PLAY_MODES,
  playImap,
  type PlayMode,
} from "../_helpers/imap_transcript.ts";

const dir = new URL("./transcripts/", import.meta.url);

async function run(t: ImapTranscript, mode: PlayMode): Promise<void> {
  if (t.known === undefined) {
    await playImap(t, mode);
    return;
  }
  const { line, why } = t.known;
  try {
    await playImap(t, mode);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (message.startsWith(`${t.name}:${line}: `)) return;
    throw new Error(`${t.name}: expected the known failure at line ${line}, got: ${message}`);
  }
  throw new Error(`${t.name} passes now: remove its KNOWN line if this is fixed (${why})`);
}

for (const t of await loadImapTranscripts(dir)) {
  const known = t.known === undefined ? "" : " [known disagreement]";
  for (const name of t.modes) {
    Deno.test(`imap transcript ${t.name}${known} (${name})`, () => run(t, PLAY_MODES[name]!));
  }
}
