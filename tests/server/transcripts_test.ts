/** Every transcript in tests/transcripts against a live server over TCP. */
import { LineSocket } from "../_helpers/smtp_socket.ts";
import { startLiveServer } from "../_helpers/live_server.ts";
import { loadTranscripts, play } from "../_helpers/transcript.ts";
import { textWithoutTrace } from "../_helpers/trace.ts";

for (const t of await loadTranscripts()) {
  Deno.test(`transcript ${t.name} (live server)`, async () => {
    const live = await startLiveServer({ allowInsecureAuth: t.config.insecureAuth });
    const sock = await LineSocket.connect(
      t.config.role === "submission" ? live.submissionPort : live.port,
    );
    try {
      await play(t, {
        send: (b) => sock.send(b),
        readLine: () => sock.readLine(),
        stored: () => Promise.resolve(live.messages().map(textWithoutTrace)),
      });
    } finally {
      sock.close();
      await live.close();
    }
  });
}
