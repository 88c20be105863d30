/**
 * DKIM signing keys on disk: `DIR/dkim/DOMAIN/SELECTOR.pem` (PKCS #8, mode 0600, directories
 * 0700), one key per selector, written atomically (a temporary file renamed into place). The
 * algorithm is the key's own type; the creation time is the file's modification time (a key
 * file is never rewritten). Keys are RSA 2048 (RFC 8301 §3.2) or Ed25519 (RFC 8463).
 *
 * @module
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto";
import { join } from "node:path";
import { domainToASCII } from "node:url";

/** The algorithms a key may have. */
export type DkimAlgorithm = "rsa" | "ed25519";

/** Bits of a generated RSA key. */
export const RSA_BITS = 2048;

/** A bad domain, selector or key; the message says what is wrong. */
export class DkimKeyError extends Error {
  readonly kind: "invalid" | "ambiguous" | "exists" | "missing" | "unusable";
  constructor(kind: DkimKeyError["kind"], message: string) {
    super(message);
    this.name = "DkimKeyError";
    this.kind = kind;
  }
}

/** One key as listed: where it is and what to publish for it. */
export interface DkimKeyInfo {
  readonly domain: string;
  readonly selector: string;
  readonly algorithm: DkimAlgorithm;
  /** The TXT record to publish at `SELECTOR._domainkey.DOMAIN`. */
  readonly record: string;
  readonly created: Date;
  readonly file: string;
}

/** A loaded key: its info and the private key to sign with. */
export interface DkimKey extends DkimKeyInfo {
  readonly privateKey: KeyObject;
}

/** A key file that could not be used, and why (reported by `serve --check` and the logs). */
export interface BrokenKey {
  readonly domain: string;
  readonly selector: string;
  readonly file: string;
  readonly error: string;
}

/** The directory holding every key of DATA_DIR. */
export function keyDir(dataDir: string): string {
  return join(dataDir, "dkim");
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const SELECTOR_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * A domain as keys are filed under it: lower case, international names as A-labels
 * (RFC 5890), at least two labels. Throws DkimKeyError otherwise.
 */
export function normalizeDomain(input: string): string {
  const trimmed = input.trim().replace(/\.$/, "").toLowerCase();
  const ascii = /^[\x21-\x7e]*$/.test(trimmed) ? trimmed : domainToASCII(trimmed);
  const labels = ascii.split(".");
  if (
    ascii === "" || ascii.length > 253 || labels.length < 2 || !labels.every((l) => LABEL.test(l))
  ) {
    throw new DkimKeyError("invalid", `Invalid domain ${JSON.stringify(input)}: not a domain name`);
  }
  return ascii;
}

/** A selector (RFC 6376 §3.1: sub-domain syntax), lower-cased. Throws DkimKeyError otherwise. */
export function normalizeSelector(input: string): string {
  const s = input.trim().toLowerCase();
  if (s === "" || s.length > 63 * 3 || !s.split(".").every((l) => SELECTOR_LABEL.test(l))) {
    throw new DkimKeyError(
      "invalid",
      `Invalid selector ${JSON.stringify(input)}: letters, digits, hyphens and dots only`,
    );
  }
  return s;
}

/**
 * The selector `mail dkim generate` picks when none is given: the algorithm and the date, as
 * `rsa-20261203` or `ed25519-20261203`, so that a new key made to rotate an old one never
 * takes its name, and an RSA and an Ed25519 key can sit side by side.
 */
export function defaultSelector(algorithm: DkimAlgorithm, now: Date): string {
  const d = now.toISOString().slice(0, 10).replaceAll("-", "");
  return `${algorithm}-${d}`;
}

/** The `p=` value of KEY's record: SPKI DER for RSA, the raw 32 bytes for Ed25519 (RFC 8463 §4.2). */
export function publicKeyData(key: KeyObject): string {
  const pub = key.type === "public" ? key : createPublicKey(key);
  const der = pub.export({ type: "spki", format: "der" });
  const raw = pub.asymmetricKeyType === "ed25519" ? der.subarray(der.length - 32) : der;
  return raw.toString("base64");
}

/** The TXT record to publish for KEY (RFC 6376 §3.6.1). */
export function recordText(key: KeyObject): string {
  const k = key.asymmetricKeyType === "ed25519" ? "ed25519" : "rsa";
  return `v=DKIM1; k=${k}; p=${publicKeyData(key)}`;
}

/**
 * RECORD as a zone-file line: one TXT record whose text is split into strings of at most 255
 * octets (RFC 1035 §3.3.14; a verifier joins them, RFC 6376 §3.6.2.2).
 */
export function zoneLine(domain: string, selector: string, record: string): string {
  const parts: string[] = [];
  for (let i = 0; i < record.length; i += 255) parts.push(`"${record.slice(i, i + 255)}"`);
  return `${selector}._domainkey.${domain}. IN TXT ( ${parts.join(" ")} )`;
}

function algorithmOf(key: KeyObject): DkimAlgorithm | undefined {
  const t = key.asymmetricKeyType;
  return t === "rsa" || t === "ed25519" ? t : undefined;
}

const chmod = (path: string, mode: number) =>
  Deno.build.os === "windows" ? Promise.resolve() : Deno.chmod(path, mode);

async function statOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/**
 * Makes a key pair for DOMAIN under DATA_DIR and returns it. Refuses (kind "exists") when the
 * selector already has a key: replacing a published key would break every signature made
 * with it that is still in transit.
 */
export async function generateKey(
  dataDir: string,
  domain: string,
  selector: string,
  algorithm: DkimAlgorithm,
): Promise<DkimKeyInfo> {
  const dir = join(keyDir(dataDir), domain);
  const file = join(dir, `${selector}.pem`);
  if (await statOrUndefined(file)) {
    throw new DkimKeyError("exists", `${domain} already has a key with selector ${selector}`);
  }
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode is filtered by the umask; these directories hold private keys. (Windows has no
  // modes: there the directory's ACL, inherited from the data directory, protects them.)
  await chmod(keyDir(dataDir), 0o700);
  await chmod(dir, 0o700);
  const { privateKey } = algorithm === "rsa"
    ? generateKeyPairSync("rsa", { modulusLength: RSA_BITS })
    : generateKeyPairSync("ed25519");
  const pem = privateKey.export({ type: "pkcs8", format: "pem" }) as string;
  const tmp = join(dir, `.${selector}.${crypto.randomUUID().slice(0, 8)}.tmp`);
  try {
    const f = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
    try {
      await f.write(new TextEncoder().encode(pem));
      await f.sync();
    } finally {
      f.close();
    }
    await chmod(tmp, 0o600);
    // link, not rename: it fails if another process made the same selector meanwhile.
    try {
      await Deno.link(tmp, file);
    } catch (err) {
      if (err instanceof Deno.errors.AlreadyExists) {
        throw new DkimKeyError("exists", `${domain} already has a key with selector ${selector}`);
      }
      throw err;
    }
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
  const info = await Deno.stat(file);
  return {
    domain,
    selector,
    algorithm,
    record: recordText(privateKey),
    created: info.mtime ?? new Date(),
    file,
  };
}

/** Every key file under DATA_DIR, loaded, and those that could not be. Sorted by domain, then age. */
export function loadKeys(dataDir: string): { keys: DkimKey[]; broken: BrokenKey[] } {
  const keys: DkimKey[] = [];
  const broken: BrokenKey[] = [];
  const root = keyDir(dataDir);
  let domains: Deno.DirEntry[];
  try {
    domains = [...Deno.readDirSync(root)];
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { keys, broken };
    throw err;
  }
  for (const d of domains) {
    if (!d.isDirectory || d.name.startsWith(".")) continue;
    const dir = join(root, d.name);
    for (const f of Deno.readDirSync(dir)) {
      if (!f.isFile || f.name.startsWith(".") || !f.name.endsWith(".pem")) continue;
      const selector = f.name.slice(0, -4);
      const file = join(dir, f.name);
      try {
        const privateKey = createPrivateKey(Deno.readTextFileSync(file));
        const algorithm = algorithmOf(privateKey);
        if (algorithm === undefined) {
          throw new Error(`unsupported key type ${privateKey.asymmetricKeyType}`);
        }
        const created = Deno.statSync(file).mtime ?? new Date(0);
        keys.push({
          domain: d.name,
          selector,
          algorithm,
          record: recordText(privateKey),
          created,
          file,
          privateKey,
        });
      } catch (err) {
        // The key's text is never in the message: node's parse errors do not quote it.
        const error = (err instanceof Error ? err.message : String(err)).split("\n")[0]!;
        broken.push({ domain: d.name, selector, file, error });
      }
    }
  }
  keys.sort((a, b) =>
    a.domain.localeCompare(b.domain) || a.created.getTime() - b.created.getTime() ||
    a.selector.localeCompare(b.selector)
  );
  broken.sort((a, b) => a.domain.localeCompare(b.domain) || a.selector.localeCompare(b.selector));
  return { keys, broken };
}

/**
 * Removes DOMAIN's key with SELECTOR, or its only key when SELECTOR is undefined. Returns the
 * selector removed. Throws DkimKeyError: "missing" when there is no such key, "ambiguous"
 * when when the domain has several keys and no selector was given.
 */
export async function removeKey(
  dataDir: string,
  domain: string,
  selector: string | undefined,
): Promise<string> {
  const dir = join(keyDir(dataDir), domain);
  let chosen = selector;
  if (chosen === undefined) {
    const selectors: string[] = [];
    try {
      for await (const f of Deno.readDir(dir)) {
        if (f.isFile && !f.name.startsWith(".") && f.name.endsWith(".pem")) {
          selectors.push(f.name.slice(0, -4));
        }
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    if (selectors.length === 0) throw new DkimKeyError("missing", `No DKIM key for ${domain}`);
    if (selectors.length > 1) {
      throw new DkimKeyError(
        "ambiguous",
        `${domain} has ${selectors.length} keys (${selectors.sort().join(", ")}): ` +
          `give --selector`,
      );
    }
    chosen = selectors[0]!;
  }
  try {
    await Deno.remove(join(dir, `${chosen}.pem`));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new DkimKeyError("missing", `No DKIM key for ${domain} with selector ${chosen}`);
    }
    throw err;
  }
  // An empty domain directory is left behind by nobody.
  await Deno.remove(dir).catch(() => {});
  return chosen;
}
