#!/usr/bin/env python3
"""Side-by-side load comparison of `mail serve` and Postfix on loopback.

Needs Python 3 and Debian's postfix package (`apt-get install postfix`, "No configuration" is
enough), which brings the load generator `smtp-source`, the discard server `smtp-sink` and Postfix
itself. Run as root: Postfix's daemons start as root and drop to the `postfix` user.

Targets (each started fresh in every round, in an order that rotates from round to round so that
the machine's drift falls on all of them alike):
  mail     `mail serve` as `deno task serve` runs it (or a compiled binary, --mail-bin), on a
           scratch data directory, catch-all for example.test; every 250 is synced to disk.
  postfix  a private Postfix instance: its own main.cf, master.cf, queue and data directories in
           a scratch directory, smtpd on 127.0.0.1 only, mail for example.test delivered by
           virtual(8) into one Maildir, nothing relayed anywhere. Postfix syncs its queue file
           before its 250. The system's Postfix service is never started, stopped or read.
  sink     smtp-sink, which answers 250 and stores nothing: the ceiling of this machine.

Scenarios (smtp-source; one connection per message unless noted, 1 recipient unless noted):
  s1, s10, s50   1, 10 and 50 concurrent sessions
  s10-r10        10 sessions, 10 recipients per message
  s10-reuse      10 sessions, each sending its messages over one connection

For each scenario it reports messages/s and checks that every message sent was stored (rows of
`messages` for mail; delivered files for Postfix, one per recipient); it samples the memory of
each server during its load (RSS and PSS, summed over the process tree for Postfix). At the end: medians per target, the per-round ratios
mail/postfix and mail/sink with their medians, and peak RSS.

    sudo python3 bench/compare_postfix.py                        # 3 rounds x 2000 messages
    sudo python3 bench/compare_postfix.py --rounds 1 --messages 300 --targets mail,postfix

Everything listens and connects on 127.0.0.1 only; every wait has a bound and every load run a
time limit, and all servers it started are stopped on the way out (also on Ctrl-C).
"""

import argparse
import json
import os
import pwd
import resource
import shlex
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOST = "127.0.0.1"
DOMAIN = "example.test"

SCENARIOS = {
    "s1": dict(sessions=1, rcpts=1, reuse=False),
    "s10": dict(sessions=10, rcpts=1, reuse=False),
    "s50": dict(sessions=50, rcpts=1, reuse=False),
    "s10-r10": dict(sessions=10, rcpts=10, reuse=False),
    "s10-reuse": dict(sessions=10, rcpts=1, reuse=True),
}


class BenchError(Exception):
    """A failure that ends the run with one line on stderr."""


# ---------------------------------------------------------------------------------------------
# Processes and memory


def process_tree(root_pid):
    """The pid and every descendant of it, from /proc."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the fields start after the last ")".
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(name))
    out, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def status_kib(pid, field):
    """A `VmRSS`/`VmHWM`-style field of /proc/PID/status in KiB, 0 when the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kib(pid):
    """Proportional set size of a process in KiB: its shared pages divided among their users, so
    that the sum over many processes (Postfix's) does not count shared code and libraries again
    for each. 0 when the process is gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class MemorySampler(threading.Thread):
    """Samples the summed RSS and PSS of a process tree until stopped; keeps the peaks (KiB)."""

    def __init__(self, root_pid, interval=0.25, limit_s=3600):
        super().__init__(daemon=True)
        self.root_pid, self.interval, self.limit_s = root_pid, interval, limit_s
        self.peak_rss_kib = self.peak_pss_kib = 0
        self._halt = threading.Event()

    def run(self):
        end = time.monotonic() + self.limit_s
        while not self._halt.is_set() and time.monotonic() < end:
            pids = process_tree(self.root_pid)
            self.peak_rss_kib = max(self.peak_rss_kib, sum(status_kib(p, "VmRSS") for p in pids))
            self.peak_pss_kib = max(self.peak_pss_kib, sum(pss_kib(p) for p in pids))
            self._halt.wait(self.interval)

    def stop(self):
        self._halt.set()
        self.join(5)


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
            return True
        except OSError:
            return False


def wait_for_greeting(port, proc, timeout_s):
    """Waits (bounded) until a 220 greeting comes from HOST:port; False if it never does."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection((HOST, port), timeout=2) as s:
                s.settimeout(5)
                if s.recv(512).startswith(b"220"):
                    s.sendall(b"QUIT\r\n")
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def stop_process(proc, grace_s=15):
    """SIGTERM to a process we started (its own session), then SIGKILL after the grace."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(5)


# ---------------------------------------------------------------------------------------------
# Targets


class Target:
    """One server under test: start() on its port with state in `workdir`, stop(), stored()."""

    name = ""

    def __init__(self, port, workdir):
        self.port, self.workdir = port, workdir

    def start(self):
        raise NotImplementedError

    def stop(self):
        raise NotImplementedError

    def root_pid(self):
        raise NotImplementedError

    def stored(self):
        """Messages (mail) or deliveries (Postfix) stored so far; None when it stores nothing."""
        return None

    def settle(self, timeout_s):
        """Waits until accepted mail is where stored() counts it; returns the seconds it took."""
        return 0.0

    def expected(self, messages, rcpts):
        return messages


class MailServe(Target):
    name = "mail"

    def __init__(self, port, workdir, argv_prefix):
        super().__init__(port, workdir)
        self.argv_prefix = argv_prefix
        self.proc = None
        self.data = os.path.join(workdir, "data")

    def start(self):
        argv = self.argv_prefix + [
            "--data", self.data, "--smtp", f"{HOST}:{self.port}", "--submission", "off", "--imap", "off", "--pop3", "off",
            "--domain", DOMAIN, "--catch-all", "--hostname", "mail.bench.example.test",
            # smtp-source connects from one address; the per-address cap is a defence, not load.
            "--max-connections-per-ip", "5000",
        ]
        log = open(os.path.join(self.workdir, "server.log"), "wb")
        self.proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        if not wait_for_greeting(self.port, self.proc, 120):
            raise BenchError(f"mail serve did not greet on port {self.port}: "
                             + tail(os.path.join(self.workdir, "server.log")))

    def stop(self):
        stop_process(self.proc)

    def root_pid(self):
        return self.proc.pid

    def stored(self):
        path = os.path.join(self.data, "mail.sqlite")
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            return db.execute("SELECT count(*) FROM messages").fetchone()[0]
        finally:
            db.close()


class Postfix(Target):
    name = "postfix"

    def __init__(self, port, workdir):
        super().__init__(port, workdir)
        self.conf = os.path.join(workdir, "conf")
        self.queue = os.path.join(workdir, "queue")
        self.maildir = os.path.join(workdir, "mail")
        self.started = False

    def _postfix(self, *args, timeout_s=60):
        return subprocess.run(["postfix", "-c", self.conf, *args], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout_s)

    def start(self):
        nobody = pwd.getpwnam("nobody")
        for d in (self.conf, self.queue, os.path.join(self.workdir, "data"), self.maildir):
            os.makedirs(d, exist_ok=True)
        shutil.chown(os.path.join(self.workdir, "data"), "postfix", "postfix")
        os.chown(self.maildir, nobody.pw_uid, nobody.pw_gid)
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(postfix_main_cf(self.workdir, self.conf, nobody))
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(postfix_master_cf(self.port))
        self._make_queue()
        r = self._postfix("start")
        if r.returncode != 0:
            raise BenchError("postfix start failed: " + (r.stderr + r.stdout).strip()[-300:])
        self.started = True
        if not wait_for_greeting(self.port, None, 60):
            raise BenchError(f"the private Postfix did not greet on port {self.port}: "
                             + tail(os.path.join(self.workdir, "maillog")))

    def _make_queue(self):
        """The queue's subdirectories with the owners and modes of Debian's postfix-files.

        Made here rather than by `postfix set-permissions`, which also walks the system's
        Postfix files: this instance touches nothing outside its scratch directory."""
        for name, owner, group, mode in QUEUE_DIRS:
            path = os.path.join(self.queue, name)
            os.makedirs(path, exist_ok=True)
            shutil.chown(path, owner, group)
            os.chmod(path, mode)

    def stop(self):
        if not self.started:
            return
        master = self.root_pid()
        self._postfix("stop")
        end = time.monotonic() + 20
        while master and os.path.exists(f"/proc/{master}") and time.monotonic() < end:
            time.sleep(0.1)
        if master and os.path.exists(f"/proc/{master}"):
            self._postfix("abort")
        self.started = False

    def root_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return 0

    def _queued(self):
        n = 0
        for q in ("maildrop", "incoming", "active", "deferred", "hold"):
            for _, _, files in os.walk(os.path.join(self.queue, q)):
                n += len(files)
        return n

    def settle(self, timeout_s):
        t0 = time.monotonic()
        while self._queued() and time.monotonic() - t0 < timeout_s:
            time.sleep(0.05)
        return time.monotonic() - t0

    def stored(self):
        box = os.path.join(self.maildir, "catchall")
        return sum(len(os.listdir(os.path.join(box, sub))) for sub in ("new", "cur")
                   if os.path.isdir(os.path.join(box, sub)))

    def expected(self, messages, rcpts):
        # virtual(8) writes one file per recipient, even when they share the mailbox.
        return messages * rcpts


class Sink(Target):
    name = "sink"

    def __init__(self, port, workdir):
        super().__init__(port, workdir)
        self.proc = None

    def start(self):
        argv = ["smtp-sink", "-h", "sink.bench.example.test", "-m", "5000", "-t", "300"]
        if os.geteuid() == 0:
            argv += ["-u", "nobody"]
        argv += [f"{HOST}:{self.port}", "1024"]
        log = open(os.path.join(self.workdir, "server.log"), "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        if not wait_for_greeting(self.port, self.proc, 30):
            raise BenchError("smtp-sink did not greet: " + tail(os.path.join(self.workdir, "server.log")))

    def stop(self):
        stop_process(self.proc)

    def root_pid(self):
        return self.proc.pid


# (name, owner, group, mode) of each queue subdirectory, as Postfix 3.x's postfix-files has them.
QUEUE_DIRS = [("pid", "root", "root", 0o755), ("maildrop", "postfix", "postdrop", 0o730),
              ("public", "postfix", "postdrop", 0o710)] + [
    (name, "postfix", "root", 0o700)
    for name in ("active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming",
                 "private", "saved", "trace")]


def postfix_main_cf(workdir, conf, nobody):
    return f"""\
# A private, durable Postfix for the benchmark; written by bench/compare_postfix.py.
compatibility_level = 3.6
config_directory = {conf}
queue_directory = {workdir}/queue
data_directory = {workdir}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.bench.example.test
mydomain = bench.example.test
myorigin = $myhostname
mydestination =
inet_interfaces = {HOST}
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
append_dot_mydomain = no
biff = no
alias_maps =
alias_database =
local_recipient_maps =
# Every recipient in {DOMAIN} lands in one Maildir (the trailing slash makes it a Maildir).
virtual_mailbox_domains = {DOMAIN}
virtual_mailbox_base = {workdir}/mail
virtual_mailbox_maps = static:catchall/
virtual_uid_maps = static:{nobody.pw_uid}
virtual_gid_maps = static:{nobody.pw_gid}
virtual_mailbox_limit = 0
# Nothing leaves this machine: every other destination fails at once.
relayhost =
default_transport = error:5.7.1 benchmark instance delivers nothing outside
relay_transport = error:5.7.1 benchmark instance delivers nothing outside
smtp_dns_support_level = disabled
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
# smtp-source comes from one address: no per-client limits, no reverse lookups.
smtpd_peername_lookup = no
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
smtpd_client_recipient_rate_limit = 0
smtpd_recipient_limit = 1000
message_size_limit = 52428800
default_process_limit = 200
maillog_file = {workdir}/maillog
maillog_file_prefixes = {workdir}
"""


def postfix_master_cf(port):
    return f"""\
# service type private unpriv chroot wakeup maxproc command
{HOST}:{port} inet n - n - 200 smtpd
pickup     unix  n - n 60 1 pickup
cleanup    unix  n - n -  0 cleanup
qmgr       unix  n - n 300 1 qmgr
rewrite    unix  - - n -  - trivial-rewrite
bounce     unix  - - n -  0 bounce
defer      unix  - - n -  0 bounce
trace      unix  - - n -  0 bounce
verify     unix  - - n -  1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -  - proxymap
proxywrite unix  - - n -  1 proxymap
showq      unix  n - n -  - showq
error      unix  - - n -  - error
retry      unix  - - n -  - error
discard    unix  - - n -  - discard
virtual    unix  - n n -  - virtual
anvil      unix  - - n -  1 anvil
scache     unix  - - n -  1 scache
postlog    unix-dgram n - n - 1 postlogd
"""


def tail(path, n=400):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:].strip().replace("\n", " | ")
    except OSError:
        return "(no log)"


# ---------------------------------------------------------------------------------------------
# Load


def smtp_source(port, messages, sessions, size_kb, rcpts, reuse, timeout_s):
    """Runs smtp-source once; returns (seconds, client CPU seconds, error or None)."""
    argv = ["smtp-source", "-4", "-s", str(sessions), "-m", str(messages),
            "-l", str(size_kb * 1024), "-r", str(rcpts), "-N",
            "-M", "client.bench.example.test", "-f", f"from@{DOMAIN}", "-t", f"to@{DOMAIN}"]
    if reuse:
        argv.append("-d")
    argv.append(f"{HOST}:{port}")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    try:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout_s)
        error = None if r.returncode == 0 else f"exit {r.returncode}: {r.stderr.strip()[-200:]}"
    except subprocess.TimeoutExpired:
        error = f"took longer than {timeout_s} s"
    seconds = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu, error


# ---------------------------------------------------------------------------------------------
# The run


def mail_argv(args):
    if args.mail_bin:
        return [os.path.abspath(args.mail_bin), "serve"]
    deno = args.deno or shutil.which("deno")
    if not deno:
        raise BenchError("deno is not on PATH: pass --deno PATH, or --mail-bin PATH for a built binary")
    with open(os.path.join(ROOT, "deno.json")) as f:
        task = json.load(f)["tasks"]["serve"]
    # The serve task is how users start the server from source: the same permission set and
    # runtime flags as the compiled binary.
    argv = shlex.split(task)
    if argv[0] != "deno":
        raise BenchError(f"unexpected serve task in deno.json: {task}")
    return [deno] + argv[1:]


def check_tools(targets):
    need = ["smtp-source"]
    if "postfix" in targets:
        need.append("postfix")
        if os.geteuid() != 0:
            raise BenchError("the private Postfix needs root to start (its daemons drop privileges): run with sudo")
        try:
            pwd.getpwnam("postfix")
        except KeyError:
            raise BenchError("no postfix user: apt-get install postfix")
    if "sink" in targets:
        need.append("smtp-sink")
    for tool in need:
        if not shutil.which(tool):
            raise BenchError(f"{tool} not found: DEBIAN_FRONTEND=noninteractive apt-get install -y postfix")


def median(values):
    return statistics.median(values) if values else None


def fmt(value, digits=0):
    return "n/a" if value is None else f"{value:.{digits}f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument("--messages", type=int, default=2000, help="messages per scenario (default 2000)")
    ap.add_argument("--size-kb", type=int, default=4, help="message size in KiB (default 4)")
    ap.add_argument("--warmup", type=int, default=200, help="messages sent before measuring (default 200)")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated (default: all)")
    ap.add_argument("--targets", default="mail,postfix,sink", help="comma-separated (default: mail,postfix,sink)")
    ap.add_argument("--mail-port", type=int, default=3525)
    ap.add_argument("--postfix-port", type=int, default=3526)
    ap.add_argument("--sink-port", type=int, default=3527)
    ap.add_argument("--mail-bin", help="a compiled mail binary instead of `deno task serve`'s command")
    ap.add_argument("--deno", help="the deno executable (default: deno on PATH)")
    ap.add_argument("--timeout", type=int, default=300, help="seconds one load run may take (default 300)")
    ap.add_argument("--json", metavar="FILE", help="also write one JSON line per measurement to FILE")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directories")
    args = ap.parse_args()

    scenarios = [s for s in args.scenarios.split(",") if s]
    targets = [t for t in args.targets.split(",") if t]
    for s in scenarios:
        if s not in SCENARIOS:
            raise BenchError(f"unknown scenario {s}: choose from {', '.join(SCENARIOS)}")
    for t in targets:
        if t not in ("mail", "postfix", "sink"):
            raise BenchError(f"unknown target {t}: choose from mail, postfix, sink")
    if not 1 <= args.rounds <= 20 or not 1 <= args.messages <= 100000:
        raise BenchError("--rounds must be 1..20 and --messages 1..100000")
    check_tools(targets)
    ports = {"mail": args.mail_port, "postfix": args.postfix_port, "sink": args.sink_port}
    for t in targets:
        if not port_free(ports[t]):
            raise BenchError(f"port {ports[t]} on {HOST} is in use (--{t}-port)")
    argv = mail_argv(args) if "mail" in targets else None

    out = open(args.json, "a") if args.json else None
    results = []  # dicts: round, target, scenario, msgs_per_s, ...

    def record(rec):
        results.append(rec)
        if out:
            out.write(json.dumps(rec) + "\n")
            out.flush()

    running = []

    def on_signal(signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    print(f"{started}: {args.rounds} round(s) x {len(scenarios)} scenario(s) x {args.messages} "
          f"messages of {args.size_kb} KiB; targets {', '.join(targets)}", flush=True)
    try:
        for rnd in range(args.rounds):
            order = targets[rnd % len(targets):] + targets[:rnd % len(targets)]
            for name in order:
                workdir = tempfile.mkdtemp(prefix=f"compare-{name}-")
                os.chmod(workdir, 0o755)
                if name == "mail":
                    target = MailServe(ports[name], workdir, argv)
                elif name == "postfix":
                    target = Postfix(ports[name], workdir)
                else:
                    target = Sink(ports[name], workdir)
                running.append(target)
                try:
                    target.start()
                    idle_kib = sum(status_kib(p, "VmRSS") for p in process_tree(target.root_pid()))
                    smtp_source(target.port, args.warmup, 10, args.size_kb, 1, False, args.timeout)
                    target.settle(args.timeout)
                    sampler = MemorySampler(target.root_pid())
                    sampler.start()
                    for scen in scenarios:
                        sc = SCENARIOS[scen]
                        before = target.stored()
                        secs, cpu, error = smtp_source(target.port, args.messages, sc["sessions"],
                                                       args.size_kb, sc["rcpts"], sc["reuse"],
                                                       args.timeout)
                        settle_s = target.settle(args.timeout)
                        after = target.stored()
                        rec = dict(round=rnd + 1, target=name, scenario=scen,
                                   messages=args.messages, seconds=round(secs, 3),
                                   msgs_per_s=None if error else round(args.messages / secs, 1),
                                   client_cpu_s=round(cpu, 2))
                        if before is not None:
                            rec["stored"] = after - before
                            rec["expected"] = target.expected(args.messages, sc["rcpts"])
                        if name == "postfix":
                            rec["drain_s"] = round(settle_s, 2)
                        if error:
                            rec["error"] = error
                        record(rec)
                        stored = "" if "stored" not in rec else f"  stored {rec['stored']}/{rec['expected']}"
                        print(f"round {rnd + 1} {name:8} {scen:10} {fmt(rec['msgs_per_s'], 1):>8} msgs/s"
                              f"{stored}{'  ERROR ' + error if error else ''}", flush=True)
                    sampler.stop()
                    record(dict(round=rnd + 1, target=name, scenario="memory", idle_rss_kib=idle_kib,
                                peak_rss_kib=sampler.peak_rss_kib,
                                peak_pss_kib=sampler.peak_pss_kib,
                                processes=len(process_tree(target.root_pid()))))
                finally:
                    target.stop()
                    running.remove(target)
                    if not args.keep:
                        shutil.rmtree(workdir, ignore_errors=True)
                    else:
                        print(f"kept {workdir}")
    except KeyboardInterrupt:
        print("interrupted: stopping the servers", file=sys.stderr)
        for target in running:
            target.stop()
        return 130
    finally:
        if out:
            out.close()

    report(results, targets, scenarios, args)
    return 0


def report(results, targets, scenarios, args):
    def rate(target, scen):
        return {r["round"]: r["msgs_per_s"] for r in results
                if r["target"] == target and r["scenario"] == scen and r.get("msgs_per_s")}

    print(f"\nmessages/s, median of {args.rounds} round(s) ({args.messages} x {args.size_kb} KiB):\n")
    print(f"| {'target':8} | " + " | ".join(f"{s:>9}" for s in scenarios) + " |")
    print(f"| {'-' * 8} | " + " | ".join("-" * 9 for _ in scenarios) + " |")
    for t in targets:
        cells = [fmt(median(list(rate(t, s).values())), 0) for s in scenarios]
        print(f"| {t:8} | " + " | ".join(f"{c:>9}" for c in cells) + " |")

    for base in ("postfix", "sink"):
        if "mail" not in targets or base not in targets:
            continue
        print(f"\nmail / {base} (>1: mail faster); per round, then the median:\n")
        for s in scenarios:
            a, b = rate("mail", s), rate(base, s)
            ratios = [a[k] / b[k] for k in sorted(a) if k in b and b[k] > 0]
            rounds = " ".join(f"{x:.2f}" for x in ratios)
            print(f"  {s:10} {rounds:24} median {fmt(median(ratios), 2)}")

    print("\nmemory in MiB, medians over the rounds (a target of several processes: their sum;"
          " PSS shares pages among the processes that map them):\n")
    for t in targets:
        mem = [r for r in results if r["target"] == t and r["scenario"] == "memory"]
        if not mem:
            continue
        idle = median([r["idle_rss_kib"] / 1024 for r in mem])
        rss = median([r["peak_rss_kib"] / 1024 for r in mem])
        pss = median([r["peak_pss_kib"] / 1024 for r in mem])
        peaks = ", ".join(f"{r['peak_rss_kib'] / 1024:.1f}" for r in mem)
        print(f"  {t:8} idle RSS {fmt(idle, 1)}; peak during load: RSS {fmt(rss, 1)}"
              f" (rounds: {peaks}), PSS {fmt(pss, 1)}")

    checked = [r for r in results if "stored" in r]
    wrong = [r for r in checked if r["stored"] != r["expected"]]
    failed = [r for r in results if r.get("error")]
    print(f"\nstored counts checked: {len(checked)}, differing from what was sent: {len(wrong)}; "
          f"failed load runs: {len(failed)}")
    for r in (wrong + failed)[:10]:
        print("  ", {k: r.get(k) for k in ("round", "target", "scenario", "stored", "expected", "error")})


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        print(f"compare_postfix: {e}", file=sys.stderr)
        sys.exit(1)
