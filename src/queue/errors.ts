/**
 * The queue's own errors. The CLI decides what they mean for the user (`mail serve` exits 78,
 * EX_CONFIG, on a {@link QueueConfigError}); the queue knows nothing of exit statuses.
 *
 * @module
 */

/**
 * A queue setting that cannot be used: a file it names is unreadable, empty or of the wrong
 * kind. The message is one line and starts with the setting's name; it never holds a secret.
 */
export class QueueConfigError extends Error {
  override name = "QueueConfigError";
  /** The setting at fault, as in the TOML file and the flag (`smarthost-password-file`). */
  readonly setting: string;
  constructor(setting: string, detail: string, options?: ErrorOptions) {
    super(`${setting}: ${detail}`, options);
    this.setting = setting;
  }
}
