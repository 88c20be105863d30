/**
 * The MTA-STS policy file (RFC 8461 §3.2): `key: value` lines, CRLF or LF, with `version:
 * STSv1`, `mode: enforce|testing|none`, `max_age: SECONDS` and, unless the mode is `none`, one
 * or more `mx: PATTERN` lines. Unknown keys are ignored (§3.2); of a repeated key other than
 * `mx`, the first counts.
 *
 * Any input gives a {@link Policy} or a {@link PolicySyntaxError}: never anything else.
 *
 * @module
 */
import { isWsp, trimmed } from "../trim.ts";
import { PolicySyntaxError } from "./errors.ts";

/** Largest policy body taken (RFC 8461 §3.3 suggests 64 KiB). */
export const MAX_POLICY_BYTES = 64 * 1024;
/** Most `mx` patterns taken; a policy with more is refused. */
export const MAX_MX_PATTERNS = 100;
/** Longest `max_age` (RFC 8461 §3.2: 31557600 s, about a year); longer is cut to it. */
export const MAX_AGE_LIMIT = 31_557_600;

/** RFC 8461 §5: what a sender does with a matching policy. */
export type PolicyMode = "enforce" | "testing" | "none";

/** A parsed policy. */
export interface Policy {
  readonly mode: PolicyMode;
  /** The MX patterns, lower case (`mx.example.com`, `*.example.net`). */
  readonly mx: readonly string[];
  /** Seconds the policy may be cached (§3.2), at most {@link MAX_AGE_LIMIT}. */
  readonly maxAge: number;
}

// RFC 5321 §4.1.2 Domain: sub-domain *("." sub-domain), sub-domain = Let-dig [Ldh-str].
const LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
const MX_PATTERN = new RegExp(`^(?:\\*\\.)?${LABEL}(?:\\.${LABEL})*$`);
const KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;

/** Parses a policy body (bytes as served, or text). Throws {@link PolicySyntaxError}. */
export function parsePolicy(body: Uint8Array | string): Policy {
  let text: string;
  if (typeof body === "string") {
    text = body;
  } else {
    if (body.length > MAX_POLICY_BYTES) {
      throw new PolicySyntaxError(`MTA-STS policy larger than ${MAX_POLICY_BYTES} octets`);
    }
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(body);
    } catch {
      throw new PolicySyntaxError("MTA-STS policy is not UTF-8");
    }
  }
  if (text.length > MAX_POLICY_BYTES) {
    throw new PolicySyntaxError(`MTA-STS policy larger than ${MAX_POLICY_BYTES} octets`);
  }
  const first = new Map<string, string>();
  const mx: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon < 0) {
      if (line.trim() === "") continue;
      throw new PolicySyntaxError(`MTA-STS policy has a line that is not key: value`);
    }
    // ABNF literals are case-insensitive (RFC 5234 §2.3): the keys; values are %s, exact.
    const key = line.slice(0, colon).toLowerCase();
    if (!KEY.test(key)) {
      throw new PolicySyntaxError(`MTA-STS policy has a malformed key`);
    }
    const value = trimmed(line, isWsp, isWsp, colon + 1);
    if (key === "mx") {
      const pattern = value.toLowerCase().replace(/\.$/, "");
      if (pattern.length > 255 || !MX_PATTERN.test(pattern)) {
        throw new PolicySyntaxError(`MTA-STS policy has a malformed mx pattern`);
      }
      if (mx.length >= MAX_MX_PATTERNS) {
        throw new PolicySyntaxError(`MTA-STS policy has more than ${MAX_MX_PATTERNS} mx patterns`);
      }
      mx.push(pattern);
    } else if (!first.has(key)) {
      first.set(key, value);
    }
  }
  const version = first.get("version");
  if (version !== "STSv1") {
    throw new PolicySyntaxError(
      version === undefined ? "MTA-STS policy has no version" : "MTA-STS policy is not STSv1",
    );
  }
  const mode = first.get("mode");
  if (mode !== "enforce" && mode !== "testing" && mode !== "none") {
    throw new PolicySyntaxError(
      mode === undefined ? "MTA-STS policy has no mode" : "MTA-STS policy has an unknown mode",
    );
  }
  const age = first.get("max_age");
  if (age === undefined || !/^[0-9]{1,10}$/.test(age)) {
    throw new PolicySyntaxError("MTA-STS policy has no valid max_age");
  }
  if (mode !== "none" && mx.length === 0) {
    throw new PolicySyntaxError(`MTA-STS policy in ${mode} mode has no mx pattern`);
  }
  return { mode, mx, maxAge: Math.min(Number(age), MAX_AGE_LIMIT) };
}

/** A policy as text again (for the log and the store's copy): the fields it holds. */
export function formatPolicy(policy: Policy): string {
  return [
    "version: STSv1",
    `mode: ${policy.mode}`,
    ...policy.mx.map((m) => `mx: ${m}`),
    `max_age: ${policy.maxAge}`,
    "",
  ].join("\r\n");
}
