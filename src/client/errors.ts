/**
 * The client's one error type. Its message names the command that failed, then what the server
 * said or what went wrong, so that one line tells a user the whole story
 * (`RCPT TO:<x@y>: 550 5.1.1 No such user`); it also says whether trying again later may help.
 *
 * @module
 */
import { type Reply, replyToString } from "../smtp/reply.ts";
import type { WireFailure } from "./wire.ts";

/**
 * Why a client operation failed:
 * - `reply`: the server answered with a failure code (see `reply`);
 * - `connect`, `tls`, `timeout`, `closed`, `protocol`: the connection failed or the server
 *   broke the protocol;
 * - `unsupported`: the message needs an extension the server does not offer;
 * - `policy`: the client refused to go on (e.g. a password over a plaintext connection);
 * - `auth`: the server refused the credentials (RFC 4954 §6: 535, 534, 538).
 */
export type ClientFailure = "reply" | WireFailure | "unsupported" | "policy" | "auth";

export class ClientError extends Error {
  /** The command that failed, as sent (secrets redacted), or a stage such as `Connect`. */
  readonly command: string;
  /** The server's reply, when there was one. */
  readonly reply: Reply | undefined;
  readonly failure: ClientFailure;

  constructor(
    command: string,
    failure: ClientFailure,
    detail: Reply | string,
    options?: ErrorOptions,
  ) {
    const reply = typeof detail === "string" ? undefined : detail;
    super(`${command}: ${reply ? replyToString(reply) : detail}`, options);
    this.name = "ClientError";
    this.command = command;
    this.reply = reply;
    this.failure = failure;
  }

  /**
   * Whether a later attempt may succeed: a 4xx reply (RFC 5321 §4.2.1), or a connection that
   * failed, timed out or was closed. Certificate failures, missing extensions and refused
   * credentials will not fix themselves.
   */
  get temporary(): boolean {
    if (this.reply) return this.reply.code >= 400 && this.reply.code < 500;
    return ["connect", "timeout", "closed", "protocol"].includes(this.failure);
  }
}
