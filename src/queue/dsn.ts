/**
 * Delivery status notifications (RFC 3464): the bounce sent to the envelope sender when a
 * recipient fails for good or its time in the queue runs out, and the one-time warning that
 * delivery is delayed.
 *
 * The message is a `multipart/report; report-type=delivery-status` (RFC 6522): a part for
 * people, a `message/delivery-status` part for programs (one per-message field group, then one
 * group per recipient), and a `text/rfc822-headers` part with the original message's header
 * (not its body: the sender has it, and a bounce should not carry an attachment back).
 * It is sent from the null reverse-path `<>` (RFC 5321 §4.5.5), so it is never bounced itself.
 *
 * @module
 */
import { rfc5322Date } from "../smtp/trace.ts";

/** One recipient's line in a report. */
export interface DsnRecipient {
  readonly recipient: string;
  /** RFC 3464 §2.3.3: `failed` (a bounce) or `delayed` (a warning). */
  readonly action: "failed" | "delayed";
  /** RFC 3463 status code, such as `5.1.1`. */
  readonly status: string;
  /** The remote server's reply (`550 5.1.1 No such user`), when one decided it. */
  readonly reply?: string | undefined;
  /** What happened, for people: the command and the reply, or the connection failure. */
  readonly text: string;
  /** The host that replied or could not be reached (`mx.example.org`). */
  readonly remoteMta?: string | undefined;
  readonly lastAttempt?: Date | undefined;
  /** For `delayed`: when the queue gives up. */
  readonly willRetryUntil?: Date | undefined;
}

export interface DsnOptions {
  /** `failure`: the listed recipients will not get the message; `delay`: not yet. */
  readonly kind: "failure" | "delay";
  /** Our host name: Reporting-MTA and the From address's domain. */
  readonly reportingMta: string;
  /** The original envelope sender: the report's recipient. */
  readonly to: string;
  /** The original message's queue id. */
  readonly queueId: string;
  readonly arrivalDate: Date;
  /** When the report is written. */
  readonly date: Date;
  /** The report's own Message-ID, without angle brackets. */
  readonly messageId: string;
  readonly recipients: readonly DsnRecipient[];
  /** The original message's header block, as stored. */
  readonly originalHeaders: Uint8Array;
  /** The MIME boundary (random when absent; injectable for tests). */
  readonly boundary?: string | undefined;
}

const encoder = new TextEncoder();

/** Field text: printable ASCII on one line (a reply can hold anything a server sent). */
function fieldText(s: string, max = 900): string {
  return s.replace(/[\r\n\t]+/g, " ").replace(/[^\x20-\x7e]/g, "?").slice(0, max);
}

/**
 * An address as an RFC 3464 address-type and value: `rfc822; a@b`, or for an internationalised
 * address `utf-8; ` with every non-ASCII character as `\x{HEX}` (RFC 6533 §3, utf-8-addr-xtext).
 */
export function dsnAddress(address: string): string {
  if (/^[\x21-\x7e]*$/.test(address)) return `rfc822; ${address}`;
  let out = "";
  for (const ch of address) {
    const cp = ch.codePointAt(0)!;
    out += cp < 0x21 || cp > 0x7e || ch === "\\" || ch === "+" || ch === "="
      ? `\\x{${cp.toString(16).toUpperCase()}}`
      : ch;
  }
  return `utf-8; ${out}`;
}

/**
 * The RFC 3463 status for a result: the server's enhanced code when its class agrees with the
 * reply code, else one derived from the code (`5.0.0`, `4.0.0`), else FALLBACK.
 */
export function dsnStatus(
  reply: { code: number; enhanced?: string | undefined } | undefined,
  fallback: string,
): string {
  if (!reply) return fallback;
  const cls = Math.floor(reply.code / 100);
  if (reply.enhanced && reply.enhanced.startsWith(`${cls}.`)) return reply.enhanced;
  return cls === 4 || cls === 5 ? `${cls}.0.0` : fallback;
}

function humanPart(o: DsnOptions): string {
  const lines = [`This is the mail system at ${o.reportingMta}.`, ""];
  if (o.kind === "failure") {
    lines.push(
      "Your message could not be delivered to one or more recipients, and will not be",
      "delivered to them. The reasons are below; the headers of your message are attached.",
    );
  } else {
    const until = o.recipients.find((r) => r.willRetryUntil)?.willRetryUntil;
    lines.push(
      "Your message has not been delivered yet to one or more recipients. This is only a",
      "warning: the mail system keeps trying" +
        (until ? ` until ${rfc5322Date(until)}` : "") + ", and you need not send it again.",
    );
  }
  lines.push("", `Queue id: ${o.queueId}`, "");
  for (const r of o.recipients) lines.push(`<${r.recipient}>: ${r.text.replace(/[\r\n]+/g, " ")}`);
  return lines.join("\r\n") + "\r\n";
}

function statusPart(o: DsnOptions): string {
  // RFC 3464 §2.2: per-message fields, then a blank line before each recipient's group.
  const groups = [[
    `Reporting-MTA: dns; ${o.reportingMta}`,
    `X-Mail-Queue-ID: ${o.queueId}`,
    `Arrival-Date: ${rfc5322Date(o.arrivalDate)}`,
  ]];
  for (const r of o.recipients) {
    const g = [
      `Final-Recipient: ${dsnAddress(r.recipient)}`,
      `Action: ${r.action}`,
      `Status: ${r.status}`,
    ];
    if (r.remoteMta) g.push(`Remote-MTA: dns; ${fieldText(r.remoteMta, 255)}`);
    // RFC 3464 §2.3.6: the SMTP reply when there was one; our own description otherwise.
    g.push(
      r.reply
        ? `Diagnostic-Code: smtp; ${fieldText(r.reply)}`
        : `Diagnostic-Code: X-mail; ${fieldText(r.text)}`,
    );
    if (r.lastAttempt) g.push(`Last-Attempt-Date: ${rfc5322Date(r.lastAttempt)}`);
    if (r.willRetryUntil) g.push(`Will-Retry-Until: ${rfc5322Date(r.willRetryUntil)}`);
    groups.push(g);
  }
  return groups.map((g) => g.join("\r\n") + "\r\n").join("\r\n");
}

function randomBoundary(): string {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return `=_report_${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Trims the empty line (and any trailing line ends) from a header block. */
function trimHeaders(headers: Uint8Array): Uint8Array {
  let end = headers.length;
  while (end > 0 && (headers[end - 1] === 0x0a || headers[end - 1] === 0x0d)) end--;
  return headers.subarray(0, end);
}

/** The report as message bytes (CRLF line ends), ready to be stored or queued. */
export function composeDsn(o: DsnOptions): Uint8Array {
  const boundary = o.boundary ?? randomBoundary();
  const human = humanPart(o);
  const ascii = /^[\x00-\x7f]*$/.test(human);
  const subject = o.kind === "failure"
    ? "Undelivered Mail Returned to Sender"
    : "Delayed Mail (still being retried)";
  const head = [
    `From: Mail Delivery System <MAILER-DAEMON@${o.reportingMta}>`,
    `To: <${o.to}>`,
    `Subject: ${subject}`,
    `Date: ${rfc5322Date(o.date)}`,
    `Message-ID: <${o.messageId}>`,
    // RFC 3834 §5: an automatic response; well-behaved responders will not answer it.
    "Auto-Submitted: auto-replied",
    "MIME-Version: 1.0",
    `Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="${boundary}"`,
    "",
    "This is a MIME-encapsulated delivery status notification.",
    "",
    `--${boundary}`,
    "Content-Description: Notification",
    "Content-Type: text/plain; charset=utf-8",
    `Content-Transfer-Encoding: ${ascii ? "7bit" : "8bit"}`,
    "",
    human,
    `--${boundary}`,
    "Content-Description: Delivery report",
    "Content-Type: message/delivery-status",
    "",
    statusPart(o),
    `--${boundary}`,
    "Content-Description: Undelivered message headers",
    "Content-Type: text/rfc822-headers",
    "",
    "",
  ].join("\r\n");
  const headers = trimHeaders(o.originalHeaders);
  const tail = `\r\n\r\n--${boundary}--\r\n`;
  const a = encoder.encode(head);
  const c = encoder.encode(tail);
  const out = new Uint8Array(a.length + headers.length + c.length);
  out.set(a, 0);
  out.set(headers, a.length);
  out.set(c, a.length + headers.length);
  return out;
}
