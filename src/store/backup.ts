/**
 * A copy of the database before an upgrade changes its schema: if a migration, or the new
 * program, goes wrong, the previous state is one `cp` away (with the previous binary).
 *
 * The copy is a consistent snapshot even while another process (`mail serve`, `mail inbox`) has
 * the database open (see copyWhole), written next to it: `mail.sqlite.bak-schema<N>-<UTC time>`.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { copyFileSync, existsSync, renameSync, statSync } from "node:fs";
import { dirname } from "node:path";
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
  // Another process opening the database in the same second made the same backup.
  if (existsSync(target)) return target;
  try {
    copyWhole(db, path, target, version);
  } catch (e) {
    throw new StoreError(
      "io",
      `Cannot back up ${path} to ${target} before upgrading its schema: ${(e as Error).message}`,
      { cause: e },
    );
  }
  return target;
}

/** How often the write-ahead log is folded in again when a writer got in between. */
const ATTEMPTS = 5;

/**
 * Copies the database file to TARGET once it holds the whole database. Not with `VACUUM INTO`:
 * it attaches the target, and Deno allows no attached database without --allow-all (`-P=mail`
 * gets "too many attached databases - max 0"). node:sqlite's backup() is allowed but returns
 * a promise, and the store opens synchronously. So: a checkpoint folds the write-ahead log into
 * the file and empties it (https://www.sqlite.org/pragma.html#pragma_wal_checkpoint), then the
 * write lock keeps it empty while the file is copied: readers change nothing, and no writer
 * can commit. The copy is synced, then renamed into place, so a backup under its final name is
 * always whole. VERSION is the schema version the backup is named after.
 */
function copyWhole(db: DatabaseSync, path: string, target: string, version: number): void {
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    db.exec("BEGIN IMMEDIATE");
    try {
      // Another process got the lock first, made the backup and migrated: its copy stands, and
      // this one would be of the migrated database.
      if (schemaVersion(db) !== version || existsSync(target)) return;
      if (walEmpty(path)) {
        const part = `${target}.part`;
        copyFileSync(path, part);
        // A copy of a WAL database is one too, and would grow -wal and -shm files of its own
        // when opened: as a rollback-journal database it stays one file.
        const copy = new DatabaseSync(part);
        try {
          copy.exec("PRAGMA journal_mode = DELETE");
        } finally {
          copy.close();
        }
        syncPath(part);
        renameSync(part, target);
        // The backup's name is an entry of the directory, which the file's own sync does not
        // cover. (Windows cannot open a directory as a file.)
        if (Deno.build.os !== "windows") syncPath(dirname(target));
        return;
      }
    } finally {
      db.exec("ROLLBACK");
    }
  }
  throw new Error("its write-ahead log stayed busy with other connections; try again");
}

/** fsync of the file or directory at PATH: its data, or its entries, on disk. */
function syncPath(path: string): void {
  const handle = Deno.openSync(path, { read: true });
  try {
    handle.syncSync();
  } finally {
    handle.close();
  }
}

/** Whether the write-ahead log of the database at PATH holds nothing (or does not exist). */
function walEmpty(path: string): boolean {
  try {
    return statSync(`${path}-wal`).size === 0;
  } catch (e) {
    if ((e as { code?: unknown }).code === "ENOENT") return true;
    throw e;
  }
}
