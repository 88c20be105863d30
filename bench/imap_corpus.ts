/**
 * A mailbox for the IMAP benchmarks, the same bytes every run: messages shaped like everyday
 * mail (several Received fields, a DKIM signature on some, encoded subjects; plain text in
 * UTF-8 or Latin-1, quoted-printable or base64; HTML alternatives; attachments), 2–20 KiB each
 * and more with attachments. {@link SEARCH_WORD} is in the text of about 1 message in 100,
 * often inside an encoded part, so finding it needs decoding.
 *
 * @module
 */
import { Buffer } from "node:buffer";

/** A word that is in some messages' decoded text (and never in the raw bytes of most). */
export const SEARCH_WORD = "quarterly";

/** One message of the corpus. */
export interface BenchMessage {
  readonly bytes: Uint8Array;
  readonly from: string;
  readonly subject: string;
  readonly date: string;
  readonly messageId: string;
  /** Milliseconds since the epoch: INTERNALDATE. */
  readonly receivedAt: number;
  readonly seen: boolean;
  readonly flagged: boolean;
  /** Whether SEARCH_WORD is in its decoded text. */
  readonly hasWord: boolean;
}

/** mulberry32: a small, fast, seeded generator (the corpus must be the same every run). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES = [
  "ka",
  "lo",
  "mi",
  "ne",
  "ta",
  "ri",
  "so",
  "ve",
  "du",
  "ga",
  "pel",
  "mon",
  "tis",
  "ber",
  "ant",
  "or",
  "en",
  "is",
  "al",
  "ur",
];
const NAMES = ["Alice", "Bob", "Chloé", "Dmitri", "Eva", "Fernando", "Grete", "Hiro", "Ines"];

function base64Lines(bytes: Uint8Array): string {
  const b64 = Buffer.from(bytes).toString("base64");
  let s = "";
  for (let i = 0; i < b64.length; i += 76) s += b64.slice(i, i + 76) + "\r\n";
  return s;
}

/** Words into lines of at most 72 characters, as mail programs send them. */
function wrap(paragraph: string): string {
  const lines: string[] = [];
  let line = "";
  for (const w of paragraph.split(" ")) {
    if (line && line.length + 1 + w.length > 72) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  lines.push(line);
  return lines.join("\n");
}

function quotedPrintable(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let out = "";
  let line = 0;
  for (const b of bytes) {
    let piece: string;
    if (b === 0x0a) {
      out += "\r\n";
      line = 0;
      continue;
    }
    if (b === 0x0d) continue;
    if ((b >= 33 && b <= 126 && b !== 61) || b === 32) piece = String.fromCharCode(b);
    else piece = "=" + b.toString(16).toUpperCase().padStart(2, "0");
    if (line + piece.length > 75) {
      out += "=\r\n";
      line = 0;
    }
    out += piece;
    line += piece.length;
  }
  return out;
}

/** The corpus: COUNT messages to TO, the same for the same SEED. */
export function corpus(count: number, to: string, seed = 20261203): BenchMessage[] {
  const rnd = random(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const vocabulary = Array.from({ length: 3000 }, () => {
    let w = "";
    const n = 1 + Math.floor(rnd() * 3);
    for (let i = 0; i < n; i++) w += pick(SYLLABLES);
    return w;
  });
  const word = () => pick(vocabulary);
  const sentence = (accent: boolean) => {
    const n = 5 + Math.floor(rnd() * 12);
    const ws = Array.from({ length: n }, word);
    if (accent && rnd() < 0.3) ws[1] = "café";
    return ws.join(" ") + ".";
  };
  const paragraphs = (bytes: number, accent: boolean, planted: boolean) => {
    const out: string[] = [];
    let size = 0;
    while (size < bytes) {
      const p = Array.from({ length: 2 + Math.floor(rnd() * 4) }, () => sentence(accent))
        .join(" ");
      out.push(p);
      size += p.length;
    }
    if (planted) {
      const i = Math.floor(rnd() * out.length);
      out[i] = `${out[i]} The ${SEARCH_WORD} figures are attached.`;
    }
    return out.map(wrap).join("\n\n");
  };
  const start = Date.UTC(2026, 0, 1);
  const messages: BenchMessage[] = [];
  for (let i = 0; i < count; i++) {
    const receivedAt = start + i * 3_000_000 + Math.floor(rnd() * 1_000_000);
    const date = new Date(receivedAt - 5000).toUTCString().replace("GMT", "+0000");
    const name = pick(NAMES);
    const from = `${name} ${word()} <${
      name.toLowerCase().replace("é", "e")
    }.${word()}@${word()}.example>`;
    const planted = rnd() < 0.01;
    const subjectText = `${word()} ${word()} ${word()}${rnd() < 0.1 ? " über" : ""}`;
    const subject = /[^\x00-\x7f]/.test(subjectText)
      ? `=?UTF-8?B?${Buffer.from(subjectText).toString("base64")}?=`
      : subjectText;
    const messageId = `<${i}.${word()}@mail.${word()}.example>`;
    const host = `mx${i % 7}.${word()}.example`;
    let head = `Return-Path: <bounce-${i}@${word()}.example>\r\n` +
      `Received: from ${host} (${host} [192.0.2.${i % 250}])\r\n\tby mx.bench.test with ESMTPS id ${
        i.toString(36)
      }\r\n\tfor <${to}>; ${date}\r\n` +
      `Received: from [10.0.${i % 200}.${(i * 7) % 250}] by ${host} with ESMTPSA;\r\n\t${date}\r\n`;
    if (rnd() < 0.4) {
      head += `DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=${word()}.example;\r\n` +
        `\ts=sel1; h=from:to:subject:date:message-id;\r\n\tbh=${
          base64Lines(Uint8Array.from({ length: 32 }, () => rnd() * 256)).trim()
        };\r\n\tb=${
          base64Lines(Uint8Array.from({ length: 256 }, () => rnd() * 256)).replace(
            /\r\n/g,
            "\r\n\t ",
          ).trim()
        }\r\n`;
    }
    head += `From: ${from}\r\nTo: ${to}\r\n`;
    if (rnd() < 0.3) head += `Cc: ${pick(NAMES)} <${word()}@${word()}.example>\r\n`;
    head += `Subject: ${subject}\r\nDate: ${date}\r\nMessage-ID: ${messageId}\r\n`;
    if (rnd() < 0.3) head += `In-Reply-To: <${i - 1}.${word()}@mail.${word()}.example>\r\n`;
    head += "MIME-Version: 1.0\r\n";
    const kind = rnd();
    const text = paragraphs(1500 + Math.floor(rnd() * 6000), kind > 0.9, planted);
    let body: string;
    if (kind < 0.45) {
      head += "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n";
      body = text.replace(/\n/g, "\r\n");
    } else if (kind < 0.6) {
      head += "Content-Type: text/plain; charset=utf-8\r\n" +
        "Content-Transfer-Encoding: quoted-printable\r\n";
      body = quotedPrintable(text);
    } else if (kind < 0.85) {
      const b = `alt-${i}-${word()}`;
      const html = `<html><body><p>${
        text.replace(/\n\n/g, "</p>\n<p>").replace(/\n/g, " ")
      }</p></body></html>`;
      head += `Content-Type: multipart/alternative; boundary="${b}"\r\n`;
      body = `--${b}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
        `Content-Transfer-Encoding: quoted-printable\r\n\r\n${quotedPrintable(text)}\r\n` +
        `--${b}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${
          base64Lines(new TextEncoder().encode(html))
        }--${b}--\r\n`;
    } else if (kind < 0.9) {
      const b = `mixed-${i}-${word()}`;
      const attachment = Uint8Array.from(
        { length: 2048 + Math.floor(rnd() * 30000) },
        () => rnd() * 256,
      );
      head += `Content-Type: multipart/mixed; boundary="${b}"\r\n`;
      body = `--${b}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
        `Content-Transfer-Encoding: 8bit\r\n\r\n${text.replace(/\n/g, "\r\n")}\r\n` +
        `--${b}\r\nContent-Type: application/pdf; name="report-${i}.pdf"\r\n` +
        `Content-Disposition: attachment; filename="report-${i}.pdf"\r\n` +
        `Content-Transfer-Encoding: base64\r\n\r\n${base64Lines(attachment)}--${b}--\r\n`;
    } else {
      head += "Content-Type: text/plain; charset=iso-8859-1\r\n" +
        "Content-Transfer-Encoding: quoted-printable\r\n";
      // Latin-1 octets, each written as =XX where needed.
      body = quotedPrintable(text).replace(/=C3=A9/g, "=E9");
    }
    // Non-ASCII characters of the header and of 8-bit bodies are UTF-8; the rest is ASCII.
    const bytes = new TextEncoder().encode(`${head}\r\n${body}`);
    messages.push({
      bytes,
      from,
      subject,
      date,
      messageId,
      receivedAt,
      seen: rnd() < 0.7,
      flagged: rnd() < 0.05,
      hasWord: planted,
    });
  }
  return messages;
}
