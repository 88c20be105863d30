/**
 * `mail serve`: runs the mail server until SIGINT/SIGTERM (docs/cli.md).
 *
 * @module
 */
import { Option } from "@commander-js/extra-typings";
import { loadConfig, type ServeConfig } from "../config.ts";
import { CONFIG_FLAG, helpText, type Setting, SETTINGS } from "../settings.ts";
import { CliError, EXIT } from "../exit_codes.ts";
import { flushLogs, getLogger, setupLogging } from "../log.ts";
import { AuthGuard, DEFAULT_AUTH_GUARD } from "../server/auth_guard.ts";
import { AuthLimiter } from "../server/auth_limiter.ts";
import { Authenticator } from "../server/authenticator.ts";
import { StoreImapBackend } from "../server/imap_backend.ts";
import { StorePop3Backend } from "../server/pop3_backend.ts";
import { LocalBackend } from "../server/local_backend.ts";
import { AuthChecks } from "../checks/mod.ts";
import { sharedResolver } from "../dns/mod.ts";
import { DkimSigner, DkimStage, KeyRing } from "../dkim/mod.ts";
import {
  type CertificateInfo,
  loadOrCreateCertificate,
  secureContext,
  TlsConfigError,
} from "../server/tls_cert.ts";
import { DeadlineSweeper } from "../server/deadlines.ts";
import { MailServer } from "../server/server.ts";
import { QueueConfigError } from "../queue/errors.ts";
import { queueRunner } from "../queue/setup.ts";
import { openStore, type Store, StoreError } from "../store/mod.ts";
import { dataDir, newCommand } from "./_common.ts";
import { checkServe } from "./serve_check.ts";

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** The flag of setting S, with its default in the help text (settings.ts). */
function settingOption(s: Setting): Option {
  const placeholder = s.type.placeholder;
  const option = new Option(placeholder ? `${s.flag} <${placeholder}>` : s.flag, helpText(s));
  if (s.repeatable) option.argParser(collect);
  if (s.type.choices) option.choices(s.type.choices);
  return option;
}

/**
 * The value each setting's flag was given on COMMAND (parsed), by setting key; undefined when
 * not given, so that the file and the environment keep theirs.
 */
export function settingFlags(command: {
  readonly options: readonly Option[];
  opts(): Record<string, unknown>;
}): Record<string, unknown> {
  const opts = command.opts();
  const values: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const option = command.options.find((o) => o.long === s.flag);
    if (option === undefined) throw new Error(`No flag ${s.flag} for setting ${s.key}`);
    const value = opts[option.attributeName()];
    // Commander gives `--no-tls` as tls=false, and tls=true when it is not given.
    values[s.key] = option.negate ? (value === false ? true : undefined) : value;
  }
  return values;
}

/** `mail serve`: its flags are the settings of settings.ts, plus `--config` and `--check`. */
export function serveCommand() {
  const command = newCommand("serve", "Run the mail server until SIGINT/SIGTERM")
    .option(
      `${CONFIG_FLAG.flag} <${CONFIG_FLAG.placeholder}>`,
      `${CONFIG_FLAG.help} (default: ${CONFIG_FLAG.shown}, if present)`,
    )
    .option("--check", "validate the configuration, certificate, data and ports, then exit");
  for (const s of SETTINGS) command.addOption(settingOption(s));
  return command.action(async (opts, cmd) => {
    const dir = dataDir(opts.data);
    const config = await loadConfig({
      dataDir: dir,
      configFile: opts.config,
      env: (name) => Deno.env.get(name),
      hostname: safeHostname(),
      flags: settingFlags(cmd),
    });
    if (opts.check) return await checkServe(config, opts.config);
    setupLogging(config.logFormat, config.logLevel);
    await serve(config);
  });
}

function safeHostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}

function openServerStore(config: ServeConfig): Store {
  try {
    return openStore(config.dataDir);
  } catch (err) {
    if (err instanceof StoreError) {
      throw new CliError(err.message, err.kind === "io" ? EXIT.IOERR : EXIT.CONFIG);
    }
    throw err;
  }
}

/** Loads (or on first start generates) the certificate, and says which one is in use. */
async function loadTls(config: ServeConfig): Promise<CertificateInfo | undefined> {
  if (config.noTls) return undefined;
  const log = getLogger(["mail", "tls"]);
  let info: CertificateInfo;
  try {
    info = await loadOrCreateCertificate({
      dataDir: config.dataDir,
      hostname: config.hostname,
      certFile: config.tlsCert,
      keyFile: config.tlsKey,
    });
  } catch (err) {
    if (err instanceof TlsConfigError) throw new CliError(err.message, EXIT.CONFIG);
    throw err;
  }
  const expires = info.notAfter.toISOString();
  const fields = {
    source: info.source,
    subject: info.subject,
    names: info.altNames,
    expires,
    file: info.certFile,
  };
  log.info("TLS certificate", fields);
  for (const warning of info.warnings) log.warning(warning, { file: info.certFile });
  return info;
}

/** Runs the server with CONFIG until a signal stops it. */
export async function serve(config: ServeConfig): Promise<void> {
  const log = getLogger(["mail", "serve"]);
  const tls = await loadTls(config);
  const store = openServerStore(config);
  // DKIM: what authenticated users submit, and MAILER-DAEMON's notices, are signed.
  const dkim = new DkimSigner(new KeyRing(config.dataDir));
  const signNotice = (m: Uint8Array, id: string) => dkim.signNotice(config.hostname, m, id);
  const runner = await queueRunner(config, store, { signNotice }).catch((err) => {
    store.close();
    throw err instanceof QueueConfigError ? new CliError(err.message, EXIT.CONFIG) : err;
  });
  const guard = new AuthGuard({
    ...DEFAULT_AUTH_GUARD,
    maxFailures: config.authMaxFailures,
    lockoutMs: config.authLockout * 1000,
    baseDelayMs: config.authDelay * 1000,
  });
  // One bound on password checks for every listener; a turn is waited for as long as a command.
  const limiter = new AuthLimiter({ waitMs: config.commandTimeout * 1000 });
  // One sweeper for every deadline of the server: the connections' and the checks' budgets.
  const deadlines = new DeadlineSweeper();
  const backend = new LocalBackend(
    store,
    { domains: config.domains, catchAll: config.catchAll },
    guard,
    () => runner.wake(),
    // A batch being committed holds at least one connection: any other may have work.
    (): boolean => server.connections > 1,
    limiter,
    // The checks of received mail come first: DKIM signs what they leave.
    [
      ...(config.authChecks
        ? [
          new AuthChecks({
            ...config,
            resolve: sharedResolver(config.dns).nodeStyle,
            // The checks' per-message budget is kept by the connections' sweeper, not a timer.
            clock: deadlines.clientClock(),
          }),
        ]
        : []),
      new DkimStage(dkim),
    ],
  );
  const auth = new Authenticator((user) => store.passwordHash(user), guard, limiter);
  const imap = config.imap || config.imaps
    ? {
      backend: new StoreImapBackend(store, auth),
      ...(config.imap ? { imap: config.imap } : {}),
      ...(config.imaps ? { imaps: config.imaps } : {}),
      autologout: config.imapAutologout,
    }
    : undefined;
  const pop3 = config.pop3 || config.pop3s
    ? {
      backend: new StorePop3Backend(store, auth),
      ...(config.pop3 ? { pop3: config.pop3 } : {}),
      ...(config.pop3s ? { pop3s: config.pop3s } : {}),
      autologout: config.pop3Autologout,
    }
    : undefined;
  const server = new MailServer(
    config,
    backend,
    tls ? secureContext(tls) : undefined,
    { deadlines, ...(imap ? { imap } : {}), ...(pop3 ? { pop3 } : {}) },
  );
  try {
    const bound = await server.listen();
    log.info("Listening", {
      hostname: config.hostname,
      domains: config.domains,
      data: config.dataDir,
      ...Object.fromEntries(
        bound.map((b) => [b.role, `${b.host.includes(":") ? `[${b.host}]` : b.host}:${b.port}`]),
      ),
    });
    // The readiness line (docs/cli.md) is what supervisors and scripts wait for: written now,
    // not with the next batch of log lines.
    flushLogs();
  } catch (err) {
    server.abort();
    store.close();
    throw new CliError((err as Error).message, EXIT.UNAVAILABLE);
  }
  // Mail queued before a restart (or a crash) is due at once.
  runner.start();

  let signals = 0;
  const done = Promise.withResolvers<void>();
  const onSignal = (name: Deno.Signal) => {
    signals++;
    if (signals === 1) {
      log.info("Shutting down", { signal: name });
      // Deliveries in flight get the same grace as transactions; the rest are retried later.
      Promise.all([server.close(), runner.stop(config.shutdownGrace * 1000)])
        .then(() => done.resolve(), done.reject);
    } else {
      // Second signal: leave now. Every commit is atomic, so the store stays consistent.
      log.warning("Second signal, exiting at once", { signal: name });
      server.abort();
      runner.abandon();
      done.resolve();
    }
  };
  // SIGHUP re-reads the certificate: renewals without a restart. A bad new certificate is
  // logged and the old one kept.
  const onHangup = () => {
    if (!tls) return;
    loadTls(config).then(
      (info) => info && server.setTlsContext(secureContext(info)),
      (err) =>
        log.error("Certificate reload failed, keeping the old one", {
          error: (err as Error).message,
        }),
    );
  };
  const handlers: [Deno.Signal, () => void][] = [
    ["SIGINT", () => onSignal("SIGINT")],
    ["SIGTERM", () => onSignal("SIGTERM")],
  ];
  if (Deno.build.os !== "windows") handlers.push(["SIGHUP", onHangup]);
  for (const [sig, h] of handlers) Deno.addSignalListener(sig, h);
  try {
    await done.promise;
  } finally {
    for (const [sig, h] of handlers) Deno.removeSignalListener(sig, h);
    store.close();
    log.info("Stopped");
  }
}
