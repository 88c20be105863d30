/**
 * The server side of an in-band TLS upgrade (SMTP STARTTLS, RFC 3207; IMAP STARTTLS, RFC 9051
 * §6.2.1; POP3 STLS, RFC 2595), the same for every protocol: stop reading the plaintext socket,
 * wait until our "go ahead" reply is flushed, then wrap the socket and handshake. Under Deno the
 * wrap must happen after the reply is flushed, or the handshake never starts.
 *
 * Whatever the client sent after its command was sent in the clear and is never read as a
 * command: the caller drops what it holds, and the plaintext socket's reader is removed here.
 *
 * @module
 */
import type { Socket } from "node:net";
import { type SecureContext, TLSSocket } from "node:tls";
import type { Logger } from "../log.ts";

/** What the caller does at each step of the upgrade. */
export interface UpgradeSteps {
  /** The certificate to serve (read now, so a reloaded one is used). */
  readonly context: () => SecureContext;
  /** Whether the connection ended meanwhile: then nothing is wrapped. */
  readonly ended: () => boolean;
  /** The TLS socket exists (the handshake is under way): it is now the connection's socket. */
  readonly wrapped: (secure: TLSSocket) => void;
  /** The handshake is done: attach readers to SECURE and go on. */
  readonly secure: (secure: TLSSocket) => void;
}

/** Upgrades PLAIN to TLS once the reply already written to it is flushed. */
export function upgradeToTls(plain: Socket, log: Logger, steps: UpgradeSteps): void {
  plain.removeAllListeners("data");
  plain.pause();
  plain.write("", () => {
    if (steps.ended()) return;
    const secure = new TLSSocket(plain, { isServer: true, secureContext: steps.context() });
    steps.wrapped(secure);
    secure.once("secure", () => steps.secure(secure));
    secure.on("error", (err) => {
      log.info("TLS handshake failed", { error: err.message });
      secure.destroy();
      plain.destroy();
    });
    secure.once("close", () => plain.destroy());
  });
}
