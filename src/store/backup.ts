/**
 * A copy of the database before an upgrade changes its schema: if a migration, or the new
 * program, goes wrong, the previous state is one `cp` away (with the previous binary).
 *
 * The copy is made with `VACUUM INTO` (https://www.sqlite.org/lang_vacuum.html#vacuuminto): a
 * consistent snapshot even while another process (`mail serve`, `mail inbox`) has the database
 * open, written as a new compact file next to it: `mail.sqlite.bak-schema<N>-<UTC time>`.
 *
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import { existsSync } from "node:fs";
import { SCHEMA_VERSION, schemaVersion } from "./schema.ts";
import { StoreError } from "./errors.ts";

/** `20261128T120648Z` */
function stamp(now: Date): string {
  return now.toISOString().replace(/\.\d+Z$/, "Z").replace(/[-:]/g, "");
}

/** The backup file name for a database at PATH with schema VERSION. */
export function backupPath(path: string, version: number, now: Date = new Date()): string {
  return `${path}.bak-schema${version}-${stamp(now)}`;
}

/**
 * Backs up the database at PATH when it exists with data (schema version > 0) and migrations
 * up to LATEST are pending; returns the backup's path, or undefined when none was needed. A new
 * database has nothing to back up. Must be called outside a transaction. Throws StoreError("io")
 * when the copy cannot be made: an upgrade does not go ahead without its backup.
 */
export function backupBeforeMigrate(
  db: DatabaseSync,
  path: string,
  latest: number = SCHEMA_VERSION,
  now: Date = new Date(),
): string | undefined {
  const version = schemaVersion(db);
  if (version === 0 || version >= latest) return undefined;
  const target = backupPath(path, version, now);
  try {
    // VACUUM INTO takes a file name, not a bound parameter: quote it as an SQL string literal.
    db.exec(`VACUUM INTO '${target.replaceAll("'", "''")}'`);
  } catch (e) {
    // Another process opening the database in the same second made the same backup.
    if (existsSync(target) && schemaVersion(db) === version) return target;
    throw new StoreError(
      "io",
      `Cannot back up ${path} to ${target} before upgrading its schema: ${(e as Error).message}`,
      { cause: e },
    );
  }
  return target;
}
