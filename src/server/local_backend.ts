/**
 * The receiving policy of `mail serve`: which recipients are ours, and how an accepted message
 * becomes durable mail in the store.
 *
 * @module
 */
import { canonicalAddress, type Mailbox } from "../smtp/address.ts";
import { SmtpError } from "../smtp/reply.ts";
import type { Delivery, SessionBackend } from "../smtp/session.ts";
import { summarize } from "../mime/summary.ts";
import type { NewMessage } from "../store/mod.ts";
import { newQueueId } from "./queue_id.ts";

/** The part of the store that receiving needs (an in-memory one serves tests). */
export interface MailSink {
  userExists(address: string): boolean;
  deliver(message: NewMessage): void;
}

/** Which addresses are local. */
export interface LocalPolicy {
  /** Local domains, lower-case; the first is the default for `<Postmaster>`. */
  readonly domains: readonly string[];
  /** Accept any local part of a local domain. */
  readonly catchAll: boolean;
}

/** Session backend that delivers to local mailboxes and refuses everything else. */
export class LocalBackend implements SessionBackend {
  readonly #sink: MailSink;
  readonly #policy: LocalPolicy;
  readonly #domains: ReadonlySet<string>;

  constructor(sink: MailSink, policy: LocalPolicy) {
    this.#sink = sink;
    this.#policy = policy;
    this.#domains = new Set(policy.domains);
  }

  newId(): string {
    return newQueueId();
  }

  recipient(rcpt: Mailbox | undefined): string {
    // RFC 5321 §4.1.1.3: the domain-less <Postmaster> is accepted and means our postmaster.
    if (!rcpt) return `postmaster@${this.#policy.domains[0]}`;
    const address = canonicalAddress(rcpt);
    const domain = address.slice(address.lastIndexOf("@") + 1);
    // Address literals are never local: mail for user@[1.2.3.4] is a relay attempt.
    if (!this.#domains.has(domain)) {
      throw new SmtpError(550, "5.7.1", "Relaying denied");
    }
    const local = address.slice(0, address.lastIndexOf("@"));
    // RFC 5321 §4.5.1: every domain we accept mail for must accept postmaster.
    if (local === "postmaster" || this.#policy.catchAll || this.#sink.userExists(address)) {
      return address;
    }
    throw new SmtpError(550, "5.1.1", "No such user here");
  }

  deliver(d: Delivery): void {
    this.#sink.deliver({
      id: d.id,
      sender: d.sender,
      recipients: d.recipients,
      chunks: d.chunks,
      size: d.size,
      summary: summarize(d.chunks),
      receivedAt: d.receivedAt.getTime(),
      // Recipients were checked at RCPT time; postmaster and catch-all mailboxes are created
      // on first delivery.
      createMailboxes: true,
    });
  }
}
