/**
 * The receiving policy of `mail serve`: which recipients are ours, who may submit mail, and how
 * an accepted message becomes durable mail in the store.
 *
 * @module
 */
import { canonicalAddress, domainOf, type Mailbox, mailboxToString } from "../smtp/address.ts";
import { SmtpError } from "../smtp/reply.ts";
import type { Delivery, SessionBackend, SessionContext } from "../smtp/session.ts";
import { summarize } from "../mime/mod.ts";
import type { NewMessage } from "../store/mod.ts";
import { isLooping } from "../smtp/trace.ts";
import { AuthGuard } from "./auth_guard.ts";
import { AuthLimiter } from "./auth_limiter.ts";
import { Authenticator } from "./authenticator.ts";
import { type BatchSink, GroupCommitter } from "./group_commit.ts";
import { newQueueId } from "../queue_id.ts";

/** The part of the store that receiving needs (an in-memory one serves tests). */
export interface MailSink {
  userExists(address: string): boolean;
  deliver(message: NewMessage): void;
  /** The stored password hash of a user (for AUTH); absent in sinks without accounts. */
  passwordHash?(address: string): string | undefined;
  /** Several deliveries in one transaction; when present, deliveries are group-committed. */
  deliverMany?: BatchSink["deliverMany"];
  /** As deliverMany, waiting for the disk off the main thread; preferred when present. */
  deliverManyAsync?: BatchSink["deliverMany"];
}

/** Which addresses are local. */
export interface LocalPolicy {
  /** Local domains, lower-case; the first is the default for `<Postmaster>`. */
  readonly domains: readonly string[];
  /** Accept any local part of a local domain. */
  readonly catchAll: boolean;
}

/**
 * A message as a {@link MessageStage} leaves it: the bytes to store (a stage may add header
 * fields above the rest, as Authentication-Results and DKIM-Signature are added) and, for the
 * local recipients, the folder it goes to.
 */
export interface StagedMessage {
  readonly chunks: readonly Uint8Array[];
  readonly size: number;
  /** The folder of each local recipient's copy; INBOX when absent. */
  readonly folder?: string | undefined;
}

/**
 * Work done on every accepted message between its final dot and its 250, in order: the checks
 * of the MX listener (SPF, DKIM, DMARC, ARC), the DKIM signature of submitted mail. A stage may
 * refuse the message by throwing an SmtpError, which becomes the reply to DATA.
 */
export interface MessageStage {
  /** MAIL FROM was accepted: work that needs only the envelope may start now (SPF). */
  onSender?(sender: Mailbox | undefined, ctx: SessionContext): void;
  /** The message as it is to be stored and queued, or an SmtpError thrown. */
  process(message: StagedMessage, d: Delivery, ctx: SessionContext): Promise<StagedMessage>;
}

/**
 * Session backend that delivers to local mailboxes, and queues mail for other domains when it
 * comes from an authenticated submission client (the only clients that may relay).
 */
export class LocalBackend implements SessionBackend {
  readonly #sink: MailSink;
  readonly #policy: LocalPolicy;
  readonly #domains: ReadonlySet<string>;
  readonly #committer: GroupCommitter | undefined;
  readonly #othersWaiting: () => boolean;
  readonly #auth: Authenticator;
  readonly #onQueued: (() => void) | undefined;
  readonly #stages: readonly MessageStage[];

  /**
   * ONQUEUED is called after a commit that queued mail for remote recipients. OTHERSWAITING
   * tells whether other clients may have work for the server while a commit waits for the
   * disk: the wait then happens off the main thread (deliverManyAsync), so they are served
   * meanwhile. A lone client's commit syncs in place, at once: handing the fsync to another
   * thread and back costs it more than it saves, and no other message could share its batch.
   * LIMITER bounds the password checks running at once; share one with every other listener
   * that checks passwords. STAGES run, in order, on every message before it is stored.
   */
  constructor(
    sink: MailSink,
    policy: LocalPolicy,
    guard = new AuthGuard(),
    onQueued?: () => void,
    othersWaiting: () => boolean = () => true,
    limiter = new AuthLimiter(),
    stages: readonly MessageStage[] = [],
  ) {
    this.#stages = stages;
    this.#sink = sink;
    this.#policy = policy;
    this.#domains = new Set(policy.domains);
    this.#auth = new Authenticator((user) => sink.passwordHash?.(user), guard, limiter);
    this.#onQueued = onQueued;
    this.#othersWaiting = othersWaiting;
    const inPlace = sink.deliverMany?.bind(sink);
    const offThread = sink.deliverManyAsync?.bind(sink);
    const batch = inPlace && offThread
      ? (ms: readonly NewMessage[]) => (othersWaiting() ? offThread(ms) : inPlace(ms))
      : offThread ?? inPlace;
    this.#committer = batch ? new GroupCommitter({ deliverMany: batch }) : undefined;
  }

  newId(): string {
    return newQueueId();
  }

  /** RFC 6409 §6.1: a submission client may only send as an address it owns. */
  sender(sender: Mailbox | undefined, ctx: SessionContext): void {
    if (ctx.role === "submission" && (!sender || canonicalAddress(sender) !== ctx.authUser)) {
      throw new SmtpError(553, "5.7.1", "Sender address not owned by the authenticated user");
    }
    for (const stage of this.#stages) stage.onSender?.(sender, ctx);
  }

  recipient(rcpt: Mailbox | undefined, ctx?: SessionContext): string {
    // RFC 5321 §4.1.1.3: the domain-less <Postmaster> is accepted and means our postmaster.
    if (!rcpt) return `postmaster@${this.#policy.domains[0]}`;
    const address = canonicalAddress(rcpt);
    // Address literals are never local: mail for user@[1.2.3.4] is a relay attempt. Only an
    // authenticated submission client may relay (RFC 6409 §4.3, RFC 5321 §7.1): never the MX
    // listener, never a client that has not logged in.
    if (!this.#domains.has(domainOf(address))) {
      // RFC 5321 §2.4: a remote local part is the remote host's to interpret, case and all;
      // the domain is case-insensitive, and lower case keeps routing and grouping simple.
      if (ctx?.role === "submission" && ctx.authUser !== undefined) {
        return mailboxToString({ ...rcpt, domain: rcpt.domain.toLowerCase() });
      }
      throw new SmtpError(550, "5.7.1", "Relaying denied");
    }
    const local = address.slice(0, address.lastIndexOf("@"));
    // RFC 5321 §4.5.1: every domain we accept mail for must accept postmaster.
    if (local === "postmaster" || this.#policy.catchAll || this.#sink.userExists(address)) {
      return address;
    }
    throw new SmtpError(550, "5.1.1", "No such user here");
  }

  deliver(d: Delivery, ctx?: SessionContext): void | Promise<void> {
    // RFC 5321 §6.3: more than 100 Received fields (ours included) is a mail loop. Refusing it
    // here leaves the bounce to the previous hop, and keeps it out of the queue.
    if (isLooping(d.chunks)) {
      throw new SmtpError(554, "5.4.6", "Too many Received headers: mail loop detected");
    }
    // The session always passes its context; tests of storing alone may leave it out.
    if (this.#stages.length === 0 || ctx === undefined) return this.#accept(d, d);
    return this.#staged(d, ctx);
  }

  async #staged(d: Delivery, ctx: SessionContext): Promise<void> {
    let message: StagedMessage = d;
    for (const stage of this.#stages) message = await stage.process(message, d, ctx);
    await this.#accept(d, message);
  }

  #accept(d: Delivery, staged: StagedMessage): void | Promise<void> {
    const local: string[] = [];
    const relay: string[] = [];
    for (const r of d.recipients) (this.#domains.has(domainOf(r)) ? local : relay).push(r);
    const message: NewMessage = {
      id: d.id,
      sender: d.sender,
      recipients: local,
      // Queued in the same transaction as the message: the 250 covers them too.
      relay,
      chunks: staged.chunks,
      size: staged.size,
      summary: summarize(staged.chunks),
      receivedAt: d.receivedAt.getTime(),
      // Recipients were checked at RCPT time; postmaster and catch-all mailboxes are created
      // on first delivery.
      createMailboxes: true,
      folder: staged.folder,
    };
    // Durable before we return: the session replies 250 only after this.
    const stored = this.#store(message);
    if (relay.length === 0) return stored;
    return stored instanceof Promise ? stored.then(() => this.#onQueued?.()) : this.#onQueued?.();
  }

  /**
   * Commits MESSAGE, in a group commit when another client may finish a message in the same
   * turn. A lone client with no commit in flight has nobody to share its batch with: waiting
   * for the end of the turn would only delay its 250, so its commit runs at once, in place.
   */
  #store(message: NewMessage): void | Promise<void> {
    const committer = this.#committer;
    if (committer === undefined || (committer.idle && !this.#othersWaiting())) {
      return this.#sink.deliver(message);
    }
    return committer.deliver(message);
  }

  /** Whether connections from ADDRESS are refused for too many failed logins. */
  isLockedOut(address: string): boolean {
    return this.#auth.isLocked(address);
  }

  async authenticate(username: string, password: string, ctx: SessionContext): Promise<string> {
    const outcome = await this.#auth.login(username, password, ctx.client.address, "smtp");
    switch (outcome.kind) {
      case "ok":
        return outcome.user;
      case "locked":
        throw lockedOut();
      case "busy":
        // Not the client's fault: not counted as a failure (RFC 4954 §6: 454 4.7.0).
        throw new SmtpError(454, "4.7.0", "Temporary authentication failure");
      case "refused":
        throw new SmtpError(535, "5.7.8", "Authentication credentials invalid");
    }
  }
}

function lockedOut(): SmtpError {
  return new SmtpError(421, "4.7.0", "Too many failed authentication attempts, try again later");
}
