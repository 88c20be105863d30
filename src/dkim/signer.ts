/**
 * Signing in `mail serve`: the keys of the data directory, reloaded when they change, and the
 * two places that sign — every message an authenticated user submits (a message stage) and the
 * notices MAILER-DAEMON sends (bounces and delay warnings).
 *
 * Which key signs: for each domain and algorithm, the oldest key (so a key made to replace it
 * signs nothing until the old one is removed, by which time its record is published). An RSA
 * and an Ed25519 key of one domain both sign: the message carries both signatures.
 *
 * A key that cannot be used, or a signature that fails, never loses mail: the message goes
 * unsigned, with an error logged for each message (a broken key must not go unnoticed), and
 * `mail serve --check` reports the key.
 *
 * @module
 */
import { join } from "node:path";
import { insertBytes } from "../bytes.ts";
import { getLogger } from "../log.ts";
import { type BrokenKey, type DkimKey, keyDir, loadKeys, normalizeDomain } from "./keys.ts";
import { latin1 } from "../bytes.ts";
import { fromAddresses, fromFieldValue } from "../from_addresses.ts";
import { parseHeader, splitChunks } from "./canon.ts";
import { dkimSignatures, dkimSignaturesAsync, type SigningKey, webCryptoKey } from "./sign.ts";

const log = getLogger(["mail", "dkim"]);

/** How often, at most, the key directory is looked at for changes. */
export const RELOAD_CHECK_MS = 1000;

/** The keys of a data directory, as the signer uses them. */
export class KeyRing {
  readonly #dataDir: string;
  readonly #now: () => number;
  #checkedAt = -Infinity;
  #fingerprint: string | undefined;
  #byDomain = new Map<string, DkimKey[]>();
  #broken = new Map<string, BrokenKey[]>();

  /** NOW is the clock of the reload checks (injectable for tests). */
  constructor(dataDir: string, now: () => number = Date.now) {
    this.#dataDir = dataDir;
    this.#now = now;
  }

  /**
   * The keys that sign for DOMAIN (the oldest of each algorithm), and those of its key files
   * that cannot be used.
   */
  keysFor(domain: string): { keys: DkimKey[]; broken: BrokenKey[] } {
    this.#refresh();
    const all = this.#byDomain.get(domain) ?? [];
    // Sorted oldest first (loadKeys): the first of each algorithm.
    const keys = all.filter((k, i) => all.findIndex((o) => o.algorithm === k.algorithm) === i);
    return { keys, broken: this.#broken.get(domain) ?? [] };
  }

  /** Whether any key, usable or not, exists for DOMAIN. */
  has(domain: string): boolean {
    this.#refresh();
    return this.#byDomain.has(domain) || this.#broken.has(domain);
  }

  /**
   * Reloads the keys when a key file was added, removed or changed (its size or modification
   * time), looked at no more than once per {@link RELOAD_CHECK_MS}: a few directory reads,
   * however many messages are signed.
   */
  #refresh(): void {
    const now = this.#now();
    if (now - this.#checkedAt < RELOAD_CHECK_MS) return;
    this.#checkedAt = now;
    const fingerprint = this.#stamp();
    if (fingerprint === this.#fingerprint) return;
    this.#fingerprint = fingerprint;
    try {
      const { keys, broken } = loadKeys(this.#dataDir);
      this.#byDomain = group(keys);
      this.#broken = group(broken);
      for (const b of broken) {
        log.error("DKIM key unusable", { domain: b.domain, selector: b.selector, error: b.error });
      }
    } catch (err) {
      log.error("Cannot read the DKIM keys", { error: (err as Error).message });
      // Read again at the next check.
      this.#fingerprint = undefined;
    }
  }

  /** The names, sizes and modification times of the key directory's entries, as one string. */
  #stamp(): string {
    const root = keyDir(this.#dataDir);
    const parts: string[] = [];
    try {
      for (const d of Deno.readDirSync(root)) {
        if (!d.isDirectory) continue;
        const dir = join(root, d.name);
        for (const f of Deno.readDirSync(dir)) {
          const info = Deno.statSync(join(dir, f.name));
          parts.push(`${d.name}/${f.name}:${info.size}:${info.mtime?.getTime()}`);
        }
      }
    } catch (err) {
      if (err instanceof Deno.errors.NotFound && parts.length === 0) return "none";
      // Unreadable, or changed meanwhile: loaded again (any error logged).
      return `unreadable ${this.#now()}`;
    }
    return parts.sort().join(",");
  }
}

function group<T extends { domain: string }>(items: readonly T[]): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) {
    const list = map.get(item.domain);
    if (list) list.push(item);
    else map.set(item.domain, [item]);
  }
  return map;
}

/**
 * The domains of the addresses in a From field RAW (RFC 5322 §3.6.2, a group's included, RFC
 * 6854), lower case, as A-labels, in order, without repeats; those that are not domain names are
 * left out. The addresses are those DMARC evaluates ({@link fromAddresses}), so that every
 * author domain a receiver checks is signed for.
 */
export async function fromDomains(raw: string): Promise<string[]> {
  // A Set: a field of many addresses (the submitter's to write) costs linear time.
  const domains = new Set<string>();
  for (const address of await fromAddresses(fromFieldValue(raw))) {
    const at = address.lastIndexOf("@");
    if (at < 0) continue;
    try {
      domains.add(normalizeDomain(address.slice(at + 1)));
    } catch {
      continue;
    }
  }
  return [...domains];
}

/** A message as a stage receives and returns it. */
export interface SignableMessage {
  readonly chunks: readonly Uint8Array[];
  readonly size: number;
  readonly folder?: string | undefined;
}

const RETURN_PATH = /^return-path:/i;

/**
 * CHUNKS with FIELDS put at the top of the header, below the Return-Path field if the message
 * starts with one (it is removed before relaying, and must stay first for that).
 */
export function insertFields(chunks: readonly Uint8Array[], fields: Uint8Array): Uint8Array[] {
  const first = chunks[0];
  if (first !== undefined && RETURN_PATH.test(latin1(first.subarray(0, 12)))) {
    // The field as we write it is one line; a folded one continues with white space.
    for (let i = first.indexOf(0x0a); i >= 0; i = first.indexOf(0x0a, i + 1)) {
      const next = first[i + 1];
      if (next !== 0x20 && next !== 0x09) return insertBytes(chunks, i + 1, fields);
    }
  }
  return insertBytes(chunks, 0, fields);
}

/** Signs messages with the keys of a {@link KeyRing}. */
export class DkimSigner {
  readonly #ring: KeyRing;
  readonly #now: () => number;
  /** The Web Crypto form of each RSA key, made once per key loaded. */
  readonly #webKeys = new WeakMap<SigningKey["privateKey"], Promise<CryptoKey>>();

  constructor(ring: KeyRing, now: () => number = Date.now) {
    this.#ring = ring;
    this.#now = now;
  }

  /**
   * MESSAGE signed with the keys of its From domains, or MESSAGE itself when none has a key or
   * signing fails (logged). ID names the message in the log.
   */
  async signMessage<M extends SignableMessage>(message: M, id: string): Promise<M> {
    const from = parseHeader(splitChunks(message.chunks).header).find((f) => f.key === "from");
    if (from === undefined) return message;
    const keys: SigningKey[] = [];
    for (const domain of await fromDomains(from.raw)) {
      const found = this.#ring.keysFor(domain);
      for (const b of found.broken) {
        log.error("DKIM key unusable, signing without it", {
          id,
          domain,
          selector: b.selector,
          error: b.error,
        });
      }
      keys.push(...found.keys);
    }
    if (keys.length === 0) return message;
    let fields: Uint8Array;
    try {
      const text = await dkimSignaturesAsync(
        message.chunks,
        keys,
        new Date(this.#now()),
        (k) => this.#webKey(k),
      );
      fields = new TextEncoder().encode(text);
    } catch (err) {
      this.#failed(err, keys, id);
      return message;
    }
    const chunks = insertFields(message.chunks, fields);
    return { ...message, chunks, size: message.size + fields.length } as M;
  }

  /**
   * The DKIM-Signature fields for a notice from MAILER-DAEMON@HOSTNAME: signed with the keys of
   * HOSTNAME, or else of its nearest parent domain that has keys (a relaxed DMARC alignment,
   * RFC 7489 §3.1.1, accepts either). Empty when no key applies or signing failed.
   */
  signNotice(hostname: string, message: Uint8Array, id: string): Uint8Array {
    let domain: string;
    try {
      domain = normalizeDomain(hostname);
    } catch {
      return new Uint8Array(0);
    }
    const labels = domain.split(".");
    for (let i = 0; i + 2 <= labels.length; i++) {
      const candidate = labels.slice(i).join(".");
      if (!this.#ring.has(candidate)) continue;
      const { keys, broken } = this.#ring.keysFor(candidate);
      for (const b of broken) {
        log.error("DKIM key unusable, signing without it", {
          id,
          domain: candidate,
          selector: b.selector,
          error: b.error,
        });
      }
      if (keys.length === 0) return new Uint8Array(0);
      return this.#sign(message, keys, id) ?? new Uint8Array(0);
    }
    return new Uint8Array(0);
  }

  #webKey(key: SigningKey): Promise<CryptoKey> {
    let found = this.#webKeys.get(key.privateKey);
    if (found === undefined) {
      found = webCryptoKey(key);
      this.#webKeys.set(key.privateKey, found);
    }
    return found;
  }

  /** Signs in place (notices are committed synchronously with the queue changes they report). */
  #sign(bytes: Uint8Array, keys: readonly SigningKey[], id: string): Uint8Array | undefined {
    try {
      return new TextEncoder().encode(dkimSignatures(bytes, keys, new Date(this.#now())));
    } catch (err) {
      this.#failed(err, keys, id);
      return undefined;
    }
  }

  #failed(err: unknown, keys: readonly SigningKey[], id: string): void {
    log.error("DKIM signing failed, sending unsigned", {
      id,
      domains: [...new Set(keys.map((k) => k.domain))],
      error: (err as Error).message,
    });
  }
}

/** The context a stage sees (the SMTP session's). */
export interface StageContext {
  readonly role: "mx" | "submission";
  readonly authUser: string | undefined;
}

/**
 * The message stage of `mail serve` that signs what authenticated users submit, before it is
 * stored or queued: local and remote recipients get the same signed bytes. Mail from the MX
 * listener, or from a client that has not logged in, is never signed.
 */
export class DkimStage {
  readonly #signer: DkimSigner;

  constructor(signer: DkimSigner) {
    this.#signer = signer;
  }

  process<M extends SignableMessage>(
    message: M,
    d: { readonly id: string },
    ctx: StageContext,
  ): Promise<M> {
    if (ctx.role !== "submission" || ctx.authUser === undefined) return Promise.resolve(message);
    return this.#signer.signMessage(message, d.id);
  }
}
