"""vm.py - boots the appliance in QEMU for a test and talks to it.

Every VM runs under a timeout, is killed by its PID when the test ends,
and uses only user networking on loopback or a namespace the test made.
QEMU flags are chosen so that the machine adds no emulated noise of its
own (README.md, "QEMU flags"): no HPET, no default devices, no display."""

import os
import re
import signal
import subprocess
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ELF = os.path.join(TOP, "build", "appliance.elf")
ISO = os.path.join(TOP, "build", "appliance.iso")

_accel = None


def accel():
    global _accel
    if _accel is None:
        _accel = subprocess.run(["bash", os.path.join(TOP, "tools", "accel.sh")],
                                capture_output=True, text=True, check=True).stdout.strip()
    return _accel


def accel_args():
    if accel() == "kvm":
        return ["-accel", "kvm", "-cpu", "host"]
    return ["-accel", "tcg,thread=multi"]


class Vm:
    """One QEMU process. Serial output is collected in self.out."""

    def __init__(self, smp=1, mem="64M", cmdline="", iso=False, net=None, extra=None):
        self.args = ["qemu-system-x86_64", "-machine", "pc,hpet=off"] + accel_args() + [
            "-smp", str(smp), "-m", mem, "-nodefaults", "-no-user-config",
            "-display", "none", "-vga", "none", "-serial", "stdio", "-no-reboot"]
        if iso:
            self.args += ["-cdrom", ISO]
        else:
            self.args += ["-kernel", ELF, "-append", cmdline]
        if net:
            self.args += net
        if extra:
            self.args += extra
        self.out = ""
        self.stamps = []        # (length of out after a read, time.monotonic())
        self.proc = None
        self.t0 = None
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        fd = self.proc.stdout.fileno()
        while True:
            try:
                data = os.read(fd, 4096)
            except OSError:
                data = b""
            with self._cond:
                if not data:
                    self._cond.notify_all()
                    return
                self.out += data.decode("utf-8", "replace").replace("\r", "")
                self.stamps.append((len(self.out), time.monotonic()))
                self._cond.notify_all()

    @property
    def pid(self):
        return self.proc.pid

    def wait_for(self, pattern, timeout=60, start=0):
        """Waits until the serial log (from offset start) matches pattern;
        returns the match. Raises AssertionError with the log on timeout or
        when QEMU exits first."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                m = rx.search(self.out, start)
                if m:
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not m):
                    if self.proc.poll() is not None:
                        # give the reader a moment to drain the pipe
                        self._cond.wait(0.2)
                        m = rx.search(self.out, start)
                        if m:
                            return m
                    raise AssertionError("no %r within %ss; serial log:\n%s"
                                         % (pattern, timeout, self.tail()))
                self._cond.wait(min(left, 0.5))

    def seconds_to(self, match):
        """When the text of a wait_for match arrived, in seconds since
        QEMU started (to the read that brought it)."""
        with self._cond:
            for end, t in self.stamps:
                if end > match.start():
                    return t - self.t0
        return None

    def tail(self, n=40):
        return "\n".join(self.out.splitlines()[-n:])

    def cpu_ns(self):
        """Host CPU time of the QEMU process, all threads, in ns
        (schedstat's first field; /proc/<pid>/stat ticks are too coarse)."""
        total = 0
        base = "/proc/%d/task" % self.pid
        for tid in os.listdir(base):
            try:
                with open(os.path.join(base, tid, "schedstat")) as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
        return total

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
