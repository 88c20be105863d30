/**
 * The error of a certificate or key that cannot be used, and the one-line texts it is made of.
 *
 * @module
 */

/** A certificate or key that cannot be used; the message is one line naming the file. */
export class TlsConfigError extends Error {
  override name = "TlsConfigError";
  /** The file at fault, when there is one. */
  readonly file: string | undefined;
  constructor(message: string, file?: string) {
    super(oneLine(file === undefined ? message : `${file}: ${message}`));
    this.file = file;
  }
}

/** S on one line: line breaks and the blanks around them become one space. */
export function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, " ").trim();
}

/** The message of E (any thrown value) on one line. */
export function errorText(e: unknown): string {
  return oneLine(e instanceof Error ? e.message : String(e));
}
