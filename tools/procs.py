"""procs.py - a host process named by a pid file, as /proc sees it (for
tools/fleet.py and tools/monitor.py, which stop what they started)."""

import os
import signal
import time


def read_pid(path):
    """The pid a pid file names, or None."""
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def proc_stat(pid):
    """(command name, state letter) of pid, or None when there is no such
    process. A zombie ("Z") has exited: only its parent's wait is due."""
    if not pid:
        return None
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.index("(") + 1:stat.rindex(")")], stat.rsplit(")", 1)[1].split()[0]


def pid_alive(pid):
    """True while pid runs (not yet exited; a zombie has)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    st = proc_stat(pid)     # a zombie still answers kill 0
    return st is not None and st[1] != "Z"


def stop_pid(pid, name, timeout, say):
    """SIGTERM to pid if it still is the process named name (a recorded
    pid may have been reused since), SIGKILL after timeout seconds (said
    with say). True if it ran."""
    st = proc_stat(pid)
    if st is None or st[0] != name[:15] or st[1] == "Z":
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            say("%s (pid %d) ignored SIGTERM for %d s; killing it" % (name, pid, timeout))
            os.kill(pid, signal.SIGKILL)
            time.sleep(0.5)
            break
        time.sleep(0.1)
    return True
