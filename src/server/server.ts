/**
 * `mail serve`: the listeners, connection limits and graceful shutdown. Each accepted socket
 * gets its own {@link SmtpSession} driven by a {@link Connection}, or on the IMAP listeners its
 * own {@link ImapSession} driven by an {@link ImapConnection}; the caps, the lockout, the
 * certificate and the deadlines are shared.
 *
 * @module
 */
import { createServer, type Server, type Socket } from "node:net";
import { type SecureContext, TLSSocket } from "node:tls";
import { getLogger, type Logger } from "../log.ts";
import type { HostPort, ServeConfig } from "../config.ts";
import { formatReply, type Reply, reply } from "../smtp/reply.ts";
import { type SessionBackend, type SessionEvent, SmtpSession } from "../smtp/session.ts";
import { Connection } from "./connection.ts";
import { describeTls, LINGER_MS } from "./socket_driver.ts";
import { DeadlineSweeper } from "./deadlines.ts";
import { isLoopbackAddress } from "../net.ts";
import type { ImapBackend } from "../imap/backend.ts";
import { ImapSession } from "../imap/session.ts";
import { ImapConnection } from "./imap_connection.ts";
import type { Pop3Backend } from "../pop3/backend.ts";
import { Pop3Session } from "../pop3/session.ts";
import { Pop3Connection } from "./pop3_connection.ts";

const log = getLogger(["mail", "server"]);

/** The roles a listener plays. */
export type ListenerRole = "smtp" | "submission" | "smtps" | "imap" | "imaps" | "pop3" | "pop3s";

/** The POP3 service: its store, its listeners and its autologout. */
export interface Pop3Service {
  readonly backend: Pop3Backend;
  /** STLS listener (110 role); undefined: off. */
  readonly pop3?: HostPort;
  /** Implicit-TLS listener (995 role, RFC 8314); undefined: off. */
  readonly pop3s?: HostPort;
  /** Autologout in seconds (RFC 1939 §3: at least 10 minutes). */
  readonly autologout: number;
}

/** The IMAP service: its store, its listeners and its autologout. */
export interface ImapService {
  readonly backend: ImapBackend;
  /** STARTTLS listener (143 role); undefined: off. */
  readonly imap?: HostPort;
  /** Implicit-TLS listener (993 role, RFC 8314); undefined: off. */
  readonly imaps?: HostPort;
  /** Autologout in seconds (RFC 9051 §5.4: at least 30 minutes). */
  readonly autologout: number;
}

/** What a server runs beside its configuration. */
export interface ServerOptions {
  /** Checks every connection's timeouts (tests pass one with a clock of their own). */
  readonly deadlines?: DeadlineSweeper;
  readonly imap?: ImapService;
  readonly pop3?: Pop3Service;
}

/** What the server needs of each connection, whatever its protocol. */
interface Driven {
  readonly closed: Promise<void>;
  readonly finished: Promise<void>;
  requestClose(): void;
  destroy(): void;
}

/** Where a listener ended up listening (the real port when 0 was asked for). */
export interface BoundListener {
  readonly role: ListenerRole;
  readonly host: string;
  readonly port: number;
}

/** What the server needs from its backend beyond the session's view. */
export interface ServerBackend extends SessionBackend {
  /** Whether connections from this address are refused (too many failed logins). */
  isLockedOut?(address: string): boolean;
}

/** Strips the IPv4-mapped IPv6 prefix so that logs and Received show plain IPv4. */
function plainAddress(ip: string | undefined): string {
  if (!ip) return "unknown";
  return ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice(7) : ip;
}

/** The running server. */
export class MailServer {
  readonly #config: ServeConfig;
  readonly #backend: ServerBackend;
  /** The current certificate; replaced on reload (SIGHUP). Undefined: TLS is off. */
  #tls: SecureContext | undefined;
  readonly #servers: Server[] = [];
  readonly #connections = new Set<Driven>();
  readonly #imap: ImapService | undefined;
  readonly #pop3: Pop3Service | undefined;
  readonly #perIp = new Map<string, number>();
  readonly #refused = new Set<Socket>();
  readonly #deadlines: DeadlineSweeper;
  #stopping = false;

  /** `tls` is the certificate (undefined: TLS off). */
  constructor(
    config: ServeConfig,
    backend: ServerBackend,
    tls?: SecureContext,
    options: ServerOptions = {},
  ) {
    this.#config = config;
    this.#backend = backend;
    this.#tls = tls;
    this.#deadlines = options.deadlines ?? new DeadlineSweeper();
    this.#imap = options.imap;
    this.#pop3 = options.pop3;
  }

  /** Installs a new certificate for connections from now on (certificate renewal). */
  setTlsContext(context: SecureContext): void {
    this.#tls = context;
  }

  /** Binds every configured listener; resolves with where each one listens. */
  async listen(): Promise<BoundListener[]> {
    const wanted: [ListenerRole, HostPort | undefined][] = [
      ["smtp", this.#config.smtp],
      ["submission", this.#config.submission],
      ["smtps", this.#config.smtps],
      ["imap", this.#imap?.imap],
      ["imaps", this.#imap?.imaps],
      ["pop3", this.#pop3?.pop3],
      ["pop3s", this.#pop3?.pop3s],
    ];
    const bound: BoundListener[] = [];
    for (const [role, addr] of wanted) {
      if (!addr) continue;
      bound.push(await this.#bind(role, addr));
    }
    return bound;
  }

  #bind(role: ListenerRole, addr: HostPort): Promise<BoundListener> {
    const server = createServer((socket) => {
      if (role === "smtps" || role === "imaps" || role === "pop3s") this.#acceptTls(socket, role);
      else this.#accept(socket, role, undefined, socket);
    });
    this.#servers.push(server);
    return new Promise((resolve, reject) => {
      server.once("error", (err: NodeJS.ErrnoException) => {
        reject(
          new Error(
            `Cannot listen on ${addr.host}:${addr.port} (${role}): ${err.code ?? err.message}`,
          ),
        );
      });
      server.listen(addr.port, addr.host, () => {
        const a = server.address();
        const port = typeof a === "object" && a ? a.port : addr.port;
        server.removeAllListeners("error");
        server.on("error", (err) => log.error("Listener error", { role, error: err.message }));
        resolve({ role, host: addr.host, port });
      });
    });
  }

  /**
   * RFC 8314 §3.3: implicit TLS, the SMTP dialogue starts once the handshake is done. The
   * plain socket is wrapped by hand: on Deno 2.9, `tls.createServer({ secureContext })` serves
   * no certificate, while a wrapped socket does (and picks up a reloaded certificate).
   */
  #acceptTls(plain: Socket, role: "smtps" | "imaps" | "pop3s"): void {
    const secure = new TLSSocket(plain, { isServer: true, secureContext: this.#tls! });
    const fail = (why: string) => {
      cancel();
      log.debug("TLS handshake failed", {
        role,
        client: plainAddress(plain.remoteAddress),
        error: why,
      });
      secure.destroy();
      plain.destroy();
    };
    // The whole handshake must end within the command timeout, however slowly its bytes come:
    // a deadline, not an idle timer that each byte would re-arm.
    const cancel = this.#deadlines.once(
      this.#deadlines.now() + this.#config.commandTimeout * 1000,
      () => fail("timeout"),
    );
    plain.once("close", cancel);
    secure.once("secure", () => {
      cancel();
      secure.removeAllListeners("error");
      this.#accept(secure, role, describeTls(secure), plain);
    });
    secure.on("error", (err) => fail(err.message));
  }

  /** `peer` is the TCP socket (under TLS, the one the TLS socket wraps): it knows the address. */
  #accept(socket: Socket, role: ListenerRole, tls: string | undefined, peer: Socket): void {
    const ip = plainAddress(peer.remoteAddress);
    const port = peer.remotePort ?? 0;
    if (this.#stopping) {
      this.#refuse(
        socket,
        role,
        reply(421, "4.3.2", `${this.#config.hostname} Service shutting down`),
      );
      return;
    }
    if (this.#backend.isLockedOut?.(ip)) {
      log.info("Connection refused: locked out after failed logins", { client: ip, role });
      this.#refuse(
        socket,
        role,
        reply(421, "4.7.0", `${this.#config.hostname} Too many failed logins, try later`),
      );
      return;
    }
    const count = this.#perIp.get(ip) ?? 0;
    if (
      this.#connections.size >= this.#config.maxConnections ||
      count >= this.#config.maxConnectionsPerIp
    ) {
      log.warning("Connection refused: too many connections", { client: ip, role });
      this.#refuse(
        socket,
        role,
        reply(421, "4.7.0", `${this.#config.hostname} Too many connections, try later`),
      );
      return;
    }
    this.#perIp.set(ip, count + 1);
    if (role === "imap" || role === "imaps") {
      this.#acceptImap(socket, role, tls, ip, port);
      return;
    }
    if (role === "pop3" || role === "pop3s") {
      this.#acceptPop3(socket, role, tls, ip, port);
      return;
    }
    const started = Date.now();
    let messages = 0;
    const connLog = log.with({ client: ip, port, role });
    const onEvent = (e: SessionEvent) => {
      switch (e.type) {
        case "accepted":
          messages++;
          connLog.info("Accepted", {
            id: e.id,
            sender: e.sender,
            recipients: e.recipients,
            size: e.size,
          });
          break;
        case "refused": {
          const { type: _, ...fields } = e;
          connLog.info("Refused", fields);
          break;
        }
        case "auth":
          break; // logged by the backend, which knows more
        case "error":
          connLog.error("Internal error", {
            command: e.command,
            error: e.error instanceof Error ? e.error.message : String(e.error),
            stack: e.error instanceof Error ? e.error.stack : undefined,
          });
      }
    };
    const session = new SmtpSession(
      {
        hostname: this.#config.hostname,
        maxMessageSize: this.#config.maxSize,
        maxRecipients: this.#config.maxRecipients,
        maxErrors: this.#config.maxErrors,
        role: role === "smtp" ? "mx" : "submission",
        startTls: this.#tls !== undefined && tls === undefined,
        // Never for a remote client, whatever the configuration says.
        allowInsecureAuth: this.#config.allowInsecureAuth && isLoopbackAddress(ip),
        // node:net gives each read its own buffer, sized to what was read (checked on Deno 2.9).
        ownsInput: true,
      },
      this.#backend,
      { address: ip, port, tls },
      onEvent,
    );
    const conn = new Connection(
      socket,
      session,
      {
        command: this.#config.commandTimeout * 1000,
        data: this.#config.dataTimeout * 1000,
        lineDeadline: this.#config.lineDeadline * 1000,
        greetWait: this.#config.greetWait * 1000,
      },
      this.#deadlines,
      connLog,
      this.#tls ? () => this.#tls! : undefined,
    );
    this.#track(conn, ip, connLog, started, () => ({ messages }));
    conn.start();
  }

  /**
   * Counts CONN among the open connections (and its address's) until it closes, then logs how
   * long it lasted, with what EXTRA says by then.
   */
  #track(
    conn: Driven,
    ip: string,
    connLog: Logger,
    started: number,
    extra: () => Record<string, unknown> = () => ({}),
  ): void {
    this.#connections.add(conn);
    void conn.closed.then(() => {
      this.#connections.delete(conn);
      const left = (this.#perIp.get(ip) ?? 1) - 1;
      if (left > 0) this.#perIp.set(ip, left);
      else this.#perIp.delete(ip);
      connLog.info("Disconnected", { duration_ms: Date.now() - started, ...extra() });
    });
  }

  /** The error event of a session, logged with its stack. */
  #logError(connLog: Logger, e: { command?: string; error: unknown }): void {
    connLog.error("Internal error", {
      ...(e.command ? { command: e.command } : {}),
      error: e.error instanceof Error ? e.error.message : String(e.error),
      stack: e.error instanceof Error ? e.error.stack : undefined,
    });
  }

  /** An IMAP session over SOCKET (counted in the caps already). */
  #acceptImap(
    socket: Socket,
    role: "imap" | "imaps",
    tls: string | undefined,
    ip: string,
    port: number,
  ): void {
    const imap = this.#imap!;
    const started = Date.now();
    const connLog = log.with({ client: ip, port, role });
    const conn = new ImapConnection(
      socket,
      { idle: imap.autologout * 1000, progress: this.#config.lineDeadline * 1000 },
      this.#deadlines,
      connLog,
      this.#tls ? () => this.#tls! : undefined,
    );
    const session = new ImapSession(
      {
        hostname: this.#config.hostname,
        startTls: this.#tls !== undefined && tls === undefined,
        tls: tls !== undefined,
        // Never for a remote client, whatever the configuration says.
        allowInsecureAuth: this.#config.allowInsecureAuth && isLoopbackAddress(ip),
        maxMessageSize: this.#config.maxSize,
        maxErrors: this.#config.maxErrors,
      },
      imap.backend,
      ip,
      conn.notify,
      (e) => {
        if (e.type === "login") connLog.info(e.ok ? "Login" : "Login failed", { user: e.user });
        else this.#logError(connLog, e);
      },
      conn.drained,
    );
    this.#track(conn, ip, connLog, started);
    conn.start(session);
  }

  /** A POP3 session over SOCKET (counted in the caps already). */
  #acceptPop3(
    socket: Socket,
    role: "pop3" | "pop3s",
    tls: string | undefined,
    ip: string,
    port: number,
  ): void {
    const pop3 = this.#pop3!;
    const started = Date.now();
    const connLog = log.with({ client: ip, port, role });
    const conn = new Pop3Connection(
      socket,
      { idle: pop3.autologout * 1000, line: this.#config.lineDeadline * 1000 },
      this.#deadlines,
      connLog,
      this.#tls ? () => this.#tls! : undefined,
    );
    const session = new Pop3Session(
      {
        hostname: this.#config.hostname,
        startTls: this.#tls !== undefined && tls === undefined,
        tls: tls !== undefined,
        // Never for a remote client, whatever the configuration says.
        allowInsecureAuth: this.#config.allowInsecureAuth && isLoopbackAddress(ip),
      },
      pop3.backend,
      ip,
      (e) => {
        if (e.type === "login") connLog.info(e.ok ? "Login" : "Login failed", { user: e.user });
        else if (e.type === "open") {
          connLog.info("Maildrop opened", { messages: e.messages, size: e.size });
        } else if (e.type === "update") {
          connLog.info("Maildrop updated", { seen: e.seen, expunged: e.expunged });
        } else if (e.type === "error") this.#logError(connLog, e);
      },
    );
    this.#track(conn, ip, connLog, started);
    conn.start(session);
  }

  /**
   * Answers a connection we will not serve and closes it (SMTP: the reply R; IMAP: `* BYE`
   * with its text). The socket is destroyed once the peer closes its side, or after a short
   * linger: a client that never reads or closes must not hold a file descriptor.
   */
  #refuse(socket: Socket, role: ListenerRole, r: Reply): void {
    this.#refused.add(socket);
    const cancel = this.#deadlines.once(this.#deadlines.now() + LINGER_MS, () => socket.destroy());
    socket.on("error", () => socket.destroy());
    socket.once("close", () => {
      cancel();
      this.#refused.delete(socket);
    });
    if (role === "pop3" || role === "pop3s") {
      // RFC 2449 §8.1.2: SYS/TEMP, a temporary refusal.
      socket.end(`-ERR [SYS/TEMP] ${r.lines.join(" ")}\r\n`);
      return;
    }
    if (role === "imap" || role === "imaps") {
      // RFC 9051 §7.1.5: BYE as the greeting refuses the connection.
      socket.end(`* BYE [UNAVAILABLE] ${r.lines.join(" ")}\r\n`);
      return;
    }
    // RFC 2034 says greetings carry no enhanced code; clients parse it all the same, and the
    // 4.7.0 tells an operator reading logs on the other side why they were refused.
    socket.end(formatReply(r, true));
  }

  /** Number of open connections. */
  get connections(): number {
    return this.#connections.size;
  }

  /**
   * Graceful stop: no new connections, idle sessions get 421, transactions in flight may
   * finish for up to `graceMs`; then whatever is left is dropped.
   */
  async close(graceMs = this.#config.shutdownGrace * 1000): Promise<void> {
    this.#stopping = true;
    const listenersClosed = this.#servers.map((s) => new Promise<void>((r) => s.close(() => r())));
    for (const c of this.#connections) c.requestClose();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((r) => timer = setTimeout(r, graceMs));
    await Promise.race([Promise.all([...this.#connections].map((c) => c.finished)), grace]);
    clearTimeout(timer);
    this.abort();
    await Promise.all(listenersClosed);
  }

  /** Drops every connection at once. */
  abort(): void {
    this.#stopping = true;
    for (const c of this.#connections) c.destroy();
    for (const s of this.#refused) s.destroy();
    for (const s of this.#servers) s.close();
  }
}
