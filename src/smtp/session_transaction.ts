/**
 * The mail transaction of a server session (RFC 5321 §3.3): MAIL, RCPT, DATA, and the
 * message once its data has arrived, with our trace headers first (RFC 5321 §4.4).
 *
 * The session has checked the sequence already (see session_state.ts); these decide on the
 * arguments and ask the backend.
 *
 * @module
 */
import { mailboxToString } from "./address.ts";
import { parseMail, parseRcpt, syntaxError } from "./command.ts";
import { DataReader } from "./data_reader.ts";
import { type Reply, reply, SmtpError } from "./reply.ts";
import { authOffered, contextOf, type Conversation, moveTo, roleOf } from "./session_state.ts";
import type { Delivery } from "./session_types.ts";
import { receivedHeader, returnPathHeader, withProtocol } from "./trace.ts";

const encoder = new TextEncoder();

/** MAIL FROM (RFC 5321 §4.1.1.2): starts a transaction. */
export function mail(c: Conversation, args: string): Reply | Promise<Reply> {
  // RFC 6409 §4.3 / RFC 4954 §6: submission needs an authenticated user.
  if (roleOf(c) === "submission" && !c.authUser) {
    throw new SmtpError(
      530,
      "5.7.0",
      authOffered(c) ? "Authentication required" : "Must issue a STARTTLS command first",
    );
  }
  const cmd = parseMail(args, c.esmtp, c.config.maxMessageSize);
  const sender = cmd.sender ? mailboxToString(cmd.sender) : "";
  return andThen(
    () => c.backend.sender?.(cmd.sender, contextOf(c)),
    () => {
      c.tx = { id: c.backend.newId(), sender, params: cmd.params, recipients: [] };
      moveTo(c, "mail");
      return reply(250, "2.1.0", "Sender OK");
    },
    (err) => {
      if (err instanceof SmtpError) {
        c.onEvent({ type: "refused", stage: "mail", sender, reply: err.toString() });
      }
      throw err;
    },
  );
}

/** RCPT TO (RFC 5321 §4.1.1.3): adds a recipient to the transaction. */
export function rcpt(c: Conversation, args: string): Reply | Promise<Reply> {
  const tx = c.tx!;
  // RFC 5321 §4.5.3.1.10: 452 for too many recipients, so the client sends the rest later.
  if (tx.recipients.length >= c.config.maxRecipients) {
    throw new SmtpError(452, "4.5.3", "Too many recipients");
  }
  const cmd = parseRcpt(args, tx.params.smtputf8);
  const given = cmd.recipient ? mailboxToString(cmd.recipient) : "postmaster";
  return andThen(
    () => c.backend.recipient(cmd.recipient, contextOf(c)),
    (address) => {
      if (!tx.recipients.includes(address)) tx.recipients.push(address);
      moveTo(c, "rcpt");
      return reply(250, "2.1.5", "Recipient OK");
    },
    (err) => {
      if (err instanceof SmtpError) {
        c.onEvent({
          type: "refused",
          stage: "rcpt",
          id: tx.id,
          sender: tx.sender,
          recipient: given,
          reply: err.toString(),
        });
      }
      throw err;
    },
  );
}

/** DATA (RFC 5321 §4.1.1.4): what follows is the message, up to the lone dot. */
export function data(c: Conversation, args: string): Reply {
  if (args !== "") throw syntaxError("DATA takes no arguments");
  c.data = new DataReader(c.config.maxMessageSize, c.config.ownsInput);
  moveTo(c, "data");
  return reply(354, undefined, "End data with <CR><LF>.<CR><LF>");
}

/** The message's data has arrived: refuse it, or store it with our trace headers first. */
export function finishData(c: Conversation): Reply | Promise<Reply> {
  const tx = c.tx!;
  const data = c.data!;
  c.tx = undefined;
  c.data = undefined;
  moveTo(c, "greeted");
  const refuse = (err: SmtpError): Reply => {
    c.onEvent({
      type: "refused",
      stage: "data",
      id: tx.id,
      sender: tx.sender,
      recipients: tx.recipients,
      size: data.size,
      reply: err.toString(),
    });
    return err.toReply();
  };
  if (data.overflow) {
    return refuse(new SmtpError(552, "5.3.4", "Message too big for system"));
  }
  if (data.bareLineEnding) {
    // Our SMTP smuggling policy: refuse, never repair (see data_reader.ts).
    return refuse(
      new SmtpError(
        554,
        "5.6.0",
        "Message refused: bare CR or LF in data, lines must end with CRLF",
      ),
    );
  }
  const receivedAt = c.config.now?.() ?? new Date();
  const trace = returnPathHeader(tx.sender) + receivedHeader({
    helo: c.helo,
    clientAddress: c.client.address,
    by: c.config.hostname,
    with: withProtocol({
      esmtp: c.esmtp,
      tls: c.tls !== undefined,
      auth: c.authUser !== undefined,
      utf8: tx.params.smtputf8,
    }),
    id: tx.id,
    for: tx.recipients.length === 1 ? tx.recipients[0] : undefined,
    tls: c.tls,
    date: receivedAt,
  });
  const head = encoder.encode(trace);
  const delivery: Delivery = {
    id: tx.id,
    sender: tx.sender,
    recipients: tx.recipients,
    params: tx.params,
    chunks: [head, ...data.chunks],
    size: head.length + data.size,
    receivedAt,
  };
  return andThen(
    () => c.backend.deliver(delivery, contextOf(c)),
    () => {
      c.onEvent({
        type: "accepted",
        id: tx.id,
        sender: tx.sender,
        recipients: tx.recipients,
        size: delivery.size,
      });
      return reply(250, "2.0.0", `OK: queued as ${tx.id}`);
    },
    (err) => {
      if (err instanceof SmtpError) return refuse(err);
      c.onEvent({ type: "error", command: "DATA", error: err });
      return refuse(new SmtpError(451, "4.3.0", "Local error in processing, try again later"));
    },
  );
}

/**
 * Runs STEP, then OK with its value or FAIL with its error: at once when STEP returns a value
 * or throws, after it settles when it returns a promise. A backend that answers synchronously
 * (the usual case) thus costs the session no turn of the event loop.
 */
function andThen<T, R>(
  step: () => T | Promise<T>,
  ok: (value: T) => R,
  fail: (err: unknown) => R,
): R | Promise<R> {
  let value: T | Promise<T>;
  try {
    value = step();
  } catch (err) {
    return fail(err);
  }
  return value instanceof Promise ? value.then(ok, fail) : ok(value);
}
