/** Every transcript in tests/transcripts against the pure session, whole and byte by byte. */
import { loadTranscripts, play } from "../_helpers/transcript.ts";
import { sessionPeer } from "../_helpers/session_peer.ts";

for (const t of await loadTranscripts()) {
  Deno.test(`transcript ${t.name} (session)`, async () =>
    play(t, await sessionPeer(false, t.config)));
  Deno.test(
    `transcript ${t.name} (session, byte by byte)`,
    async () => play(t, await sessionPeer(true, t.config)),
  );
}
