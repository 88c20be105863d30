/** Helpers of the MTA-STS tests: the test CA's files, and a policy host on loopback. */
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type net from "node:net";

const FIXTURES = new URL("./fixtures/", import.meta.url);
/** A file of ./fixtures (see make.sh there): `ca.pem`, `mx.pem`, `mx.key`, … */
export const fixture = (name: string) => new URL(name, FIXTURES).pathname;
export const readFixture = (name: string) => Deno.readTextFileSync(fixture(name));

/** How the policy host answers a request. */
export interface PolicyAnswer {
  readonly status?: number;
  readonly headers?: Record<string, string>;
  readonly body?: string | Uint8Array;
  /** Never answer (the client's deadline must end it). */
  readonly stall?: boolean;
}

export interface PolicyHost {
  readonly port: number;
  /** Requests so far, as `METHOD PATH Host`. */
  readonly requests: string[];
  /** What the next requests get (changeable while it runs). */
  answer: PolicyAnswer;
  /** Resolves when a request arrives (the next one, or at once if one came since the last call). */
  requested(): Promise<void>;
  close(): Promise<void>;
}

/** The policy file for MX patterns MX, in MODE. */
export const policyText = (mode: string, mx: readonly string[], maxAge = 86400) =>
  ["version: STSv1", `mode: ${mode}`, ...mx.map((m) => `mx: ${m}`), `max_age: ${maxAge}`, ""]
    .join("\r\n");

/** An HTTPS server on 127.0.0.1:0 with CERT (a fixture name, default the policy host's). */
export async function startPolicyHost(
  answer: PolicyAnswer,
  cert = "policy-host",
): Promise<PolicyHost> {
  const sockets = new Set<net.Socket>();
  let seen = 0;
  let wake: (() => void) | undefined;
  const host: PolicyHost = {
    port: 0,
    requests: [],
    answer,
    requested() {
      if (host.requests.length > seen) {
        seen = host.requests.length;
        return Promise.resolve();
      }
      return new Promise<void>((r) => (wake = () => {
        seen = host.requests.length;
        r();
      }));
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server = https.createServer(
    { cert: readFixture(`${cert}.pem`), key: readFixture(`${cert}.key`) },
    (req: IncomingMessage, res: ServerResponse) => {
      host.requests.push(`${req.method} ${req.url} ${req.headers.host}`);
      wake?.();
      wake = undefined;
      const a = host.answer;
      if (a.stall) return;
      res.writeHead(a.status ?? 200, { "content-type": "text/plain", ...a.headers });
      res.end(a.body ?? "");
    },
  );
  server.on("connection", (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("tlsClientError", () => {/* a client refusing our certificate */});
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  (host as { port: number }).port = (server.address() as net.AddressInfo).port;
  return host;
}
