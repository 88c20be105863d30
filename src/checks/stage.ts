/**
 * The checks of the MX listener as a message stage: SPF starts at MAIL FROM, while the data
 * arrives; DKIM, ARC and DMARC run after the final dot; the results go into one
 * `Authentication-Results:` field and the policy settings decide what happens to the message.
 *
 * @module
 */
import net from "node:net";
import { type ClientClock, SYSTEM_CLOCK } from "../client/clock.ts";
import { getLogger } from "../log.ts";
import type { Cidr } from "../setting_values.ts";
import type { Mailbox } from "../smtp/address.ts";
import { mailboxToString } from "../smtp/address.ts";
import type { Delivery, SessionContext } from "../smtp/session.ts";
import type { MessageStage, StagedMessage } from "../server/local_backend.ts";
import { authResultsField, authservIdOf, type Resinfo } from "./auth_results.ts";
import {
  fieldValue,
  type HeaderField,
  headerFields,
  withInserted,
  withoutFields,
} from "./header_fields.ts";
import {
  Deadline,
  DEFAULT_LIMITS,
  LookupCounter,
  type LookupLimits,
  type Resolve,
  ResolverHealth,
} from "./lookups.ts";
import { decide, type PolicySettings } from "./policy.ts";
import { CheckResults, type ResultCacheLimits } from "./result_cache.ts";
import type { DmarcOutcome, MessageOutcome, SpfOutcome } from "./verify.ts";

/** The folder quarantined mail goes to (when the mailbox has one; else INBOX). */
export const JUNK_FOLDER = "Junk";

/** DKIM signatures verified per message; the rest are not looked at (each costs a lookup). */
export const MAX_SIGNATURES = 10;

/** What the checks need to know. */
export interface AuthChecksOptions extends PolicySettings {
  /** Our hostname: the authserv-id of our Authentication-Results. */
  readonly hostname: string;
  /** Whether anything is checked at all (`--auth-checks`). */
  readonly authChecks: boolean;
  /** Networks whose mail is not checked (relays of our own). */
  readonly trustedNetworks: readonly Cidr[];
  /** Every DNS lookup of the checks. */
  readonly resolve: Resolve;
  readonly limits?: LookupLimits;
  readonly clock?: ClientClock;
  /** How long SPF and DMARC results are kept for the same inputs, and how many. */
  readonly resultCache?: ResultCacheLimits;
  /** For pct= sampling (RFC 7489 §6.6.4); Math.random by default. */
  readonly random?: () => number;
}

/** SPF of one transaction, started at MAIL FROM. */
interface EarlySpf {
  readonly sender: string;
  readonly helo: string;
  readonly counter: LookupCounter;
  readonly result: Promise<SpfOutcome>;
  settled: boolean;
}

type Verify = typeof import("./verify.ts");

/** The checks of the MX listener (see the module comment). */
export class AuthChecks implements MessageStage {
  readonly #o: AuthChecksOptions;
  readonly #limits: LookupLimits;
  readonly #clock: ClientClock;
  readonly #trusted: net.BlockList;
  readonly #authservId: string;
  readonly #resolve: Resolve;
  /**
   * The SPF started for each session's current transaction, by its client (the one object a
   * session keeps for its whole life; the context is made afresh for each call).
   */
  readonly #early = new WeakMap<object, EarlySpf>();
  /** The last SPF evaluation started at MAIL FROM in each session, finished or not. */
  readonly #started = new WeakMap<object, EarlySpf>();
  readonly #health = new ResolverHealth();
  /** SPF outcomes of the last while, by client address, sender and HELO. */
  readonly #spfCache: CheckResults<SpfOutcome>;
  /** DMARC verdicts of the last while, by their inputs (a skip is kept as its reason). */
  readonly #dmarcCache: CheckResults<DmarcOutcome | string>;
  /** Whether each session's client is trusted, by its client (as #early). */
  readonly #trustedSessions = new WeakMap<object, boolean>();
  #verify: Promise<Verify> | undefined;
  readonly #log = getLogger(["mail", "checks"]);

  constructor(options: AuthChecksOptions) {
    this.#o = options;
    this.#limits = options.limits ?? DEFAULT_LIMITS;
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#authservId = options.hostname.toLowerCase();
    this.#resolve = this.#health.wrap(options.resolve);
    const down = () => this.#health.down;
    this.#spfCache = new CheckResults<SpfOutcome>(
      down,
      (o) => o.mailfrom.result === "temperror" || o.helo?.result === "temperror",
      options.resultCache,
      this.#clock,
    );
    this.#dmarcCache = new CheckResults<DmarcOutcome | string>(
      down,
      (v) => typeof v !== "string" && v.result === "temperror",
      options.resultCache,
      this.#clock,
    );
    this.#trusted = new net.BlockList();
    for (const c of options.trustedNetworks) this.#trusted.addSubnet(c.address, c.prefix, c.family);
  }

  /** Whether the mail of this session is checked: the MX listener's, from outside. */
  #checked(ctx: SessionContext): boolean {
    if (!this.#o.authChecks || ctx.role !== "mx" || ctx.authUser !== undefined) return false;
    return !this.#trustedClient(ctx);
  }

  #loadVerify(): Promise<Verify> {
    return this.#verify ??= import("./verify.ts");
  }

  onSender(sender: Mailbox | undefined, ctx: SessionContext): void {
    if (!this.#checked(ctx)) return;
    // One SPF evaluation started at MAIL FROM in flight per session: a client that repeats
    // MAIL FROM and RSET cannot make us look up domains of its choice faster than that. The
    // sender of this transaction is then checked after its data, if it gets that far.
    this.#early.delete(ctx.client);
    if (this.#started.get(ctx.client)?.settled === false) return;
    const early = this.#startSpf(sender ? mailboxToString(sender) : "", ctx);
    this.#early.set(ctx.client, early);
    this.#started.set(ctx.client, early);
  }

  #startSpf(sender: string, ctx: SessionContext): EarlySpf {
    const counter = new LookupCounter(this.#limits.maxLookups);
    const key = JSON.stringify([ctx.client.address, sender, ctx.helo]);
    const cached = this.#spfCache.get(key);
    if (cached !== undefined) {
      return { sender, helo: ctx.helo, counter, settled: true, result: Promise.resolve(cached) };
    }
    const deadline = new Deadline(this.#limits.budgetMs, this.#clock);
    const early: EarlySpf = {
      sender,
      helo: ctx.helo,
      counter,
      settled: false,
      result: this.#loadVerify().then(async (v) => {
        const outcome = await v.checkSpf({
          sender,
          helo: ctx.helo,
          ip: ctx.client.address,
          mta: this.#o.hostname,
          resolve: counter.resolver(this.#resolve, deadline),
          budgetMs: this.#limits.budgetMs,
        });
        // The local part stays in the key: SPF macros may use it (RFC 7208 §7.2).
        this.#spfCache.set(key, outcome);
        return outcome;
      }).catch((err) => {
        this.#log.warning("SPF check failed", { error: String(err) });
        const row = { method: "spf", result: "temperror", comment: "internal error" };
        return { mailfrom: { result: "temperror", domain: "", row } };
      }).finally(() => {
        early.settled = true;
        deadline.close();
      }),
    };
    return early;
  }

  async process(message: StagedMessage, d: Delivery, ctx: SessionContext): Promise<StagedMessage> {
    if (!this.#o.authChecks || this.#trustedClient(ctx)) return message;
    const { fields, header } = headerFields(message.chunks);
    const trace = ourTrace(fields);
    const theirs = fields.slice(trace.fieldCount);
    // RFC 8601 §5: a result that claims to be ours and came from outside is forged.
    const forged = theirs.filter((f) =>
      f.name === "authentication-results" &&
      authservIdOf(fieldValue(header, f)) === this.#authservId
    );
    if (!this.#checked(ctx)) {
      // Our own users' mail is not checked, but it may not carry our name either.
      if (forged.length === 0) return message;
      const chunks = withoutFields(message.chunks, forged);
      return { ...message, chunks, size: sizeOf(chunks) };
    }
    let early = this.#early.get(ctx.client);
    this.#early.delete(ctx.client);
    if (early === undefined || early.sender !== d.sender || early.helo !== ctx.helo) {
      early = this.#startSpf(d.sender, ctx);
    }
    const outcome = await this.#checkData(message.chunks, trace.end, theirs, early, ctx);
    const spf = await early.result;
    const decision = decide(
      this.#o,
      {
        spf: spf.mailfrom.result,
        spfDomain: spf.mailfrom.domain,
        dkim: outcome.dkim.map((r) => r.result),
        dmarc: outcome.dmarc && {
          result: outcome.dmarc.result,
          policy: outcome.dmarc.policy,
          pct: outcome.dmarc.pct,
          domain: outcome.dmarc.from,
        },
      },
      (this.#o.random ?? Math.random)(),
    );
    if (decision.action === "refuse") throw decision.error;
    if (decision.action === "junk") {
      // A refusal is logged with its reply; a quarantine would otherwise go unseen.
      this.#log.info("Quarantined", { id: d.id, from: outcome.dmarc?.from ?? "", dmarc: "fail" });
    }
    const rows: Resinfo[] = [...outcome.dkim.map((r) => r.row), spf.mailfrom.row];
    if (spf.helo) rows.push(spf.helo.row);
    rows.push(outcome.arc);
    if (outcome.dmarcSkipped) {
      // RFC 7489 §6.6.1: without one author domain DMARC cannot be applied.
      rows.push({ method: "dmarc", result: "permerror", comment: outcome.dmarcSkipped });
    }
    if (outcome.dmarc) {
      const overridden = decision.dmarcResult !== outcome.dmarc.result;
      const props: [string, string][] = [["header.from", outcome.dmarc.from]];
      if (decision.applied) props.push(["policy.dmarc", decision.applied]);
      rows.push({
        method: "dmarc",
        result: decision.dmarcResult ?? outcome.dmarc.result,
        comment: overridden
          ? `${outcome.dmarc.comment ?? ""} fail depends on a temporary DNS error`.trim()
          : outcome.dmarc.comment,
        props,
      });
    }
    let added = authResultsField(this.#authservId, rows);
    // The copy goes to Junk where there is one; where there is none, clients can still tell.
    if (decision.action === "junk") added += "X-Spam-Flag: YES\r\n";
    const chunks = withInserted(withoutFields(message.chunks, forged), trace.insertAt, added);
    return {
      chunks,
      size: sizeOf(chunks),
      ...(decision.action === "junk" ? { folder: JUNK_FOLDER } : {}),
    };
  }

  /** Whether the client is in a trusted network (a relay of our own). */
  #trustedClient(ctx: SessionContext): boolean {
    if (this.#o.trustedNetworks.length === 0) return false;
    // Asked at MAIL FROM and again after the data: answered once per session.
    let trusted = this.#trustedSessions.get(ctx.client);
    if (trusted === undefined) {
      const address = ctx.client.address;
      trusted = net.isIP(address) !== 0 &&
        this.#trusted.check(address, net.isIPv6(address) ? "ipv6" : "ipv4");
      this.#trustedSessions.set(ctx.client, trusted);
    }
    return trusted;
  }

  /** DKIM, ARC and DMARC of the data (the message after our trace fields), in one budget. */
  async #checkData(
    chunks: readonly Uint8Array[],
    dataStart: number,
    theirs: readonly HeaderField[],
    early: EarlySpf,
    ctx: SessionContext,
  ): Promise<MessageOutcome> {
    const deadline = new Deadline(this.#limits.budgetMs, this.#clock);
    try {
      const verify = await this.#loadVerify();
      // Signatures past the first MAX_SIGNATURES are not shown to the verifier.
      const excess = theirs.filter((f) => f.name === "dkim-signature").slice(MAX_SIGNATURES);
      const data = withoutFields(chunks, [{ name: "", start: 0, end: dataStart }, ...excess]);
      // SPF gets the same budget as the rest: a message waits for one budget at most. When the
      // budget runs out before the checks come to SPF, nobody waits for this any more.
      const spf = deadline.race(early.result);
      spf.catch(() => {});
      return await deadline.race(
        verify.checkMessage(data, {
          resolve: early.counter.resolver(this.#resolve, deadline),
          ip: ctx.client.address,
          spf,
          dmarc: this.#o.dmarc !== "off",
          dmarcCache: this.#dmarcCache,
        }),
      );
    } catch (err) {
      if (!deadline.spent) this.#log.warning("Message checks failed", { error: String(err) });
      const comment = deadline.spent ? "checks took too long" : "internal error";
      const signed = theirs.some((f) => f.name === "dkim-signature");
      const dkim = { method: "dkim", result: signed ? "temperror" : "none", comment };
      return {
        dkim: [{ result: dkim.result, row: dkim }],
        arc: { method: "arc", result: "temperror", comment },
        ...(this.#o.dmarc !== "off" ? { dmarc: { result: "temperror", comment, from: "" } } : {}),
      };
    } finally {
      deadline.close();
    }
  }
}

/**
 * Where our own trace fields end: the session puts `Return-Path:` and its `Received:` first.
 * Our Authentication-Results goes between them (above every other trace field, RFC 8601 §5,
 * with Return-Path still first, RFC 5321 §4.4); what follows them is the data as it came.
 */
function ourTrace(fields: readonly HeaderField[]): {
  fieldCount: number;
  insertAt: number;
  end: number;
} {
  let i = 0;
  let insertAt = 0;
  if (fields[0]?.name === "return-path") {
    insertAt = fields[0].end;
    i = 1;
  }
  if (fields[i]?.name === "received") i++;
  return { fieldCount: i, insertAt, end: i > 0 ? fields[i - 1]!.end : 0 };
}

function sizeOf(chunks: readonly Uint8Array[]): number {
  let n = 0;
  for (const c of chunks) n += c.length;
  return n;
}
