/**
 * `mail serve`: runs the mail server until SIGINT/SIGTERM (CONTRACT.md).
 *
 * @module
 */
import { Option } from "@commander-js/extra-typings";
import { loadConfig, type ServeConfig } from "../config.ts";
import { CliError, EXIT } from "../exit_codes.ts";
import { flushLogs, getLogger, setupLogging } from "../log.ts";
import { AuthGuard, DEFAULT_AUTH_GUARD } from "../server/auth_guard.ts";
import { LocalBackend } from "../server/local_backend.ts";
import {
  type CertificateInfo,
  loadOrCreateCertificate,
  secureContext,
  TlsConfigError,
} from "../server/tls_cert.ts";
import { MailServer } from "../server/server.ts";
import { QueueConfigError } from "../queue/errors.ts";
import { queueRunner } from "../queue/setup.ts";
import { openStore, type Store, StoreError } from "../store/mod.ts";
import { dataDir, newCommand } from "./_common.ts";
import { checkServe } from "./serve_check.ts";

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

export function serveCommand() {
  return newCommand("serve", "Run the mail server until SIGINT/SIGTERM")
    .option(
      "--config <file>",
      "TOML file with the same settings as the flags (default: DIR/mail.toml)",
    )
    .option("--check", "validate the configuration, certificate, data and ports, then exit")
    .option("--hostname <name>", "name in the greeting, EHLO reply and Received headers")
    .option(
      "--domain <domain>",
      "a domain delivered locally (repeatable; default: localhost)",
      collect,
    )
    .option("--catch-all", "accept any local part of a local domain")
    .option("--smtp <addr>", "MX listener HOST:PORT, or off (default: 127.0.0.1:2525)")
    .option(
      "--submission <addr>",
      "submission listener HOST:PORT, or off (default: 127.0.0.1:2587)",
    )
    .option("--smtps <addr>", "implicit-TLS submission listener HOST:PORT (default: off)")
    .option("--tls-cert <file>", "PEM certificate (chain)")
    .option("--tls-key <file>", "PEM private key")
    .option("--route <route>", "DOMAIN=HOST:PORT next hop (repeatable; * is a smarthost)", collect)
    .option("--dns <addr>", "DNS server HOST:PORT for outbound lookups")
    .option("--mx-port <port>", "port used to reach MX hosts (default: 25)")
    .option("--queue-min-backoff <seconds>", "first retry delay, doubling (default: 300)")
    .option("--queue-max-backoff <seconds>", "longest retry delay (default: 4000)")
    .option(
      "--queue-lifetime <seconds>",
      "time before undeliverable mail bounces (default: 5 days)",
    )
    .option(
      "--delay-warning <seconds>",
      "warn the sender once after this delay, 0: never (default: 14400)",
    )
    .option("--relay-concurrency <n>", "outbound connections in total (default: 100)")
    .option(
      "--relay-concurrency-per-destination <n>",
      "outbound connections per destination domain (default: 20)",
    )
    .option("--smarthost-user <name>", "AUTH user for the * route (smarthost)")
    .option("--smarthost-password-file <file>", "file holding the smarthost password")
    .option("--smarthost-ca <file>", "PEM CA certificate to trust for the smarthost's TLS")
    .option("--max-size <bytes>", "largest message accepted (default: 26214400)")
    .option("--max-recipients <n>", "recipients per message (default: 100)")
    .option("--max-connections <n>", "open connections in total (default: 2000)")
    .option(
      "--max-connections-per-ip <n>",
      "open connections per client address (default: 50)",
    )
    .option("--timeout <seconds>", "command timeout (default: 300)")
    .option("--data-timeout <seconds>", "DATA timeout (default: 600)")
    .option(
      "--shutdown-grace <seconds>",
      "time transactions may take to finish on shutdown (default: 30)",
    )
    .option(
      "--line-deadline <seconds>",
      "time to complete a command or DATA line once begun (default: 60)",
    )
    .option(
      "--greet-wait <ms>",
      "gap before the greeting's last line; earlier talkers get 554 (default: 0)",
    )
    .option("--max-errors <n>", "error replies before a session is cut off (default: 30)")
    .option("--no-tls", "no STARTTLS and no generated certificate")
    .option("--allow-insecure-auth", "offer AUTH without TLS to loopback clients")
    .option("--auth-max-failures <n>", "failed logins per address before a lockout (default: 10)")
    .option("--auth-lockout <seconds>", "how long a lockout lasts (default: 900)")
    .option(
      "--auth-delay <seconds>",
      "delay before the first failed-login reply, doubling (default: 0.5)",
    )
    .addOption(
      new Option("--log-format <format>", "log format").choices(["pretty", "json"] as const),
    )
    .addOption(
      new Option("--log-level <level>", "lowest level logged").choices(
        ["debug", "info", "warning", "error"] as const,
      ),
    )
    .action(async (opts) => {
      const dir = dataDir(opts.data);
      const config = await loadConfig({
        dataDir: dir,
        configFile: opts.config,
        env: (name) => Deno.env.get(name),
        hostname: safeHostname(),
        flags: {
          "hostname": opts.hostname,
          "domain": opts.domain,
          "catch-all": opts.catchAll,
          "smtp": opts.smtp,
          "submission": opts.submission,
          "smtps": opts.smtps,
          "tls-cert": opts.tlsCert,
          "tls-key": opts.tlsKey,
          "route": opts.route,
          "dns": opts.dns,
          "mx-port": opts.mxPort,
          "queue-min-backoff": opts.queueMinBackoff,
          "queue-max-backoff": opts.queueMaxBackoff,
          "queue-lifetime": opts.queueLifetime,
          "delay-warning": opts.delayWarning,
          "relay-concurrency": opts.relayConcurrency,
          "relay-concurrency-per-destination": opts.relayConcurrencyPerDestination,
          "smarthost-user": opts.smarthostUser,
          "smarthost-password-file": opts.smarthostPasswordFile,
          "smarthost-ca": opts.smarthostCa,
          "max-size": opts.maxSize,
          "max-recipients": opts.maxRecipients,
          "max-connections": opts.maxConnections,
          "max-connections-per-ip": opts.maxConnectionsPerIp,
          "timeout": opts.timeout,
          "data-timeout": opts.dataTimeout,
          "shutdown-grace": opts.shutdownGrace,
          "line-deadline": opts.lineDeadline,
          "greet-wait": opts.greetWait,
          "max-errors": opts.maxErrors,
          // Commander turns --no-tls into tls=false; undefined when not given.
          "no-tls": opts.tls === false ? true : undefined,
          "allow-insecure-auth": opts.allowInsecureAuth,
          "auth-max-failures": opts.authMaxFailures,
          "auth-lockout": opts.authLockout,
          "auth-delay": opts.authDelay,
          "log-format": opts.logFormat,
          "log-level": opts.logLevel,
        },
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
  const runner = await queueRunner(config, store).catch((err) => {
    store.close();
    throw err instanceof QueueConfigError ? new CliError(err.message, EXIT.CONFIG) : err;
  });
  const guard = new AuthGuard({
    ...DEFAULT_AUTH_GUARD,
    maxFailures: config.authMaxFailures,
    lockoutMs: config.authLockout * 1000,
    baseDelayMs: config.authDelay * 1000,
  });
  const backend = new LocalBackend(
    store,
    { domains: config.domains, catchAll: config.catchAll },
    guard,
    () => runner.wake(),
    // A batch being committed holds at least one connection: any other may have work.
    (): boolean => server.connections > 1,
  );
  const server = new MailServer(config, backend, tls ? secureContext(tls) : undefined);
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
    // The readiness line (CONTRACT.md) is what supervisors and scripts wait for: written now,
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
