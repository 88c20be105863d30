/**
 * Exit statuses, as sysexits(3) defines them and sendmail, Postfix and msmtp use them.
 *
 * @module
 */

export const EXIT = {
  OK: 0,
  USAGE: 64,
  DATAERR: 65,
  NOINPUT: 66,
  UNAVAILABLE: 69,
  SOFTWARE: 70,
  IOERR: 74,
  TEMPFAIL: 75,
  NOPERM: 77,
  CONFIG: 78,
} as const;

export type ExitCode = typeof EXIT[keyof typeof EXIT];

/**
 * A failure to report to the user as one line on stderr, with an exit status. Commands throw it;
 * `main.ts` prints it and exits. Anything else thrown is an internal error (70).
 */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode, options?: ErrorOptions) {
    super(message, options);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}
