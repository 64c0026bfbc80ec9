"""procs.py - a host process named by a pid file, as /proc sees it (for
tools/fleet.py and tools/monitor.py, which stop what they started)."""


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
