/**
 * A private Dovecot for the IMAP benchmarks: its own configuration, Maildir, sockets and log
 * in a scratch directory, listening on loopback ports of its own; never the system's service.
 * It needs Debian's `dovecot-imapd` and root (Dovecot's processes drop to the `dovecot` user).
 *
 * The configuration is Dovecot's defaults (a process per IMAP session, as shipped) with the
 * limits raised for a thousand sessions of one user, and IDLE's check every second where
 * inotify runs out (the kernel gives each user 128 inotify instances).
 *
 * @module
 */
import type { BenchMessage } from "./imap_corpus.ts";

/** A running private Dovecot. */
export interface Dovecot {
  readonly port: number;
  readonly tlsPort: number;
  /** Its processes' ids (the master and every child). */
  pids(): number[];
  /** Delivers MESSAGE to USER's INBOX with dovecot-lda; resolves when it has. */
  deliver(user: string, message: Uint8Array): Promise<void>;
  stop(): Promise<void>;
}

/** Why Dovecot cannot run here, or undefined when it can. */
export function dovecotMissing(): string | undefined {
  try {
    Deno.statSync("/usr/sbin/dovecot");
  } catch {
    return "Dovecot is not installed (apt-get install dovecot-imapd)";
  }
  if (Deno.uid() !== 0) return "Dovecot's reference instance needs root";
  return undefined;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

function dovecotUser(): { uid: number; gid: number } {
  const line = Deno.readTextFileSync("/etc/passwd").split("\n").find((l) =>
    l.startsWith("dovecot:")
  );
  if (!line) throw new Error("No dovecot user in /etc/passwd");
  const f = line.split(":");
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

/** Maildir flags of a message (RFC-less but Dovecot's: sorted letters after `:2,`). */
function maildirName(i: number, m: BenchMessage): string {
  const flags = (m.flagged ? "F" : "") + (m.seen ? "S" : "");
  const size = m.bytes.length;
  // S= and W= as Dovecot's own delivery writes them: sizes known without reading the file.
  return `${Math.floor(m.receivedAt / 1000)}.M${i}P1.bench,S=${size},W=${size}:2,${flags}`;
}

/**
 * Starts Dovecot with the INBOX of each user of USERS (password `pass`) holding its messages,
 * its TLS listener using the PEM files CERT and KEY.
 */
export async function startDovecot(
  users: Readonly<Record<string, readonly BenchMessage[]>>,
  cert: string,
  key: string,
): Promise<Dovecot> {
  const dir = await Deno.makeTempDir({ prefix: "dovecot-bench-" });
  await Deno.chmod(dir, 0o755);
  const { uid, gid } = dovecotUser();
  for (const [user, messages] of Object.entries(users)) {
    await writeMaildir(`${dir}/home/${user}`, messages, uid, gid);
  }
  await Deno.chown(`${dir}/home`, uid, gid);
  const port = freePort();
  const tlsPort = freePort();
  const conf = `${dir}/dovecot.conf`;
  await Deno.writeTextFile(
    conf,
    `
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <${cert}
ssl_key = <${key}
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = ${uid}
mail_location = maildir:~/Maildir
mailbox_idle_check_interval = 1 secs
default_client_limit = 4000
default_process_limit = 2000
passdb {
  driver = static
  args = password=pass
}
userdb {
  driver = static
  args = uid=${uid} gid=${gid} home=${dir}/home/%u
}
protocol imap {
  mail_max_userip_connections = 5000
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = ${tlsPort}
    ssl = yes
  }
  chroot =
  process_limit = 2000
}
service imap {
  process_limit = 2000
}
service anvil {
  chroot =
}
`,
  );
  // Its daemon keeps whatever it inherits open: no pipes, or waiting for them never ends.
  const started = await new Deno.Command("/usr/sbin/dovecot", {
    args: ["-c", conf],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).output();
  if (!started.success) {
    const log = await Deno.readTextFile(`${dir}/dovecot.log`).catch(() => "");
    throw new Error(`Dovecot did not start (status ${started.code}): ${log.slice(-2000)}`);
  }
  // Ready once it accepts a connection (bounded: 10 s).
  for (let tries = 0;; tries++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      Deno.statSync(`${dir}/run/master.pid`);
      break;
    } catch (e) {
      if (tries > 100) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const master = Number(Deno.readTextFileSync(`${dir}/run/master.pid`).trim());
  return {
    port,
    tlsPort,
    pids: () => descendants(master),
    async deliver(user, message) {
      const lda = new Deno.Command("/usr/lib/dovecot/dovecot-lda", {
        args: ["-c", conf, "-d", user, "-f", "sender@example.test"],
        stdin: "piped",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      const w = lda.stdin.getWriter();
      await w.write(message);
      await w.close();
      const out = await lda.output();
      if (!out.success) {
        throw new Error(`dovecot-lda failed: ${new TextDecoder().decode(out.stderr)}`);
      }
    },
    async stop() {
      await new Deno.Command("/usr/bin/doveadm", {
        args: ["-c", conf, "stop"],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).output();
      // The master removes its pid file as it exits; wait for that (bounded) before removing.
      for (let tries = 0; tries < 100; tries++) {
        try {
          Deno.statSync(`/proc/${master}`);
          await new Promise((r) => setTimeout(r, 100));
        } catch {
          break;
        }
      }
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A Maildir in HOME with MESSAGES in its INBOX (cur/), owned by UID and GID. */
async function writeMaildir(
  home: string,
  messages: readonly BenchMessage[],
  uid: number,
  gid: number,
): Promise<void> {
  const maildir = `${home}/Maildir`;
  for (const sub of ["cur", "new", "tmp"]) {
    await Deno.mkdir(`${maildir}/${sub}`, { recursive: true });
  }
  let i = 0;
  for (const m of messages) {
    const path = `${maildir}/cur/${maildirName(++i, m)}`;
    await Deno.writeFile(path, m.bytes);
    const when = new Date(m.receivedAt);
    await Deno.utime(path, when, when);
    await Deno.chown(path, uid, gid);
  }
  for (const p of [home, maildir, `${maildir}/cur`, `${maildir}/new`, `${maildir}/tmp`]) {
    await Deno.chown(p, uid, gid);
  }
}

/** PID and every process below it. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(e.name));
      children.set(ppid, list);
    } catch {
      // Gone meanwhile.
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return out;
}

/** Proportional set size of the processes PIDS together, in KiB (shared pages shared out). */
export function pssKiB(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const text = Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`);
      total += Number(/^Pss:\s+(\d+)/m.exec(text)?.[1] ?? 0);
    } catch {
      // Exited meanwhile.
    }
  }
  return total;
}

/** Resident set size of the processes PIDS added up, in KiB. */
export function rssKiB(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const text = Deno.readTextFileSync(`/proc/${pid}/status`);
      total += Number(/VmRSS:\s+(\d+)/.exec(text)?.[1] ?? 0);
    } catch {
      // Exited meanwhile.
    }
  }
  return total;
}
