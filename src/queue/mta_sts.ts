/**
 * A delivery to MX hosts under the destination's MTA-STS policy (RFC 8461 §4, §5):
 *
 * - `enforce`: only to the MX hosts the policy's `mx` patterns allow, only over STARTTLS with a
 *   certificate valid for the MX name (the system's CAs or `--outbound-ca`); a host that fails
 *   is passed over for the next, and when none will do the recipients are deferred with a
 *   reply that says MTA-STS (so the bounce at the end of the queue lifetime says it too).
 * - `testing`: delivered as without a policy (opportunistic TLS), and what `enforce` would
 *   have done is logged (§5).
 *
 * Each MX session under a policy gets one log line shaped for TLS-RPT (RFC 8460 §4.3):
 * `policyType: "sts"`, the domain, the MX and the result type.
 *
 * @module
 */
import type { ClientError } from "../client/errors.ts";
import type { DeliverOptions, NextHop, RecipientResult } from "../client/deliver.ts";
import type { Envelope } from "../client/smtp_client.ts";
import type { TlsInfo } from "../client/wire.ts";
import { getLogger } from "../log.ts";
import {
  type ActivePolicy,
  certificateResult,
  mxAllowed,
  sessionResult,
  type TlsRptResult,
} from "../mta_sts/mod.ts";

const log = getLogger(["mail", "mta-sts"]);

/** The client's delivery function (as the runner's DeliverFn). */
type Deliver = (
  envelope: Envelope,
  message: Uint8Array,
  hops: readonly NextHop[],
  options: DeliverOptions,
) => Promise<RecipientResult[]>;

const hopName = (hop: NextHop) => `${hop.host}:${hop.port}`;

/** What a session's TLS state means under a policy: success, or why not. */
function tlsResult(tls: TlsInfo | undefined): TlsRptResult {
  if (!tls) return "starttls-not-supported";
  if (tls.verified) return "success";
  return certificateResult(tls.authorizationError ?? "");
}

function report(
  level: "info" | "warning",
  active: ActivePolicy,
  mx: string,
  result: TlsRptResult,
  extra: Record<string, unknown> = {},
): void {
  log[level]("MTA-STS delivery", {
    policyType: "sts",
    domain: active.domain,
    policyId: active.id,
    mode: active.policy.mode,
    mx,
    result,
    ...extra,
  });
}

/**
 * Delivers under ACTIVE (mode `enforce` or `testing`) to HOPS (the domain's MX hosts, in
 * order). OPTIONS are those of an opportunistic delivery; CA is `--outbound-ca`.
 */
export async function deliverUnderPolicy(
  deliver: Deliver,
  active: ActivePolicy,
  envelope: Envelope,
  message: Uint8Array,
  hops: readonly NextHop[],
  options: DeliverOptions,
  ca: string | undefined,
): Promise<RecipientResult[]> {
  const { policy, domain } = active;
  const allowed = hops.filter((h) => mxAllowed(policy.mx, h.host));
  const refused = [...new Set(hops.filter((h) => !allowed.includes(h)).map((h) => h.host))];
  if (policy.mode === "testing") {
    for (const mx of refused) {
      report("warning", active, mx, "validation-failure", {
        detail: "MX host not allowed by the policy; delivered anyway (testing mode)",
      });
    }
    return await deliver(envelope, message, hops, {
      ...options,
      ...(ca !== undefined ? { ca: [...(options.ca ?? []), ca] } : {}),
      onSession: (hop, tls) => {
        if (!mxAllowed(policy.mx, hop.host)) return;
        const result = tlsResult(tls);
        report(result === "success" ? "info" : "warning", active, hop.host, result, {
          ...(result === "success" ? {} : { detail: "delivered anyway (testing mode)" }),
        });
      },
    });
  }
  for (const mx of refused) {
    report("warning", active, mx, "validation-failure", {
      detail: "MX host not allowed by the policy; not used",
    });
  }
  if (allowed.length === 0) {
    const text = `MTA-STS: no MX host of ${domain} is allowed by its policy ` +
      `(mx: ${policy.mx.join(", ")}); not delivered`;
    return envelope.recipients.map((recipient) => ({
      recipient,
      status: "deferred",
      text,
      failure: "policy",
    }));
  }
  let last: { hop: NextHop; err: ClientError } | undefined;
  const results = await deliver(envelope, message, allowed, {
    ...options,
    // §4.2: STARTTLS required and the certificate checked for the MX name; no fallback.
    tls: "starttls",
    insecure: false,
    opportunistic: false,
    ca: ca !== undefined ? [ca] : undefined,
    onHopFailure: (hop, err) => {
      last = { hop, err };
      const result = sessionResult({
        command: err.command,
        failure: err.failure,
        message: err.message,
      });
      if (result) report("warning", active, hop.host, result, { detail: err.message });
    },
    onSession: (hop) => report("info", active, hop.host, "success"),
  });
  const failedHop = last as { hop: NextHop; err: ClientError } | undefined;
  if (!failedHop) return results;
  const { err, hop } = failedHop;
  // Every allowed host failed before a transaction, the last for want of TLS or a valid
  // certificate: defer (never bounce at once for this: the receiver can fix it), and say
  // MTA-STS. Other failures (a refused connection, a 554 greeting) keep their meaning.
  if (!sessionResult({ command: err.command, failure: err.failure, message: err.message })) {
    return results;
  }
  return results.map((r) =>
    r.status !== "sent" && r.text === err.message && r.hop === hopName(hop)
      ? { ...r, status: "deferred", text: `MTA-STS policy of ${domain} (enforce): ${r.text}` }
      : r
  );
}
