/**
 * Store errors, and the translation of SQLite's into them.
 *
 * `node:sqlite` in Deno 2.9 reports every SQLite failure as an Error with
 * `code: "ERR_SQLITE_ERROR"` and SQLite's own message text (`sqlite3_errmsg`), without the numeric
 * result code, so the translation reads the message. The texts matched are SQLite's fixed
 * strings for the primary result codes (https://www.sqlite.org/rescode.html).
 *
 * @module
 */

/** Why a store operation failed in a way the caller can act on. */
export class StoreError extends Error {
  readonly kind: "exists" | "not-found" | "no-mailbox" | "corrupt" | "io";
  constructor(kind: StoreError["kind"], message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StoreError";
    this.kind = kind;
  }
}

/** SQLITE_NOTADB, SQLITE_CORRUPT: the file is not (or no longer) a usable database. */
const CORRUPT = [/file is not a database/i, /database disk image is malformed/i];

/**
 * SQLITE_IOERR, SQLITE_CANTOPEN, SQLITE_PERM, SQLITE_READONLY, SQLITE_FULL, SQLITE_BUSY,
 * SQLITE_LOCKED, SQLITE_AUTH: the environment (permissions, disk, another process) got in the way.
 */
const IO = [
  /disk I\/O error/i,
  /unable to open database/i,
  /access permission denied/i,
  /readonly database/i,
  /database or disk is full/i,
  /database is locked/i,
  /database table is locked/i,
  /authorization denied/i,
];

/** Whether `e` came from SQLite through `node:sqlite`. */
export function isSqliteError(e: unknown): e is Error & { code: string } {
  return e instanceof Error && (e as { code?: unknown }).code === "ERR_SQLITE_ERROR";
}

/**
 * Converts a failure touching the database file at `path` into a StoreError.
 *
 * StoreErrors pass through unchanged, and so do errors that are not SQLite's or the file
 * system's (they are bugs, and should surface as such). `fallback` is the kind given to an
 * unrecognised SQLite error: while opening, a database we cannot migrate is "corrupt".
 */
export function toStoreError(
  e: unknown,
  path: string,
  fallback: "corrupt" | "io" = "io",
): unknown {
  if (e instanceof StoreError) return e;
  if (isSqliteError(e)) {
    if (CORRUPT.some((re) => re.test(e.message))) {
      return new StoreError("corrupt", `${path} is not a valid mail database: ${e.message}`, {
        cause: e,
      });
    }
    const kind = IO.some((re) => re.test(e.message)) ? "io" : fallback;
    const what = kind === "corrupt" ? "is not a usable mail database" : "could not be accessed";
    return new StoreError(kind, `${path} ${what}: ${e.message}`, { cause: e });
  }
  if (e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotCapable) {
    return new StoreError("io", `Permission denied for ${path}: ${e.message}`, { cause: e });
  }
  if (isFsError(e)) {
    return new StoreError("io", `Cannot access ${path}: ${(e as Error).message}`, { cause: e });
  }
  return e;
}

/** Errors from `node:fs` and `Deno.*` file operations carry an errno-style code or class. */
function isFsError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  return (typeof code === "string" && /^E[A-Z]+$/.test(code)) ||
    Object.values(Deno.errors).some((cls) => e instanceof cls);
}
