/**
 * `mail serve --check`: validates everything `mail serve` would need, then exits without
 * serving. The configuration is loaded exactly as `serve` loads it (so an unknown key or a bad
 * value fails the same way), then: the certificate (never generated here: if none exists yet,
 * it says one would be), the data directory and database, and every listener address (bound,
 * then released at once).
 *
 * One line per item on stdout; a problem is one line on stderr and a sysexits status: 78 for
 * the configuration (bad file, unusable certificate, address not on this machine), 74 for the
 * data directory, 69 when a port is taken (another server is running), 77 when binding needs a
 * privilege (ports below 1024 without CAP_NET_BIND_SERVICE).
 *
 * @module
 */
import { createServer, type Server } from "node:net";
import { DatabaseSync } from "node:sqlite";
import { dirname, join } from "node:path";
import { formatHostPort as show, type HostPort, type ServeConfig } from "../config.ts";
import { CliError, EXIT } from "../exit_codes.ts";
import { loadOrCreateCertificate, TlsConfigError } from "../server/tls_cert.ts";
import { checkRecord, loadKeys } from "../dkim/mod.ts";
import { createResolver } from "../dns/mod.ts";
import {
  databasePath,
  SCHEMA_VERSION,
  schemaVersion,
  StoreError,
  toStoreError,
} from "../store/mod.ts";

/** Where the check's lines go (stdout, or a list in tests). */
export interface CheckOutput {
  line(label: string, text: string): void;
  warning(text: string): void;
}

const consoleOutput: CheckOutput = {
  line: (label, text) => console.log(`${label.padEnd(11)} ${text}`),
  warning: (text) => console.error(`mail: warning: ${text}`),
};

async function exists(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** Creates and removes a file in DIR: the one sure test that the directory is writable. */
async function probeWritable(dir: string): Promise<void> {
  const probe = join(dir, `.mail-check-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`);
  try {
    (await Deno.open(probe, { write: true, createNew: true, mode: 0o600 })).close();
    await Deno.remove(probe);
  } catch (e) {
    const why = e instanceof Deno.errors.PermissionDenied ? "permission denied" : errorText(e);
    throw new CliError(`Data directory ${dir} is not writable: ${why}`, EXIT.IOERR);
  }
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e)).split("\n")[0];

/** The data directory: writable (or creatable), and its database readable at a known version. */
async function checkData(config: ServeConfig, out: CheckOutput): Promise<void> {
  const dir = config.dataDir;
  let info: Deno.FileInfo | undefined;
  try {
    info = await exists(dir);
  } catch (e) {
    throw new CliError(`Data directory ${dir}: ${errorText(e)}`, EXIT.IOERR);
  }
  if (info === undefined) {
    // The nearest existing ancestor must let `serve` create it.
    let parent = dirname(dir);
    while (
      parent !== dirname(parent) && (await exists(parent).catch(() => undefined)) === undefined
    ) {
      parent = dirname(parent);
    }
    await probeWritable(parent);
    out.line("data", `${dir} (does not exist yet; created on start)`);
    return;
  }
  if (!info.isDirectory) {
    throw new CliError(`Data directory ${dir} is not a directory`, EXIT.IOERR);
  }
  await probeWritable(dir);
  const path = databasePath(dir);
  if (await exists(path) === undefined) {
    out.line("data", `${dir} (writable; no database yet, created on start)`);
    return;
  }
  let version: number;
  try {
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      version = schemaVersion(db);
    } finally {
      db.close();
    }
  } catch (e) {
    const err = toStoreError(e, path, "corrupt");
    if (err instanceof StoreError) {
      throw new CliError(err.message, err.kind === "io" ? EXIT.IOERR : EXIT.CONFIG);
    }
    throw err;
  }
  if (version > SCHEMA_VERSION) {
    throw new CliError(
      `${path}: database schema ${version} is newer than this program supports ` +
        `(${SCHEMA_VERSION}): run the newer mail`,
      EXIT.CONFIG,
    );
  }
  const pending = SCHEMA_VERSION - version;
  out.line(
    "data",
    `${dir} (writable; database schema ${version}${
      pending === 0 ? ", current" : `, ${pending} migration(s) to apply on start, after a backup`
    })`,
  );
}

/** The certificate: a configured one must load; a generated one is only described. */
async function checkTls(config: ServeConfig, out: CheckOutput): Promise<void> {
  if (config.noTls) {
    out.line("tls", "off (no-tls)");
    return;
  }
  const configured = config.tlsCert !== undefined;
  const certFile = config.tlsCert ?? join(config.dataDir, "tls", "cert.pem");
  const keyFile = config.tlsKey ?? join(config.dataDir, "tls", "key.pem");
  if (!configured && (await exists(certFile).catch(() => undefined)) === undefined) {
    out.line(
      "tls",
      `no certificate yet: a self-signed one for ${config.hostname} is generated in ` +
        `${dirname(certFile)} on start`,
    );
    return;
  }
  try {
    // Given both files, this only reads and validates: it never generates or writes.
    const info = await loadOrCreateCertificate({
      dataDir: config.dataDir,
      hostname: config.hostname,
      certFile,
      keyFile,
    });
    const what = configured ? "certificate" : "self-signed certificate";
    out.line(
      "tls",
      `${what} ${certFile}: ${
        info.subject || info.altNames
      }, expires ${info.notAfter.toISOString()}`,
    );
    for (const w of info.warnings) {
      out.warning(configured ? w : `${w} (it is replaced with a new self-signed one on start)`);
    }
  } catch (e) {
    if (!(e instanceof TlsConfigError)) throw e;
    if (configured) throw new CliError(e.message, EXIT.CONFIG);
    out.warning(`${e.message} (a new self-signed certificate is generated on start)`);
  }
}

function bindOnce(addr: HostPort): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(addr.port, addr.host, () => {
      server.removeAllListeners("error");
      resolve(server);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Binds every listener (all at once, as serve holds them) and releases them. */
async function checkListeners(config: ServeConfig, out: CheckOutput): Promise<void> {
  const wanted: [string, HostPort][] = [];
  if (config.smtp) wanted.push(["smtp", config.smtp]);
  if (config.submission) wanted.push(["submission", config.submission]);
  if (config.smtps) wanted.push(["smtps", config.smtps]);
  if (config.imap) wanted.push(["imap", config.imap]);
  if (config.imaps) wanted.push(["imaps", config.imaps]);
  if (config.pop3) wanted.push(["pop3", config.pop3]);
  if (config.pop3s) wanted.push(["pop3s", config.pop3s]);
  const seen = new Map<string, string>();
  for (const [role, addr] of wanted) {
    const key = show(addr);
    const other = seen.get(key);
    if (other !== undefined && addr.port !== 0) {
      throw new CliError(`${other} and ${role} are both set to ${key}`, EXIT.CONFIG);
    }
    seen.set(key, role);
  }
  const bound: Server[] = [];
  try {
    for (const [role, addr] of wanted) {
      try {
        bound.push(await bindOnce(addr));
      } catch (e) {
        const code = (e as { code?: string }).code;
        const where = `${role} listener ${show(addr)}`;
        if (code === "EADDRINUSE") {
          throw new CliError(
            `${where}: address already in use (is another mail server running?)`,
            EXIT.UNAVAILABLE,
          );
        }
        if (code === "EACCES" || code === "EPERM") {
          throw new CliError(
            `${where}: permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)`,
            EXIT.NOPERM,
          );
        }
        if (["EADDRNOTAVAIL", "EINVAL", "ENOTFOUND", "EAI_AGAIN"].includes(code ?? "")) {
          throw new CliError(`${where}: not an address of this machine (${code})`, EXIT.CONFIG);
        }
        throw new CliError(`${where}: cannot listen: ${code ?? errorText(e)}`, EXIT.UNAVAILABLE);
      }
      out.line(role, `${show(addr)} (free)`);
    }
  } finally {
    await Promise.all(bound.map(closeServer));
  }
}

/**
 * The DKIM keys: each one's record looked up with TXT (through `--dns`) and compared with the
 * key; a missing or stale record, or a key file that cannot be used, is a warning (the server
 * starts, and sends that key's mail unsigned or failing verification), with what to publish.
 */
export async function checkDkim(
  config: ServeConfig,
  out: CheckOutput,
  txt: (name: string) => Promise<string[][]>,
): Promise<void> {
  let loaded;
  try {
    loaded = loadKeys(config.dataDir);
  } catch (e) {
    out.warning(`Cannot read the DKIM keys in ${join(config.dataDir, "dkim")}: ${errorText(e)}`);
    return;
  }
  for (const b of loaded.broken) {
    out.warning(
      `DKIM key ${b.selector} of ${b.domain} (${b.file}) is unusable: ${b.error}; ` +
        `its mail goes unsigned: remove it with 'mail dkim remove ${b.domain} --selector ` +
        `${b.selector}' and generate another`,
    );
  }
  if (loaded.keys.length === 0) {
    if (loaded.broken.length === 0) out.line("dkim", "no keys: outgoing mail is not signed");
    return;
  }
  const statuses = await Promise.all(
    loaded.keys.map((k) => checkRecord(txt, `${k.selector}._domainkey.${k.domain}`, k.record)),
  );
  loaded.keys.forEach((k, i) => {
    const name = `${k.selector}._domainkey.${k.domain}`;
    const status = statuses[i]!;
    const what = `${k.domain} selector ${k.selector} (${k.algorithm})`;
    switch (status.kind) {
      case "matches":
        out.line("dkim", `${what}: the record at ${name} matches`);
        break;
      case "missing":
        out.line("dkim", `${what}: no record at ${name}`);
        out.warning(`No DKIM record at ${name}: publish this TXT record there: ${k.record}`);
        break;
      case "stale":
        out.line("dkim", `${what}: the record at ${name} is stale (another key)`);
        out.warning(
          `The DKIM record at ${name} is for another key: replace it with: ${k.record}`,
        );
        break;
      case "error":
        out.line("dkim", `${what}: cannot look up ${name}: ${status.error}`);
        out.warning(`Cannot look up ${name} (${status.error}); its record should be: ${k.record}`);
        break;
    }
  });
}

/**
 * Checks CONFIG (already loaded, hence valid as a configuration) for everything else serve
 * needs; throws CliError on the first problem. CONFIG_FILE is `--config`, if given.
 */
export async function checkServe(
  config: ServeConfig,
  configFile: string | undefined,
  out: CheckOutput = consoleOutput,
): Promise<void> {
  const file = configFile ?? join(config.dataDir, "mail.toml");
  const found = await exists(file).catch(() => undefined);
  out.line("config", found ? file : `${file} (none: defaults, environment and flags)`);
  out.line("hostname", config.hostname);
  out.line("domains", config.domains.join(", "));
  await checkData(config, out);
  await checkTls(config, out);
  const resolver = createResolver(config.dns ? { server: config.dns } : {});
  await checkDkim(config, out, (name) => resolver.txt(name));
  await checkListeners(config, out);
  out.line("ok", "the configuration is valid; `mail serve` would start");
}
