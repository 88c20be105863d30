/**
 * Logins, for every protocol that takes a password (SMTP AUTH, IMAP, POP3): the lockout
 * (./auth_guard.ts), the bound on password checks running at once (./auth_limiter.ts), one
 * scrypt run whether or not the user exists, the growing delay after a failure, and the log
 * line. Each protocol turns the outcome into its own reply.
 *
 * @module
 */
import { getLogger } from "../log.ts";
import { canonicalFromInput } from "../smtp/address.ts";
import { AuthGuard } from "./auth_guard.ts";
import { AuthBusyError, AuthLimiter, type CheckOutcome } from "./auth_limiter.ts";

const log = getLogger(["mail", "auth"]);

/** How a login ended. */
export type LoginOutcome =
  | { readonly kind: "ok"; readonly user: string }
  /** Wrong name or password (answered after the failure's delay). */
  | { readonly kind: "refused" }
  /** The client's address is locked out after too many failures. */
  | { readonly kind: "locked" }
  /** Too many checks waiting: try again later; not counted as a failure. */
  | { readonly kind: "busy" };

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Checks logins against the stored password hashes. */
export class Authenticator {
  readonly #hash: (user: string) => string | undefined;
  readonly #guard: AuthGuard;
  readonly #limiter: AuthLimiter;

  /** HASH gives a user's stored password hash. Share GUARD and LIMITER across listeners. */
  constructor(
    hash: (user: string) => string | undefined,
    guard = new AuthGuard(),
    limiter = new AuthLimiter(),
  ) {
    this.#hash = hash;
    this.#guard = guard;
    this.#limiter = limiter;
  }

  /** Whether connections from ADDRESS are refused for too many failed logins. */
  isLocked(address: string): boolean {
    return this.#guard.isLocked(address);
  }

  /** Checks USERNAME and PASSWORD from a client at IP (PROTOCOL names the listener in logs). */
  async login(
    username: string,
    password: string,
    ip: string,
    protocol: string,
  ): Promise<LoginOutcome> {
    if (this.#guard.isLocked(ip)) return { kind: "locked" };
    let user: string | undefined;
    try {
      user = canonicalFromInput(username);
    } catch {
      user = undefined;
    }
    // The check costs one scrypt run even for unknown users: the time taken does not tell an
    // attacker which accounts exist.
    const hash = user !== undefined ? this.#hash(user) : undefined;
    let outcome: CheckOutcome;
    try {
      outcome = await this.#limiter.check(this.#guard, ip, password, hash);
    } catch (err) {
      if (!(err instanceof AuthBusyError)) throw err;
      log.warning("Authentication deferred", { client: ip, protocol, reason: err.reason });
      return { kind: "busy" };
    }
    if (outcome.kind === "locked") return { kind: "locked" };
    if (outcome.kind === "ok" && user !== undefined) {
      log.info("Authenticated", { client: ip, protocol, user });
      return { kind: "ok", user };
    }
    const { delayMs, locked } = outcome.kind === "wrong" ? outcome : { delayMs: 0, locked: false };
    // Never the password; the name tried is useful to an operator reading the log.
    log.warning("Authentication failed", {
      client: ip,
      protocol,
      user: username.slice(0, 100),
      locked,
    });
    await wait(delayMs);
    return locked ? { kind: "locked" } : { kind: "refused" };
  }
}
