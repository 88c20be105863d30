#!/usr/bin/env python3
"""Drives a command on a pseudo-terminal, for tests of interactive prompts.

Usage: pty_drive.py STEPS_JSON -- COMMAND...
STEPS_JSON is a list of [pattern, keys]: wait until the output (ANSI escapes removed) since
the previous step matches the regular expression PATTERN, then type KEYS. Prints one JSON
object: {"status": exit status or null, "output": all output with escapes removed, "error"}.
Every wait is bounded (10 s), and the child is killed if it does not exit."""
import json, os, pty, re, select, signal, struct, sys, termios, fcntl, time

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\x1b[()][A-Z0-9]|\x1b[=>]")


def main():
    steps = json.loads(sys.argv[1])
    cmd = sys.argv[sys.argv.index("--") + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    raw = b""
    seen = 0
    error = None

    def read_some(timeout):
        nonlocal raw
        r, _, _ = select.select([fd], [], [], timeout)
        if not r:
            return True
        try:
            data = os.read(fd, 65536)
        except OSError:
            return False
        if not data:
            return False
        raw += data
        return True

    for pattern, keys in steps:
        deadline = time.time() + 10
        alive = True
        while True:
            text = ANSI.sub("", raw[seen:].decode("utf-8", "replace"))
            m = re.search(pattern, text)
            if m:
                seen += len(raw[seen:])
                break
            if time.time() > deadline or not alive:
                error = "timed out waiting for %r" % pattern
                break
            alive = read_some(0.2)
        if error:
            break
        time.sleep(0.15)  # let the prompt finish drawing before typing
        os.write(fd, keys.encode())

    status = None
    deadline = time.time() + 10
    while time.time() < deadline:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = os.waitstatus_to_exitcode(st)
            break
        read_some(0.1)
    if status is None:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        error = error or "did not exit"
    while read_some(0.05) and select.select([fd], [], [], 0)[0]:
        pass
    print(json.dumps({"status": status, "output": ANSI.sub("", raw.decode("utf-8", "replace")),
                      "error": error}))


main()
