/**
 * Fetching a policy (RFC 8461 §3.3): `GET https://mta-sts.DOMAIN/.well-known/mta-sts.txt`
 * with the certificate checked for `mta-sts.DOMAIN` against the system's CAs and, when given,
 * one of ours (`--outbound-ca`). Redirects are not followed (§3.3), only a 200 with a
 * `text/plain` body counts, and both the body (64 KiB) and the time (one deadline for the
 * whole request) are bounded.
 *
 * node:https rather than fetch(): it takes a lookup function, so the policy host is found
 * through our resolver (`--dns`) like every other name, and a CA per request.
 *
 * @module
 */
import https from "node:https";
import type { IncomingMessage } from "node:http";
import net from "node:net";
import { PolicyFetchError } from "./errors.ts";
import { MAX_POLICY_BYTES } from "./policy.ts";

/** Default of {@link FetchOptions.timeoutMs}: the whole request, connect to last octet. */
export const DEFAULT_FETCH_TIMEOUT_MS = 15_000;

/** Timers the fetch deadline is kept with (a test's, to time out without waiting). */
export interface FetchTimer {
  after(ms: number, fn: () => void): () => void;
}

const REAL_TIMER: FetchTimer = {
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

export interface FetchOptions {
  /** Port of the policy host (443; another in tests: `--mta-sts-port`). */
  readonly port: number;
  /** A CA (PEM) trusted besides the system's. */
  readonly ca?: string | undefined;
  /** The addresses of a host name (our resolver); the first is used. */
  readonly lookup: (host: string) => Promise<string[]>;
  readonly timeoutMs?: number | undefined;
  readonly timer?: FetchTimer | undefined;
}

type LookupCallback = (
  err: Error | null,
  address: string | { address: string; family: number }[],
  family?: number,
) => void;

/** What a TLS failure says about the certificate, as an RFC 8460 result type. */
function certificateTrouble(err: unknown): boolean {
  const code = String((err as { code?: unknown })?.code ?? "");
  const message = err instanceof Error ? err.message : String(err);
  return /CERT|SELF_SIGNED|ALTNAME|UNABLE_TO_(GET|VERIFY)/i.test(code) ||
    /certificate|altnames|self.signed|unknown ?issuer|invalid ?peer/i.test(message);
}

/** Fetches the policy body of DOMAIN (lower case). Rejects with {@link PolicyFetchError}. */
export function fetchPolicyBody(domain: string, options: FetchOptions): Promise<Uint8Array> {
  const host = `mta-sts.${domain}`;
  const timeoutMs = options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  const timer = options.timer ?? REAL_TIMER;
  return new Promise<Uint8Array>((resolve, reject) => {
    let settled = false;
    let req: ReturnType<typeof https.request> | undefined;
    const cancel = timer.after(timeoutMs, () => {
      finish(new PolicyFetchError(`Fetching ${host}: no answer within ${timeoutMs / 1000} s`));
    });
    function finish(err: PolicyFetchError | undefined, body?: Uint8Array) {
      if (settled) return;
      settled = true;
      cancel();
      if (err) {
        req?.destroy();
        reject(err);
      } else resolve(body!);
    }
    const lookup = (name: string, opts: { all?: boolean }, cb: LookupCallback) => {
      options.lookup(name).then(
        (addresses) => {
          const first = addresses[0];
          if (first === undefined) {
            cb(Object.assign(new Error(`${name} has no address`), { code: "ENOTFOUND" }), "");
            return;
          }
          const family = net.isIP(first) || 4;
          if (opts.all) {
            cb(null, addresses.map((address) => ({ address, family: net.isIP(address) || 4 })));
          } else cb(null, first, family);
        },
        (err) => cb(err instanceof Error ? err : new Error(String(err)), ""),
      );
    };
    try {
      req = https.request({
        host,
        servername: host,
        port: options.port,
        path: "/.well-known/mta-sts.txt",
        method: "GET",
        headers: { "Host": host, "Accept": "text/plain", "Connection": "close" },
        agent: false,
        lookup: lookup as never,
        ...(options.ca !== undefined ? { ca: [options.ca] } : {}),
        rejectUnauthorized: true,
        minVersion: "TLSv1.2",
      }, (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400) {
          finish(
            new PolicyFetchError(
              `Fetching ${host}: redirect (${status}) not followed (RFC 8461 §3.3)`,
            ),
          );
          return;
        }
        if (status !== 200) {
          finish(new PolicyFetchError(`Fetching ${host}: HTTP status ${status}`));
          return;
        }
        const type = String(res.headers["content-type"] ?? "");
        if (!/^text\/plain\s*(;|$)/i.test(type)) {
          finish(
            new PolicyFetchError(
              `Fetching ${host}: content type ${type || "missing"}, not text/plain`,
            ),
          );
          return;
        }
        const declared = Number(res.headers["content-length"] ?? 0);
        if (declared > MAX_POLICY_BYTES) {
          finish(
            new PolicyFetchError(
              `Fetching ${host}: policy larger than ${MAX_POLICY_BYTES} octets`,
              "sts-policy-invalid",
            ),
          );
          return;
        }
        const chunks: Uint8Array[] = [];
        let size = 0;
        res.on("data", (chunk: Uint8Array) => {
          size += chunk.length;
          if (size > MAX_POLICY_BYTES) {
            finish(
              new PolicyFetchError(
                `Fetching ${host}: policy larger than ${MAX_POLICY_BYTES} octets`,
                "sts-policy-invalid",
              ),
            );
            return;
          }
          chunks.push(chunk);
        });
        res.on("end", () => {
          const body = new Uint8Array(size);
          let at = 0;
          for (const c of chunks) {
            body.set(c, at);
            at += c.length;
          }
          finish(undefined, body);
        });
        res.on(
          "error",
          (err: Error) => finish(new PolicyFetchError(`Fetching ${host}: ${err.message}`)),
        );
      });
      req.on("error", (err: Error) => {
        const webpki = certificateTrouble(err);
        finish(
          new PolicyFetchError(
            `Fetching ${host}: ${webpki ? "certificate not valid: " : ""}${
              err.message.split("\n")[0]
            }`,
            webpki ? "sts-webpki-invalid" : "sts-policy-fetch-error",
            { cause: err },
          ),
        );
      });
      req.end();
    } catch (err) {
      finish(
        new PolicyFetchError(
          `Fetching ${host}: ${(err as Error).message}`,
          "sts-policy-fetch-error",
          { cause: err },
        ),
      );
    }
  });
}
