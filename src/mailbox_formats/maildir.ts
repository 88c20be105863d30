/**
 * Maildir (https://cr.yp.to/proto/maildir.html): one file per message, exactly its bytes, in
 * DIR/new (not yet seen) or DIR/cur (seen, with the `:2,S` info suffix). Each file is written
 * in DIR/tmp, flushed to disk, then renamed into place, so a reader never sees half a message.
 *
 * File names are `SECONDS.MMICROSPPIDQN.HOST,S=SIZE`: the time is when the message was received
 * (so sorting by name sorts by arrival), `Q` a counter, `S=` the size (Dovecot's extension).
 *
 * @module
 */
import { join } from "node:path";

/** `:` separates the info part; Windows file names cannot contain it, so `;` there. */
export const INFO_SEPARATOR = Deno.build.os === "windows" ? ";" : ":";

const SUBDIRS = ["tmp", "new", "cur"] as const;

/** Creates DIR and its tmp, new and cur (mode 0700: it is someone's mail). */
export async function createMaildir(dir: string): Promise<void> {
  for (const sub of SUBDIRS) await Deno.mkdir(join(dir, sub), { recursive: true, mode: 0o700 });
}

/** The host part of a unique name, with `/` and `:` escaped as the specification says. */
export function maildirHost(hostname: string): string {
  return hostname.replaceAll("/", "\\057").replaceAll(":", "\\072").replaceAll(";", "\\073") ||
    "localhost";
}

/** A unique base name for a message received at MS. */
export function uniqueName(ms: number, seq: number, host: string, size: number): string {
  const seconds = Math.floor(ms / 1000);
  const micros = (ms - seconds * 1000) * 1000;
  return `${seconds}.M${micros}P${Deno.pid}Q${seq}.${host},S=${size}`;
}

/** Writes one message; returns its path. */
export async function writeMaildirMessage(
  dir: string,
  name: string,
  bytes: Uint8Array,
  seen: boolean,
): Promise<string> {
  const tmp = join(dir, "tmp", name);
  const final = seen ? join(dir, "cur", `${name}${INFO_SEPARATOR}2,S`) : join(dir, "new", name);
  const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
  try {
    for (let off = 0; off < bytes.length;) off += await file.write(bytes.subarray(off));
    await file.syncData();
  } catch (e) {
    file.close();
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  file.close();
  await Deno.rename(tmp, final);
  return final;
}

/** A message found in a maildir. */
export interface MaildirMessage {
  readonly path: string;
  /** From the file name's time, else the file's modification time. */
  readonly receivedAt: number | undefined;
  /** The `S` flag (or any message in cur/ whose info has it). */
  readonly seen: boolean;
}

/** Compares names with their digit runs as numbers (`Q2` before `Q10`). */
const NATURAL = new Intl.Collator("en", { numeric: true });

/** Sort key and time from a unique name: `SECONDS[.M<micro>...]`. */
function nameTime(name: string): { ms: number; micros: number } | undefined {
  const m = /^(\d+)\.(?:[^.]*?M(\d+))?/.exec(name);
  if (!m) return undefined;
  const micros = Number(m[2] ?? 0);
  return { ms: Number(m[1]) * 1000 + Math.floor(micros / 1000), micros };
}

/**
 * Lists the messages of a maildir (new/ and cur/, never tmp/), oldest first by the time in the
 * file name, then by name. Throws Deno.errors.NotFound when DIR has neither cur nor new.
 */
export async function listMaildir(dir: string): Promise<MaildirMessage[]> {
  const found: (MaildirMessage & { name: string; key: number })[] = [];
  let subdirs = 0;
  for (const sub of ["new", "cur"] as const) {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(join(dir, sub)));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) continue;
      throw e;
    }
    subdirs++;
    for (const entry of entries) {
      if (!entry.isFile || entry.name.startsWith(".")) continue;
      const path = join(dir, sub, entry.name);
      const sep = entry.name.lastIndexOf(`${INFO_SEPARATOR}2,`);
      const flags = sep < 0 ? "" : entry.name.slice(sep + 3);
      const t = nameTime(entry.name);
      let receivedAt = t?.ms;
      if (receivedAt === undefined) {
        receivedAt = (await Deno.stat(path)).mtime?.getTime();
      }
      found.push({
        path,
        name: entry.name,
        receivedAt,
        seen: flags.includes("S"),
        key: (t?.ms ?? receivedAt ?? 0) * 1000 + ((t?.micros ?? 0) % 1000),
      });
    }
  }
  if (subdirs === 0) throw new Deno.errors.NotFound(`${dir} is not a maildir (no cur/ or new/)`);
  found.sort((a, b) => a.key - b.key || NATURAL.compare(a.name, b.name));
  return found.map(({ path, receivedAt, seen }) => ({ path, receivedAt, seen }));
}
