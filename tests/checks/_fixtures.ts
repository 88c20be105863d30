/**
 * What the checks' tests share: DKIM keys and their DNS records, messages signed by mailauth
 * and by Python's dkimpy (an independent signer), a session context and a delivery as the SMTP
 * session makes them, and an AuthChecks over the tests' DNS responder.
 */
import { Buffer } from "node:buffer";
import crypto from "node:crypto";
import { authenticate, dkimSign } from "mailauth";
import type { Delivery, SessionContext } from "../../src/smtp/session.ts";
import type { StagedMessage } from "../../src/server/local_backend.ts";
import type { ClientClock } from "../../src/client/clock.ts";
import { python } from "../_helpers/python.ts";

export const HOSTNAME = "mx.local.test";

/** An RSA key pair (2048 bits) as PEM, and its DKIM record (RFC 6376 §3.6.1). */
export function rsaKey(): { privateKey: string; record: string } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const der = publicKey.export({ type: "spki", format: "der" });
  return {
    privateKey: privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    record: `v=DKIM1; k=rsa; p=${Buffer.from(der).toString("base64")}`,
  };
}

/** An Ed25519 key pair (RFC 8463): PEM private key, and its record (the raw 32-octet key). */
export function ed25519Key(): { privateKey: string; record: string; seed: string } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync("ed25519");
  const der = publicKey.export({ type: "spki", format: "der" });
  const raw = Buffer.from(der).subarray(der.length - 32);
  const pkcs8 = privateKey.export({ type: "pkcs8", format: "der" });
  return {
    privateKey: privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    record: `v=DKIM1; k=ed25519; p=${raw.toString("base64")}`,
    seed: Buffer.from(pkcs8).subarray(pkcs8.length - 32).toString("base64"),
  };
}

/** A plain message from FROM. */
export function message(from: string, extra = "", body = "Hello there.\r\n"): string {
  return `From: Ann <${from}>\r\nTo: bob@local.test\r\nSubject: checks\r\n` +
    `Date: Thu, 03 Dec 2026 12:00:00 +0000\r\nMessage-ID: <m1@example>\r\n${extra}\r\n${body}`;
}

/** TEXT signed by mailauth for DOMAIN with SELECTOR. */
export async function signWithMailauth(
  text: string,
  domain: string,
  selector: string,
  privateKey: string,
): Promise<string> {
  // mailauth takes the signatures as signatureData (its type definitions say otherwise).
  const options = {
    canonicalization: "relaxed/relaxed",
    signatureData: [{ signingDomain: domain, selector, privateKey }],
  };
  const r = await dkimSign(text, options as unknown as Parameters<typeof dkimSign>[1]);
  if (r.errors.length > 0) throw new Error(`Signing failed: ${JSON.stringify(r.errors)}`);
  return r.signatures + text;
}

/**
 * TEXT with the ARC set (RFC 8617) a forwarder adds: mailauth checks it as received from
 * 192.0.2.x with RESOLVE's records and seals it as forwarder.example, selector "arc", with
 * PRIVATE_KEY. The ARC fields come first, then TEXT as it was.
 */
export async function sealedByForwarder(
  text: string,
  sender: string,
  resolve: (name: string, type: string) => Promise<unknown>,
  privateKey: string,
): Promise<string> {
  const sealed = await authenticate(text, {
    ip: "192.0.2.10",
    helo: "client.example",
    sender,
    mta: "forwarder.example",
    resolver: resolve as never,
    seal: { signingDomain: "forwarder.example", selector: "arc", privateKey },
    disableBimi: true,
  });
  const arcSet = sealed.headers.split(/\r\n(?=\S)/).filter((h) => h.startsWith("ARC-"));
  return `${arcSet.join("\r\n")}\r\n${text}`;
}

/** TEXT signed by dkimpy (RSA from PEM, or Ed25519 from its base64 seed). */
export async function signWithDkimpy(
  text: string,
  domain: string,
  selector: string,
  key: string,
  algorithm: "rsa-sha256" | "ed25519-sha256" = "rsa-sha256",
): Promise<string> {
  const script = `
import sys, dkim, base64
msg = sys.argv[1].encode()
key = sys.argv[4].encode()
sig = dkim.sign(msg, sys.argv[3].encode(), sys.argv[2].encode(), key,
                canonicalize=(b'relaxed', b'relaxed'), signature_algorithm=sys.argv[5].encode(),
                include_headers=[b'from', b'to', b'subject', b'date', b'message-id'])
sys.stdout.write(sig.decode() + sys.argv[1])
`;
  const r = await dkimPython(script, [text, domain, selector, key, algorithm]);
  if (r.code !== 0) throw new Error(`dkimpy failed: ${r.err}`);
  return r.out;
}

let interpreter: Promise<string> | undefined;

/**
 * Runs SCRIPT with a Python 3 that has dkimpy: `python3` on PATH may be one of its own (pyenv)
 * without the distribution's python3-dkim, which /usr/bin/python3 then has.
 */
export async function dkimPython(
  script: string,
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  interpreter ??= (async () => {
    for (const exe of ["python3", "/usr/bin/python3"]) {
      const probe = await new Deno.Command(exe, {
        args: ["-c", "import dkim"],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).output().catch(() => undefined);
      if (probe?.code === 0) return exe;
    }
    throw new Error("No Python 3 with dkimpy (python3-dkim)");
  })();
  return await python(script, args, await interpreter);
}

/** The context of a session from ADDRESS that said HELO. */
export function context(
  helo: string,
  address = "192.0.2.10",
  more: Partial<SessionContext> = {},
): SessionContext {
  return {
    client: { address, port: 40000 },
    helo,
    role: "mx",
    tls: false,
    authUser: undefined,
    ...more,
  };
}

const enc = new TextEncoder();

/** A delivery as the session makes it: our Return-Path and Received first, then TEXT. */
export function delivery(sender: string, text: string, chunkSize = 0): Delivery {
  const head = enc.encode(
    `Return-Path: <${sender}>\r\nReceived: from client.example ([192.0.2.10])\r\n\tby ${HOSTNAME}` +
      ` with ESMTP id Q1;\r\n\tThu, 03 Dec 2026 12:00:01 +0000\r\n`,
  );
  const data = enc.encode(text);
  const chunks = [head];
  if (chunkSize > 0) {
    for (let i = 0; i < data.length; i += chunkSize) chunks.push(data.subarray(i, i + chunkSize));
  } else {
    chunks.push(data);
  }
  return {
    id: "Q1",
    sender,
    recipients: ["bob@local.test"],
    params: {} as Delivery["params"],
    chunks,
    size: head.length + data.length,
    receivedAt: new Date("2026-12-03T12:00:01Z"),
  };
}

/** A staged message as text. */
export function text(m: StagedMessage): string {
  return new TextDecoder().decode(Buffer.concat(m.chunks as Uint8Array[]));
}

/** The Authentication-Results field of ours in M, unfolded. */
export function ourResults(m: StagedMessage): string {
  const match = /^Authentication-Results: mx\.local\.test;((?:\r\n\t[^\r]*)*|[^\r]*)\r\n/m.exec(
    text(m),
  );
  if (!match) throw new Error(`No Authentication-Results of ours in:\n${text(m)}`);
  return match[1]!.replace(/\r\n\t/g, " ").trim();
}

/** A clock that moves only when told to. */
export class TestClock implements ClientClock {
  #now = 0;
  #timers: { at: number; fn: () => void }[] = [];
  now(): number {
    return this.#now;
  }
  after(ms: number, fn: () => void): () => void {
    const timer = { at: this.#now + ms, fn };
    this.#timers.push(timer);
    return () => (this.#timers = this.#timers.filter((t) => t !== timer));
  }
  advance(ms: number): void {
    this.#now += ms;
    const due = this.#timers.filter((t) => t.at <= this.#now);
    this.#timers = this.#timers.filter((t) => t.at > this.#now);
    for (const t of due) t.fn();
  }
  get pending(): number {
    return this.#timers.length;
  }
}
