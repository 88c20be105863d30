/**
 * What `mail send` and `mail sendmail` share: the transport flags (server, TLS, credentials),
 * turning them into a delivery plan, verbose tracing, and reporting results with sysexits.
 *
 * @module
 */
import { Option } from "@commander-js/extra-typings";
import net from "node:net";
import { join } from "node:path";
import { type HostPort, parseHostPort as parseHostPortSetting } from "../config.ts";
import { CliError, EXIT, type ExitCode } from "../exit_codes.ts";
import { prompts } from "./prompts.ts";
import type { Credentials, DeliverOptions, RecipientResult, TlsMode } from "../client/deliver.ts";
import { isLoopback } from "../client/deliver.ts";
import { dnsResolver } from "../client/mx.ts";
import type { Plan } from "../client/submit.ts";
import type { TraceLine } from "../client/smtp_client.ts";
import { dataDir, printJson } from "./_common.ts";

/** The default relay: `mail serve`'s submission listener (README, `mail serve`). */
export const DEFAULT_SERVER = "127.0.0.1:2587";
export const TLS_MODES = ["auto", "starttls", "implicit", "none"] as const;

/**
 * The flags `send` and `sendmail` share to reach a server, defined once. Each is made fresh for
 * the command that adds it (`.addOption`), and typed from its flags, as `.option` would be.
 */
export const serverOptions = {
  server: () =>
    new Option("--server <host[:port]>", `submission server (default: ${DEFAULT_SERVER})`),
  tls: () => new Option("--tls <mode>", "auto: STARTTLS when offered (default)").choices(TLS_MODES),
  ca: () => new Option("--ca <file>", "also trust the CA certificates in FILE (PEM)"),
  insecure: () => new Option("--insecure", "accept any TLS certificate (self-signed too)"),
  user: () => new Option("--user <name>", "log in (AUTH PLAIN or LOGIN) as NAME"),
  passwordFile: () =>
    new Option("--password-file <file>", "the password: first line of FILE (or $MAIL_PASSWORD)"),
};

export interface TransportFlags {
  /** The local server's state directory: its generated certificate is trusted for loopback. */
  readonly data?: string | undefined;
  readonly server?: string | undefined;
  readonly tls?: TlsMode | undefined;
  readonly ca?: string | undefined;
  readonly insecure?: boolean | undefined;
  readonly user?: string | undefined;
  readonly passwordFile?: string | undefined;
  readonly verbose?: boolean | undefined;
  readonly direct?: boolean | undefined;
  readonly dns?: string | undefined;
  readonly mxPort?: string | undefined;
  readonly route?: readonly string[] | undefined;
}

const usage = (message: string) => new CliError(message, EXIT.USAGE);

/** Parses `HOST[:PORT]` (`[v6]:PORT` for IPv6); DEFAULT_PORT when no port is given. */
export function parseHostPort(
  text: string,
  defaultPort: number | undefined,
  flag: string,
): { host: string; port: number } {
  let parsed: HostPort | undefined;
  try {
    parsed = parseHostPortSetting(text, defaultPort);
  } catch {
    parsed = undefined;
  }
  // Port 0 means "any free port" to a listener, and nothing to a client.
  if (!parsed || parsed.port < 1) {
    throw usage(`Invalid ${flag} ${JSON.stringify(text)}: expected HOST:PORT`);
  }
  return parsed;
}

/** Our EHLO name: the machine's host name when it is a plausible domain, else localhost. */
export function heloName(): string {
  try {
    const name = Deno.hostname();
    if (/^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(name)) return name;
  } catch { /* no permission or no name */ }
  return "localhost";
}

async function readTextFile(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new CliError(`${what} ${path} not found`, EXIT.NOINPUT);
    }
    throw new CliError(`Cannot read ${what} ${path}: ${(err as Error).message}`, EXIT.NOINPUT);
  }
}

/** The password: `--password-file`, else `$MAIL_PASSWORD`, else a prompt on a terminal. */
async function password(flags: TransportFlags): Promise<string> {
  let pw: string | undefined;
  if (flags.passwordFile !== undefined) {
    const text = await readTextFile(flags.passwordFile, "Password file");
    pw = text.split(/\r?\n/)[0] ?? "";
  } else if (Deno.env.get("MAIL_PASSWORD") !== undefined) {
    pw = Deno.env.get("MAIL_PASSWORD");
  } else if (Deno.stdin.isTerminal()) {
    try {
      const { password: passwordPrompt } = await prompts();
      pw = await passwordPrompt({ message: `Password for ${flags.user}:` });
    } catch (err) {
      if (err instanceof Error && err.name === "ExitPromptError") {
        throw new CliError("Cancelled: no password given", EXIT.USAGE);
      }
      throw err;
    }
  } else {
    throw usage("--user needs a password: --password-file FILE or MAIL_PASSWORD");
  }
  if (!pw) throw new CliError("Empty password", EXIT.DATAERR);
  return pw;
}

/** Prints one trace line on stderr, as swaks does: `> ` client, `< ` server, `* ` notes. */
export function stderrTrace(line: TraceLine): void {
  console.error(`${line.direction} ${line.text}`);
}

/** Turns the flags into a plan and delivery options; reads files and the password. */
export async function transport(flags: TransportFlags): Promise<[Plan, DeliverOptions]> {
  const tls = flags.tls ?? "auto";
  const ca = flags.ca !== undefined ? [await readTextFile(flags.ca, "CA file")] : undefined;
  if (flags.insecure) {
    console.error("mail: warning: --insecure: TLS certificates are not verified");
  }
  let credentials: Credentials | undefined;
  if (flags.user !== undefined) {
    if (flags.direct) throw usage("--user cannot be used with --direct (MX hosts take no AUTH)");
    credentials = { user: flags.user, password: await password(flags) };
  } else if (flags.passwordFile !== undefined) {
    throw usage("--password-file needs --user");
  }
  const options: DeliverOptions = {
    helo: heloName(),
    tls,
    ca,
    insecure: flags.insecure,
    credentials,
    trace: flags.verbose ? stderrTrace : undefined,
  };
  if (!flags.direct) {
    for (const [flag, given] of [["--dns", flags.dns], ["--mx-port", flags.mxPort]] as const) {
      if (given !== undefined) throw usage(`${flag} needs --direct`);
    }
    if (flags.route?.length) throw usage("--route needs --direct");
    const defaultPort = tls === "implicit" ? 465 : 587;
    const { host, port } = parseHostPort(flags.server ?? DEFAULT_SERVER, defaultPort, "--server");
    const hop = { host, port };
    // Submitting to the `mail serve` on this machine: trust the certificate it generated in
    // the same data directory, so that the default setup verifies TLS without --ca.
    const local = flags.ca === undefined && isLoopback(hop)
      ? await localServerCertificate(flags.data)
      : undefined;
    return [{ kind: "relay", hop }, local ? { ...options, ca: [local] } : options];
  }
  if (flags.server !== undefined) throw usage("--server and --direct exclude each other");
  const mxPort = flags.mxPort === undefined ? 25 : Number(flags.mxPort);
  if (!Number.isInteger(mxPort) || mxPort < 1 || mxPort > 65535) {
    throw usage(`Invalid --mx-port ${JSON.stringify(flags.mxPort)}`);
  }
  let nameServer: { ipAddr: string; port: number } | undefined;
  if (flags.dns !== undefined) {
    const { host, port } = parseHostPort(flags.dns, 53, "--dns");
    if (!net.isIP(host)) throw usage(`--dns needs an IP address, not ${JSON.stringify(host)}`);
    nameServer = { ipAddr: host, port };
  }
  const routes = new Map<string, { host: string; port: number }>();
  for (const r of flags.route ?? []) {
    const eq = r.indexOf("=");
    if (eq <= 0) throw usage(`Invalid --route ${JSON.stringify(r)}: expected DOMAIN=HOST:PORT`);
    routes.set(r.slice(0, eq).toLowerCase(), parseHostPort(r.slice(eq + 1), 25, "--route"));
  }
  // MX hosts get opportunistic TLS (RFC 7435), as the queue gives them: most certificates of
  // MX hosts are self-signed or for another name, and refusing them would refuse the mail.
  // Naming a CA (--ca) asks for verification against it instead. No password goes to an MX.
  const direct = { ...options, opportunistic: flags.ca === undefined };
  return [{ kind: "direct", resolver: dnsResolver(nameServer), mxPort, routes }, direct];
}

/**
 * The exit status for RESULTS (sysexits): 0 all sent; 77 credentials refused or needed; 69 any
 * recipient refused for good; 75 some deferred (try again later).
 */
export function exitCodeFor(results: readonly RecipientResult[]): ExitCode {
  // Credentials refused (RFC 4954 §6), or none given where the server requires them (530).
  if (results.some((r) => r.failure === "auth" || r.reply?.code === 530)) return EXIT.NOPERM;
  if (results.some((r) => r.status === "refused")) return EXIT.UNAVAILABLE;
  if (results.some((r) => r.status === "deferred")) return EXIT.TEMPFAIL;
  return EXIT.OK;
}

/** One result as JSON (stable, snake_case field names). */
function resultJson(r: RecipientResult) {
  return {
    recipient: r.recipient,
    status: r.status,
    code: r.reply?.code ?? null,
    enhanced: r.reply?.enhanced ?? null,
    text: r.text,
    host: r.hop ?? null,
  };
}

/**
 * Prints RESULTS (one line per recipient, or JSON with EXTRA fields) and throws the CliError
 * that gives the exit status when anything failed. When every recipient failed the same way,
 * the one reason is the error line instead of a line per recipient.
 */
export function report(
  results: readonly RecipientResult[],
  opts: { json: boolean; quiet: boolean; extra?: Record<string, unknown> },
): void {
  const code = exitCodeFor(results);
  const failed = results.filter((r) => r.status !== "sent");
  const sameReason = failed.length === results.length && results.length > 0 &&
    failed.every((r) => r.text === failed[0]!.text);
  if (opts.json) {
    printJson({ ...opts.extra, recipients: results.map(resultJson) });
  } else if (!opts.quiet && !sameReason) {
    for (const r of results) console.log(`${r.recipient}: ${r.status}: ${r.text}`);
  }
  if (code === EXIT.OK) return;
  if (sameReason) {
    const hint = failed[0]!.failure === "tls" && /certificate/i.test(failed[0]!.text)
      ? " (trust its CA with --ca FILE, or accept any certificate with --insecure)"
      : "";
    throw new CliError(`${failed[0]!.text}${hint}`, code);
  }
  const refused = failed.filter((r) => r.status === "refused").length;
  const deferred = failed.length - refused;
  const parts = [
    ...(refused ? [`${refused} refused`] : []),
    ...(deferred ? [`${deferred} deferred (try again later)`] : []),
  ];
  throw new CliError(`Of ${results.length} recipients, ${parts.join(" and ")}`, code);
}

/** The self-signed certificate `mail serve` keeps in DIR/tls/cert.pem, if there is one. */
async function localServerCertificate(data: string | undefined): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(join(dataDir(data), "tls", "cert.pem"));
  } catch {
    return undefined;
  }
}
