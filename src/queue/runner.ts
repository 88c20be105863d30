/**
 * The delivery worker of `mail serve`: it picks the due rows of the outbound queue, groups
 * them by message and destination domain (one SMTP transaction each), delivers with the
 * client's {@link deliver} under concurrency limits, and has a result per recipient committed
 * (settle.ts). The transactions of one message started together make one pass, and its
 * failures one bounce (bounces.ts).
 *
 * Crash safety needs no "in flight" mark in the database: a row stays due until a final result
 * (or a reschedule) is committed, so after `kill -9` it is simply due again and is retried.
 * That is at-least-once delivery: a crash between the remote 250 and our commit sends the
 * message a second time, never zero times. In the process, an in-memory set of the rows being
 * attempted keeps any row from being attempted twice at once.
 *
 * @module
 */
import { getLogger } from "../log.ts";
import {
  deliver as clientDeliver,
  type DeliverOptions,
  type NextHop,
  type RecipientResult,
} from "../client/deliver.ts";
import type { Envelope, Timeouts } from "../client/smtp_client.ts";
import type { ActivePolicy } from "../mta_sts/mod.ts";
import { isLooping } from "../smtp/trace.ts";
import type { OutboundQueue, QueueEntry } from "../store/mod.ts";
import { bouncePass, newPass, type NoticeOptions, type Pass } from "./bounces.ts";
import { forRelay } from "./message.ts";
import { deliverUnderPolicy } from "./mta_sts.ts";
import type { Route } from "./route.ts";
import type { Schedule } from "./schedule.ts";
import { type SettleOptions, settleResults } from "./settle.ts";

const log = getLogger(["mail", "queue"]);

/** The client's delivery function (injectable for tests). */
export type DeliverFn = (
  envelope: Envelope,
  message: Uint8Array,
  hops: readonly NextHop[],
  options: DeliverOptions,
) => Promise<RecipientResult[]>;

/** The part of the store the runner uses. */
export type QueueStore = Pick<
  OutboundQueue,
  "queueDue" | "queueNextDue" | "messageBytes" | "settle"
>;

export interface RunnerOptions {
  readonly store: QueueStore;
  /** Next hops of a destination domain (a {@link Router}). */
  readonly router: { route(domain: string): Promise<Route> };
  /** Our name: EHLO, Reporting-MTA, MAILER-DAEMON's domain. */
  readonly hostname: string;
  /** Local domains: a bounce to a sender in one of them is stored, not queued. */
  readonly localDomains: readonly string[];
  readonly schedule: Schedule;
  /** Connections at once, in total. */
  readonly concurrency: number;
  /** Connections at once to one destination domain. */
  readonly concurrencyPerDestination: number;
  /** How often the table is polled for rows made due by others (`mail queue retry`). */
  readonly pollMs?: number;
  /** Recipients per transaction (RFC 5321 §4.5.3.1.8: servers take at least 100). */
  readonly maxRecipients?: number;
  readonly deliver?: DeliverFn;
  /** MTA-STS (RFC 8461) for deliveries to MX hosts: the policies, and `--outbound-ca`. */
  readonly mtaSts?: {
    readonly policies: { policyFor(domain: string): Promise<ActivePolicy | undefined> };
    readonly ca?: string | undefined;
  };
  readonly timeouts?: Partial<Timeouts>;
  readonly now?: () => number;
  readonly random?: () => number;
  /** Signs bounces and delay warnings (DKIM), see bounces.ts. */
  readonly signNotice?: NoticeOptions["sign"];
}

/** Default of {@link RunnerOptions.pollMs}. */
export const DEFAULT_POLL_MS = 1000;

/**
 * The worker: due rows to transactions, under the concurrency limits. What becomes of their
 * results is settle.ts's business, and the bounce at the end of a pass bounces.ts's.
 */
export class QueueRunner {
  readonly #o: RunnerOptions;
  readonly #deliver: DeliverFn;
  readonly #now: () => number;
  readonly #settle: SettleOptions;
  /** Rows being attempted right now. */
  readonly #inFlight = new Set<number>();
  readonly #perDestination = new Map<string, number>();
  readonly #jobs = new Set<Promise<void>>();
  /** Rows whose attempt failed unexpectedly (a bug, a store error): left alone until then. */
  readonly #cooldown = new Map<number, number>();
  #active = 0;
  #stopped = false;
  #abandoned = false;
  #woken = false;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;

  constructor(options: RunnerOptions) {
    this.#o = options;
    this.#deliver = options.deliver ?? clientDeliver;
    this.#now = options.now ?? Date.now;
    this.#settle = {
      store: options.store,
      hostname: options.hostname,
      localDomains: new Set(options.localDomains.map((d) => d.toLowerCase())),
      schedule: options.schedule,
      random: options.random,
      sign: options.signNotice,
    };
  }

  /** Deliveries under way. */
  get active(): number {
    return this.#active;
  }

  /** Starts the worker loop. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Looks at the queue now (a message was just queued, or a delivery finished). */
  wake(): void {
    this.#woken = true;
    this.#wake?.();
  }

  /**
   * Stops taking new work and waits up to GRACEMS for deliveries in flight. Those still running
   * then are abandoned: their results are not recorded, so they are retried on the next start
   * (at-least-once). Resolves with whether everything finished.
   */
  async stop(graceMs: number): Promise<boolean> {
    this.#stopped = true;
    this.wake();
    await this.#loop;
    if (this.#jobs.size === 0) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finished = await Promise.race([
      Promise.all(this.#jobs).then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), graceMs))),
    ]);
    clearTimeout(timer);
    if (!finished) this.abandon();
    return finished;
  }

  /** Stops at once: deliveries in flight are left to be retried on the next start. */
  abandon(): void {
    this.#stopped = true;
    this.wake();
    if (this.#jobs.size > 0 && !this.#abandoned) {
      log.warning("Abandoning deliveries in flight; they will be retried", {
        deliveries: this.#jobs.size,
      });
    }
    this.#abandoned = true;
  }

  async #run(): Promise<void> {
    const pollMs = this.#o.pollMs ?? DEFAULT_POLL_MS;
    while (!this.#stopped) {
      this.#woken = false;
      let delay = pollMs;
      try {
        this.#fill();
        const next = this.#o.store.queueNextDue(this.#now());
        if (next !== undefined) delay = Math.max(0, Math.min(pollMs, next - this.#now()));
      } catch (err) {
        log.error("Cannot read the queue", { error: (err as Error).message });
      }
      if (this.#woken || this.#stopped) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, delay);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.#wake = done;
      });
      this.#wake = undefined;
    }
  }

  /** Starts attempts for due rows, as far as the limits allow. */
  #fill(): void {
    const { concurrency, concurrencyPerDestination } = this.#o;
    if (this.#active >= concurrency) return;
    const maxRecipients = this.#o.maxRecipients ?? 100;
    const now = this.#now();
    for (const [id, until] of this.#cooldown) if (until <= now) this.#cooldown.delete(id);
    const rows = this.#o.store.queueDue(now, 1000 + this.#inFlight.size + this.#cooldown.size);
    // Message and destination: one transaction each, in order of the oldest due row.
    const groups = new Map<string, QueueEntry[]>();
    for (const row of rows) {
      if (this.#inFlight.has(row.id) || this.#cooldown.has(row.id)) continue;
      let n = 0;
      let key = `${row.messageRowId} ${row.domain} ${n}`;
      while ((groups.get(key)?.length ?? 0) >= maxRecipients) {
        key = `${row.messageRowId} ${row.domain} ${++n}`;
      }
      const group = groups.get(key);
      if (group) group.push(row);
      else groups.set(key, [row]);
    }
    const starting: QueueEntry[][] = [];
    const perDestination = new Map(this.#perDestination);
    for (const group of groups.values()) {
      if (this.#active + starting.length >= concurrency) break;
      const domain = group[0]!.domain;
      const busy = perDestination.get(domain) ?? 0;
      if (busy >= concurrencyPerDestination) continue;
      perDestination.set(domain, busy + 1);
      starting.push(group);
    }
    const passes = new Map<number, Pass>();
    for (const group of starting) {
      const first = group[0]!;
      const pass = passes.get(first.messageRowId) ?? newPass(first);
      passes.set(first.messageRowId, pass);
      pass.pending++;
    }
    for (const group of starting) this.#start(group, passes.get(group[0]!.messageRowId)!);
  }

  #start(group: QueueEntry[], pass: Pass): void {
    const domain = group[0]!.domain;
    this.#active++;
    this.#perDestination.set(domain, (this.#perDestination.get(domain) ?? 0) + 1);
    for (const row of group) {
      this.#inFlight.add(row.id);
      pass.rows.push(row.id);
    }
    const job = this.#attempt(group, pass)
      .catch((err) => {
        // Not retried at once: an error that repeats would otherwise spin.
        const until = this.#now() + this.#o.schedule.minBackoffMs;
        for (const row of group) this.#cooldown.set(row.id, until);
        log.error("Delivery attempt failed", {
          id: group[0]!.messageId,
          error: (err as Error).message,
          stack: (err as Error).stack,
        });
      })
      .finally(() => {
        this.#active--;
        const n = (this.#perDestination.get(domain) ?? 1) - 1;
        if (n === 0) this.#perDestination.delete(domain);
        else this.#perDestination.set(domain, n);
        if (--pass.pending === 0) this.#endPass(pass);
        this.#jobs.delete(job);
        this.wake();
      });
    this.#jobs.add(job);
  }

  /** One transaction for GROUP (same message, same domain), then its results committed. */
  async #attempt(group: readonly QueueEntry[], pass: Pass): Promise<void> {
    const first = group[0]!;
    const recipients = group.map((r) => r.recipient);
    const message = this.#o.store.messageBytes(first.messageRowId);
    if (message === undefined) return; // deleted meanwhile (`mail queue delete`)
    let results: RecipientResult[];
    if (isLooping([message])) {
      // RFC 5321 §6.3. Refused at DATA time already; this catches what came in otherwise.
      const text = "Too many Received headers: mail loop (RFC 5321 §6.3)";
      results = recipients.map((recipient) => ({
        recipient,
        status: "refused",
        text,
        reply: { code: 554, enhanced: "5.4.6", lines: [text] },
      }));
    } else {
      results = await this.#transact(first, recipients, message);
    }
    if (this.#abandoned) return;
    pass.original ??= message;
    settleResults(this.#settle, group, results, message, pass, this.#now());
  }

  async #transact(
    first: QueueEntry,
    recipients: string[],
    message: Uint8Array,
  ): Promise<RecipientResult[]> {
    const route = await this.#o.router.route(first.domain);
    if (route.kind === "failed") {
      log.info("Delivery attempt", {
        id: first.messageId,
        recipients,
        domain: first.domain,
        error: route.text,
      });
      return recipients.map((recipient) => ({
        recipient,
        status: route.temporary ? "deferred" : "refused",
        text: route.text,
        failure: "connect",
      }));
    }
    log.info("Delivery attempt", {
      id: first.messageId,
      recipients,
      via: route.via,
      hops: route.hops.map((h) => `${h.host}:${h.port}`),
    });
    const envelope = { sender: first.sender, recipients };
    const options: DeliverOptions = {
      helo: this.#o.hostname,
      tls: "auto",
      // RFC 7435 opportunistic security: encrypt when offered, but an MX's certificate is
      // not checked (most are self-signed or for another name). A password is only sent to
      // a verified server (or in the clear over loopback, see the client), and a smarthost
      // given a CA is always verified against it.
      insecure: route.credentials === undefined && route.ca === undefined,
      ...(route.ca !== undefined ? { ca: [route.ca] } : {}),
      credentials: route.credentials,
      timeouts: this.#o.timeouts,
    };
    const sts = this.#o.mtaSts;
    if (route.via === "mx" && sts) {
      // RFC 8461 applies to MX delivery only: routes and the smarthost are configured by hand.
      const active = await sts.policies.policyFor(first.domain.toLowerCase());
      if (active && active.policy.mode !== "none") {
        return await deliverUnderPolicy(
          this.#deliver,
          active,
          envelope,
          forRelay(message),
          route.hops,
          options,
          sts.ca,
        );
      }
    }
    return await this.#deliver(envelope, forRelay(message), route.hops, options);
  }

  /**
   * The last transaction of PASS is over: its rows are no longer in flight, and its failures
   * bounce. Abandoned (the server stopping), they stay due and bounce after a restart.
   */
  #endPass(pass: Pass): void {
    for (const id of pass.rows) this.#inFlight.delete(id);
    if (this.#abandoned) return;
    const now = this.#now();
    if (!bouncePass(this.#o.store, this.#settle, pass, now)) {
      // Left due, as after a crash; not retried at once, or an error that repeats would spin.
      const until = now + this.#o.schedule.minBackoffMs;
      for (const id of pass.failedRows) this.#cooldown.set(id, until);
    }
  }
}
