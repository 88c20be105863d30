/** An in-memory MailSink: users in a set, deliveries in an array. */
import type { MailSink } from "../../src/server/local_backend.ts";
import type { NewMessage } from "../../src/store/mod.ts";
import { concatBytes } from "../../src/bytes.ts";
import { textWithoutTrace } from "./trace.ts";

export class MemorySink implements MailSink {
  readonly users: Set<string>;
  /** Password hashes by user, for AUTH. */
  readonly passwords = new Map<string, string>();
  readonly delivered: NewMessage[] = [];
  /** When set, deliver() throws it (to test failures of the store). */
  failWith: unknown;

  constructor(users: Iterable<string> = []) {
    this.users = new Set(users);
  }

  userExists(address: string): boolean {
    return this.users.has(address);
  }

  passwordHash(address: string): string | undefined {
    return this.passwords.get(address);
  }

  deliver(message: NewMessage): void {
    if (this.failWith) throw this.failWith;
    this.delivered.push(message);
  }
}

/** The bytes of a delivered message. */
export function messageBytes(m: NewMessage): Uint8Array {
  return concatBytes(m.chunks);
}

/** The message as delivered, without our Return-Path and Received headers. */
export function bodyAfterTrace(m: NewMessage): string {
  return textWithoutTrace(messageBytes(m));
}
