/**
 * AUTH in a server session (RFC 4954): the command, the SASL exchange it may start (state
 * `auth`: the next line is a response, not a command), and the backend's verdict.
 *
 * The session has checked the sequence already (see session_state.ts): EHLO done, no
 * transaction, not authenticated yet.
 *
 * @module
 */
import { syntaxError } from "./command.ts";
import type { LineEvent } from "./line_reader.ts";
import { type Reply, reply, SmtpError } from "./reply.ts";
import { saslContinue, type SaslOutcome, saslStart } from "./sasl.ts";
import { authOffered, contextOf, type Conversation, moveTo } from "./session_state.ts";

/** AUTH mechanism [initial-response] (RFC 4954 §4). */
export async function auth(c: Conversation, args: string): Promise<Reply> {
  // RFC 4954 §4 and RFC 3207: plaintext passwords only over TLS.
  if (!authOffered(c)) {
    return reply(538, "5.7.11", "Encryption required for requested authentication mechanism");
  }
  const [mechanism = "", initial, extra] = args.split(" ");
  if (extra !== undefined) throw syntaxError("Syntax: AUTH mechanism [initial-response]");
  return await outcome(c, saslStart(mechanism.toUpperCase(), initial));
}

/** A line in state `auth`: the client's response to our challenge. */
export async function saslResponse(c: Conversation, ev: LineEvent): Promise<Reply> {
  const step = c.sasl!;
  c.sasl = undefined;
  moveTo(c, "greeted");
  if (ev.kind === "too-long") return reply(500, "5.5.2", "Line too long");
  return await outcome(c, saslContinue(step, new TextDecoder().decode(ev.line)));
}

async function outcome(c: Conversation, o: SaslOutcome): Promise<Reply> {
  if (o.kind === "challenge") {
    c.sasl = o.step;
    moveTo(c, "auth");
    return o.reply;
  }
  if (o.kind === "refused") {
    return o.user === undefined ? o.reply : failed(c, o.user, o.reply);
  }
  try {
    c.authUser = await c.backend.authenticate!(o.user, o.password, contextOf(c));
  } catch (err) {
    if (err instanceof SmtpError) return failed(c, o.user, err.toReply());
    throw err;
  }
  c.onEvent({ type: "auth", user: c.authUser, ok: true, reply: "235 2.7.0" });
  return reply(235, "2.7.0", "Authentication successful");
}

function failed(c: Conversation, user: string, r: Reply): Reply {
  c.onEvent({ type: "auth", user, ok: false, reply: `${r.code} ${r.enhanced ?? ""}`.trim() });
  return r;
}
