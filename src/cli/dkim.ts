/**
 * `mail dkim`: the keys `mail serve` signs outgoing mail with (RFC 6376), and the DNS records
 * to publish for them.
 *
 * @module
 */
import { Option } from "@commander-js/extra-typings";
import { CliError, EXIT } from "../exit_codes.ts";
import {
  defaultSelector,
  type DkimAlgorithm,
  DkimKeyError,
  generateKey,
  loadKeys,
  normalizeDomain,
  normalizeSelector,
  removeKey,
  RSA_BITS,
  zoneLine,
} from "../dkim/mod.ts";
import { newCommand, printJson, subcommandDataDir } from "./_common.ts";

/** Turns a key error into a one-line failure with its exit status. */
function keyFailure(err: unknown): never {
  if (err instanceof DkimKeyError) {
    const code = err.kind === "missing"
      ? EXIT.NOINPUT
      : err.kind === "ambiguous"
      ? EXIT.USAGE
      : err.kind === "invalid" || err.kind === "exists"
      ? EXIT.DATAERR
      : EXIT.SOFTWARE;
    throw new CliError(err.message, code);
  }
  if (err instanceof Deno.errors.PermissionDenied) {
    throw new CliError(`Cannot write the key: ${err.message}`, EXIT.NOPERM);
  }
  if (Object.values(Deno.errors).some((e) => err instanceof e)) {
    throw new CliError(`Key directory unavailable: ${(err as Error).message}`, EXIT.IOERR);
  }
  throw err;
}

function domainArg(input: string): string {
  try {
    return normalizeDomain(input);
  } catch (err) {
    return keyFailure(err);
  }
}

function selectorArg(input: string | undefined): string | undefined {
  try {
    return input === undefined ? undefined : normalizeSelector(input);
  } catch (err) {
    return keyFailure(err);
  }
}

function generateCommand() {
  return newCommand("generate", "Make a DKIM signing key and print the DNS record to publish")
    .argument("<domain>", "the domain whose mail the key signs (the From: domain)")
    .option("--selector <name>", "the key's selector (default: ALGORITHM-YYYYMMDD)")
    .addOption(
      new Option("--algorithm <name>", "rsa (2048 bits) or ed25519 (RFC 8463)")
        .choices(["rsa", "ed25519"] as const)
        .default("rsa" as const),
    )
    .action(async (input, opts, cmd) => {
      const domain = domainArg(input);
      const algorithm: DkimAlgorithm = opts.algorithm;
      const selector = selectorArg(opts.selector) ?? defaultSelector(algorithm, new Date());
      const dir = subcommandDataDir(opts, cmd.parent);
      const key = await generateKey(dir, domain, selector, algorithm).catch(keyFailure);
      const what = algorithm === "rsa" ? `RSA ${RSA_BITS}` : "Ed25519";
      console.error(
        `Made an ${what} key for ${domain}, selector ${selector} (${key.file}). ` +
          `Publish this TXT record at ${selector}._domainkey.${domain}:`,
      );
      console.log(key.record);
      console.log(zoneLine(domain, selector, key.record));
    });
}

function listCommand() {
  return newCommand("list", "List the DKIM keys and their DNS records")
    .option(
      "--json",
      "print JSON: [{domain, selector, algorithm, record, created, signing, file, error}]",
    )
    .action((opts, cmd) => {
      const dir = subcommandDataDir(opts, cmd.parent);
      let loaded;
      try {
        loaded = loadKeys(dir);
      } catch (err) {
        throw new CliError(`Cannot read the keys in ${dir}: ${(err as Error).message}`, EXIT.IOERR);
      }
      // The oldest key of each domain and algorithm signs (loadKeys sorts oldest first).
      const signing = new Set<string>();
      const rows = loaded.keys.map((k) => {
        const id = `${k.domain} ${k.algorithm}`;
        const signs = !signing.has(id);
        signing.add(id);
        return {
          domain: k.domain,
          selector: k.selector,
          algorithm: k.algorithm as string | null,
          record: k.record as string | null,
          created: k.created.toISOString() as string | null,
          signing: signs,
          file: k.file,
          error: null as string | null,
        };
      });
      for (const b of loaded.broken) {
        rows.push({
          domain: b.domain,
          selector: b.selector,
          algorithm: null,
          record: null,
          created: null,
          signing: false,
          file: b.file,
          error: b.error,
        });
      }
      if (opts.json) {
        printJson(rows);
        return;
      }
      if (rows.length === 0) {
        console.error("No DKIM keys");
        return;
      }
      for (const r of rows) {
        const state = r.error !== null
          ? `unusable: ${r.error}`
          : `${r.algorithm}, created ${r.created}${r.signing ? ", signing" : ", waiting"}`;
        console.log(`${r.selector}._domainkey.${r.domain}  (${state})`);
        if (r.record !== null) console.log(`  ${r.record}`);
      }
    });
}

function removeCommand() {
  return newCommand("remove", "Remove a DKIM key (its DNS record may then be removed)")
    .argument("<domain>", "the key's domain")
    .option("--selector <name>", "the key's selector (needed when the domain has several)")
    .action(async (input, opts, cmd) => {
      const domain = domainArg(input);
      const selector = selectorArg(opts.selector);
      const dir = subcommandDataDir(opts, cmd.parent);
      const removed = await removeKey(dir, domain, selector).catch(keyFailure);
      console.error(
        `Removed the DKIM key ${removed} of ${domain}; keep its DNS record for a few days, ` +
          `until mail signed with it has been delivered`,
      );
    });
}

/** The `mail dkim` command and its subcommands. */
export function dkimCommand() {
  return newCommand("dkim", "Manage the keys that sign outgoing mail (DKIM)")
    .addCommand(generateCommand())
    .addCommand(listCommand())
    .addCommand(removeCommand());
}
