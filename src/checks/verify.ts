/**
 * The checks themselves: SPF (RFC 7208) of the MAIL FROM and HELO identities and DMARC (RFC
 * 7489) of the From: domain by mailauth, DKIM (RFC 6376) of every signature by our own verifier
 * (`dkim_verify.ts`, which gives mailauth's results at a fraction of its cost), and ARC (RFC
 * 8617) chain validation by mailauth, loaded only for a message that has ARC-Seal fields
 * (mailauth's DKIM verifier then checks that message, as ARC needs its parse of the chain).
 * This module loads mailauth: the stage imports it only when the first message needs it
 * (`mail serve` starts without it).
 *
 * @module
 */
// First: mailauth must find the stand-ins for Joi, libmime and tldts when it loads (imports run
// in this order).
import "./joi_stand_in.ts";
import "./libmime_stand_in.ts";
import "./tldts_stand_in.ts";
import { Buffer } from "node:buffer";
import { Readable } from "node:stream";
import type { DNSResolver } from "mailauth";
// The parts of mailauth the checks use, without the rest (BIMI and its certificate libraries):
// a smaller, faster first load. ARC's are loaded by the first message with an ARC set.
import { spf } from "mailauth/lib/spf/index.js";
import { dmarc } from "mailauth/lib/dmarc/index.js";
import { fromAddresses, fromFieldValue } from "../from_addresses.ts";
import { type HeaderField, splitChunks } from "../dkim/canon.ts";
import { readHeaderFields } from "./dkim_canon.ts";
import { verifyDkim } from "./dkim_verify.ts";
import type { Resinfo } from "./auth_results.ts";
import type { Resolve } from "./lookups.ts";
import type { CheckResults } from "./result_cache.ts";
import type { DmarcPolicy } from "./policy.ts";

/** The SPF result of one identity. */
export interface SpfIdentity {
  readonly result: string;
  /** The domain checked. */
  readonly domain: string;
  readonly row: Resinfo;
}

/** SPF of the MAIL FROM identity (of HELO for the null sender), and of HELO. */
export interface SpfOutcome {
  readonly mailfrom: SpfIdentity;
  /** Absent for the null sender (the first is the HELO check) or a HELO that is no domain. */
  readonly helo?: SpfIdentity | undefined;
}

/** What SPF is checked for: the envelope of one transaction. */
export interface SpfInput {
  /** The MAIL FROM address, `""` for the null reverse-path. */
  readonly sender: string;
  readonly helo: string;
  /** The client's IP address. */
  readonly ip: string;
  /** Our hostname, for mailauth's comments. */
  readonly mta: string;
  readonly resolve: Resolve;
  readonly budgetMs: number;
}

interface Status {
  result?: string;
  comment?: string | false;
}

/** Runs SPF for the MAIL FROM identity and the HELO identity (RFC 7208 §2.3, §2.4). */
export async function checkSpf(input: SpfInput): Promise<SpfOutcome> {
  const one = async (
    sender: string | undefined,
    identity: readonly [string, string],
  ): Promise<SpfIdentity> => {
    const r = await spf({
      ...(sender ? { sender } : {}),
      ip: input.ip,
      helo: input.helo,
      mta: input.mta,
      resolver: input.resolve as DNSResolver,
      maxElapsedTime: input.budgetMs,
    });
    const status = r.status as Status;
    const result = status.result ?? "temperror";
    return {
      result,
      domain: r.domain,
      row: { method: "spf", result, comment: status.comment || undefined, props: [identity] },
    };
  };
  // RFC 7208 §2.3: the HELO identity is checked on its own too; it needs a domain name.
  const heloIsDomain = /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+\.?$/.test(input.helo);
  // RFC 8601 §2.7.2: each result names the identity that was checked.
  const heloIdentity = ["smtp.helo", input.helo] as const;
  const [mailfrom, helo] = await Promise.all([
    input.sender
      ? one(input.sender, ["smtp.mailfrom", input.sender])
      : one(undefined, heloIdentity),
    input.sender && heloIsDomain ? one(`postmaster@${input.helo}`, heloIdentity) : undefined,
  ]);
  return { mailfrom, helo };
}

/** DMARC's verdict as mailauth gives it, before our policy. */
export interface DmarcOutcome {
  readonly result: string;
  readonly comment?: string | undefined;
  /** The From: domain (header.from). */
  readonly from: string;
  readonly policy?: DmarcPolicy | undefined;
  readonly pct?: number | undefined;
}

/** What the checks of a message found. */
export interface MessageOutcome {
  readonly dkim: readonly { readonly result: string; readonly row: Resinfo }[];
  readonly arc: Resinfo;
  /** Absent when DMARC was not evaluated (off, or not one From: domain). */
  readonly dmarc?: DmarcOutcome | undefined;
  /** Why DMARC could not be evaluated (no From: domain, several). */
  readonly dmarcSkipped?: string | undefined;
}

/** What the checks of a message need besides its bytes. */
export interface MessageInput {
  readonly resolve: Resolve;
  readonly ip: string;
  /** SPF, started at MAIL FROM. */
  readonly spf: Promise<SpfOutcome>;
  /** Whether to evaluate DMARC. */
  readonly dmarc: boolean;
  /** DMARC verdicts of the last while, by their inputs (a skip is kept as its reason). */
  readonly dmarcCache?: CheckResults<DmarcOutcome | string> | undefined;
}

interface DkimRow {
  signingDomain?: string;
  status: Status & {
    aligned?: string | false;
    underSized?: number;
    header?: Record<string, unknown>;
  };
  id?: string;
}

/** What the DKIM verification of a message gives DMARC and the rest of the checks. */
interface DkimOutcome {
  readonly rows: DkimRow[];
  /** ARC's result, as mailauth's `arc()` gives it. */
  readonly arcResult: { status: unknown };
}

/** The message's authors, as mailauth's DMARC takes them (RFC 7489 §6.6.1). */
interface Authors {
  /** The addresses of its From: fields. */
  readonly headerFrom: string[];
  /** How many From: fields it has. */
  readonly fromFields: number;
}

/**
 * The authors in FIELDS, read as the DKIM signer reads them (one parser, `from_addresses.ts`):
 * the domains DMARC evaluates are those it signs for, with an ARC set or without.
 */
async function authorsOf(fields: readonly HeaderField[]): Promise<Authors> {
  const from = fields.filter((f) => f.key === "from");
  const headerFrom: string[] = [];
  for (const f of from) headerFrom.push(...await fromAddresses(fromFieldValue(f.raw)));
  return { headerFrom, fromFields: from.length };
}

/** DKIM by our verifier, of the message split into FIELDS and BODY; ARC is none. */
async function ourDkim(
  fields: readonly HeaderField[],
  body: readonly Uint8Array[],
  resolve: Resolve,
): Promise<DkimOutcome> {
  const rows = await verifyDkim(fields, body, { resolve, now: Date.now() / 1000 }) as DkimRow[];
  return { rows, arcResult: { status: { result: "none" } } };
}

/** DKIM and ARC by mailauth, for a message with an ARC set (ARC needs its DKIM parse). */
async function mailauthDkimArc(
  data: readonly Uint8Array[],
  resolver: DNSResolver,
  ip: string,
): Promise<DkimOutcome> {
  const [{ dkimVerify }, { arc }] = await Promise.all([
    import("mailauth/lib/dkim/verify.js"),
    import("mailauth/lib/arc/index.js"),
  ]);
  // Streamed in its chunks: a large message is not copied whole once more.
  const buffers = data.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength));
  const dkim = await dkimVerify(Readable.from(buffers), { resolver });
  const arcResult = await arc(dkim.arc as Parameters<typeof arc>[0], { resolver, ip });
  return { rows: (dkim.results ?? []) as unknown as DkimRow[], arcResult };
}

/** DKIM of every signature, ARC, and (once SPF is known) DMARC of the message DATA. */
export async function checkMessage(
  data: readonly Uint8Array[],
  input: MessageInput,
): Promise<MessageOutcome> {
  const resolver = input.resolve as DNSResolver;
  const { header, body } = splitChunks(data);
  const fields = readHeaderFields(header);
  // RFC 8617 §4.1.3: a message with an ARC set has an ARC-Seal field.
  const dkim = fields.some((f) => f.key === "arc-seal")
    ? await mailauthDkimArc(data, resolver, input.ip)
    : await ourDkim(fields, body, input.resolve);
  const rows = dkim.rows;
  const arcResult = dkim.arcResult;
  const spfOutcome = await input.spf;
  const arcStatus = arcResult.status as Status;
  const outcome: MessageOutcome = {
    dkim: rows.map((r) => {
      const result = r.status.result ?? "none";
      const header = r.status.header ?? {};
      // header.d first: the domain that signed (RFC 8601 §2.7.1, RFC 6008 header.b).
      const props: [string, string][] = r.signingDomain ? [["header.d", r.signingDomain]] : [];
      for (const key of ["i", "s", "a", "b"]) {
        const value = header[key];
        if (typeof value === "string" && value !== "") props.push([`header.${key}`, value]);
      }
      return {
        result,
        row: { method: "dkim", result, comment: r.status.comment || undefined, props },
      };
    }),
    arc: {
      method: "arc",
      result: arcStatus.result ?? "none",
      comment: arcStatus.comment || undefined,
    },
  };
  if (!input.dmarc) return outcome;
  const authors = await authorsOf(fields);
  if (authors.headerFrom.length === 0) {
    return { ...outcome, dmarcSkipped: "no From: address" };
  }
  const spfPass = spfOutcome.mailfrom.result === "pass" ? [spfOutcome.mailfrom.domain] : [];
  const dkimDomains = rows
    .filter((r) => r.status.result === "pass" && r.signingDomain)
    .map((r) => ({
      ...(r.id ? { id: r.id } : {}),
      domain: r.signingDomain!,
      ...(r.status.aligned !== undefined ? { aligned: r.status.aligned } : {}),
      ...(r.status.underSized !== undefined ? { underSized: r.status.underSized } : {}),
    }));
  const evidence: DmarcEvidence = {
    spfPass,
    dkimDomains,
    arcResult,
    resolver,
    cache: input.dmarcCache,
  };
  const verdict = await dmarcOf(authors, evidence);
  if (typeof verdict !== "string") return { ...outcome, dmarc: verdict };
  const strictest = await strictestFailure(authors, evidence);
  return strictest ? { ...outcome, dmarc: strictest } : { ...outcome, dmarcSkipped: verdict };
}

/** A domain whose signature passed, as mailauth's DMARC takes it. */
interface DkimDomain {
  readonly domain: string;
  readonly id?: string;
  readonly aligned?: unknown;
  readonly underSized?: number;
}

/** What DMARC weighs besides the authors: the identifiers that passed, ARC, and where to ask. */
interface DmarcEvidence {
  readonly spfPass: string[];
  readonly dkimDomains: readonly DkimDomain[];
  readonly arcResult: { status: unknown };
  readonly resolver: DNSResolver;
  readonly cache: CheckResults<DmarcOutcome | string> | undefined;
}

const NOT_ONE_DOMAIN = "not one From: domain";

/** mailauth's DMARC verdict for AUTHORS, or why it gives none (not one author domain). */
async function dmarcOf(authors: Authors, e: DmarcEvidence): Promise<DmarcOutcome | string> {
  // Everything the verdict depends on but the DNS answers (which are cached for longer).
  const key = JSON.stringify([
    authors.headerFrom.map((a) => a.slice(a.lastIndexOf("@") + 1).toLowerCase()),
    authors.fromFields,
    e.spfPass,
    e.dkimDomains.map((d) => [d.domain.toLowerCase(), d.underSized ?? 0]),
    (e.arcResult.status as Status).result ?? "",
  ]);
  const cached = e.cache?.get(key);
  if (cached !== undefined) return cached;
  const verdict = await dmarc({
    headerFrom: authors.headerFrom,
    fromFields: authors.fromFields,
    spfDomains: e.spfPass,
    dkimDomains: e.dkimDomains as NonNullable<Parameters<typeof dmarc>[0]["dkimDomains"]>,
    arcResult: e.arcResult as NonNullable<Parameters<typeof dmarc>[0]["arcResult"]>,
    resolver: e.resolver,
  });
  if (!verdict) {
    e.cache?.set(key, NOT_ONE_DOMAIN);
    return NOT_ONE_DOMAIN;
  }
  const status = verdict.status as Status & { header?: { from?: string } };
  const record = (verdict as unknown as { record?: { pct?: unknown } }).record;
  const policy = (verdict as unknown as { policy?: string }).policy;
  const result: DmarcOutcome = {
    result: status.result ?? "none",
    comment: status.comment || undefined,
    from: status.header?.from ?? "",
    policy: policy === "none" || policy === "quarantine" || policy === "reject"
      ? policy
      : undefined,
    pct: typeof record?.pct === "number" ? record.pct : undefined,
  };
  // The cache decides how long a verdict reached through a failed lookup is kept.
  e.cache?.set(key, result);
  return result;
}

/** Author domains checked one by one at most: each costs lookups from the message's budget. */
const MAX_AUTHOR_DOMAINS = 10;

const STRICTNESS: Record<string, number> = { none: 1, quarantine: 2, reject: 3 };

/**
 * RFC 7489 §6.6.1: a message with several author domains (several From: fields, or addresses
 * of several domains) is checked for each of them, and the strictest policy among those that
 * fail applies, so that a second From: cannot take a message out of its domain's policy.
 * Undefined when none fails (the message then has no one DMARC result).
 */
async function strictestFailure(
  authors: Authors,
  e: DmarcEvidence,
): Promise<DmarcOutcome | undefined> {
  const byDomain = new Map<string, string>();
  for (const address of authors.headerFrom) {
    const domain = address.slice(address.lastIndexOf("@") + 1).toLowerCase().replace(/\.$/, "");
    if (domain !== "" && !byDomain.has(domain)) byDomain.set(domain, address);
  }
  let strictest: DmarcOutcome | undefined;
  for (const address of [...byDomain.values()].slice(0, MAX_AUTHOR_DOMAINS)) {
    const verdict = await dmarcOf({ headerFrom: [address], fromFields: 1 }, e);
    if (typeof verdict === "string" || verdict.result !== "fail") continue;
    if (
      !strictest ||
      (STRICTNESS[verdict.policy ?? ""] ?? 0) > (STRICTNESS[strictest.policy ?? ""] ?? 0)
    ) {
      strictest = verdict;
    }
  }
  if (!strictest) return undefined;
  const comment = `${strictest.comment ?? ""} one of ${byDomain.size} From: domains`.trim();
  return { ...strictest, comment };
}
