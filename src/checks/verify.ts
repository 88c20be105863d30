/**
 * The checks themselves, done by mailauth: SPF (RFC 7208) of the MAIL FROM and HELO identities,
 * DKIM (RFC 6376) of every signature, ARC (RFC 8617) chain validation and DMARC (RFC 7489) of
 * the From: domain. This module loads mailauth: the stage imports it only when the first
 * message needs it (`mail serve` starts without it).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { Readable } from "node:stream";
import type { DNSResolver } from "mailauth";
// The parts of mailauth the checks use, without the rest (BIMI and its certificate libraries):
// a smaller, faster first load.
import { spf } from "mailauth/lib/spf/index.js";
import { dkimVerify } from "mailauth/lib/dkim/verify.js";
import { dmarc } from "mailauth/lib/dmarc/index.js";
import { arc } from "mailauth/lib/arc/index.js";
import type { Resinfo } from "./auth_results.ts";
import type { Resolve } from "./lookups.ts";
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

/** DKIM of every signature, ARC, and (once SPF is known) DMARC of the message DATA. */
export async function checkMessage(
  data: readonly Uint8Array[],
  input: MessageInput,
): Promise<MessageOutcome> {
  const resolver = input.resolve as DNSResolver;
  // Streamed in its chunks: a large message is not copied whole once more.
  const buffers = data.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength));
  const dkim = await dkimVerify(Readable.from(buffers), { resolver });
  const rows = (dkim.results ?? []) as unknown as DkimRow[];
  const [arcResult, spfOutcome] = await Promise.all([
    arc(dkim.arc as Parameters<typeof arc>[0], { resolver, ip: input.ip }),
    input.spf,
  ]);
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
  if (!dkim.headerFrom || (Array.isArray(dkim.headerFrom) && dkim.headerFrom.length === 0)) {
    return { ...outcome, dmarcSkipped: "no From: address" };
  }
  const spfPass = spfOutcome.mailfrom.result === "pass" ? [spfOutcome.mailfrom.domain] : [];
  const verdict = await dmarc({
    headerFrom: dkim.headerFrom,
    fromFields: (dkim as { fromFields?: number }).fromFields ?? 1,
    spfDomains: spfPass,
    dkimDomains: rows
      .filter((r) => r.status.result === "pass" && r.signingDomain)
      .map((r) => ({
        ...(r.id ? { id: r.id } : {}),
        domain: r.signingDomain!,
        ...(r.status.aligned !== undefined ? { aligned: r.status.aligned } : {}),
        ...(r.status.underSized !== undefined ? { underSized: r.status.underSized } : {}),
      })),
    arcResult,
    resolver,
  });
  if (!verdict) return { ...outcome, dmarcSkipped: "not one From: domain" };
  const status = verdict.status as Status & { header?: { from?: string } };
  const record = (verdict as unknown as { record?: { pct?: unknown } }).record;
  const policy = (verdict as unknown as { policy?: string }).policy;
  return {
    ...outcome,
    dmarc: {
      result: status.result ?? "none",
      comment: status.comment || undefined,
      from: status.header?.from ?? "",
      policy: policy === "none" || policy === "quarantine" || policy === "reject"
        ? policy
        : undefined,
      pct: typeof record?.pct === "number" ? record.pct : undefined,
    },
  };
}
