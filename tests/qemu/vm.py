"""vm.py - boots the appliance in QEMU for a test and talks to it.

Every VM runs under a timeout, is killed by its PID when the test ends,
and uses only user networking on loopback or a namespace the test made.
QEMU flags are chosen so that the machine adds no emulated noise of its
own (README.md, "QEMU flags"): no HPET, no default devices, no display.

Two QEMUs: Debian 12's 7.2 (qemu-system-x86_64 on the PATH, the default)
and 10.0 from bookworm-backports, unpacked under build/third_party/qemu10
by tools/qemu10.sh (Vm(qemu="10")). Only 10 can boot more than 255 vCPUs
under TCG: it emulates x2APIC (-cpu max offers it) and the Intel IOMMU's
interrupt remapping with extended interrupt mode, which APIC IDs above 255
need (Vm(machine="q35", iommu=True, cpu="max"))."""

import os
import re
import signal
import subprocess
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The product (make all), and the images only tests and benchmarks boot
# (make test-images): the test image, the product's boot with the test
# options' hooks (tests/image/), and the benchmark floor (bench/floor/).
ELF = os.path.join(TOP, "build", "appliance.elf")
ISO = os.path.join(TOP, "build", "appliance.iso")
TEST_ELF = os.path.join(TOP, "build", "test-appliance.elf")
FLOOR_ELF = os.path.join(TOP, "build", "bench-floor.elf")

_accel = None
_qemu10 = None          # the wrapper's path, or why it cannot be had

# Largest -smp per machine type (QEMU 10; 7.2's q35 stops at 288).
MAX_SMP = {"pc": 255, "q35": 4096}


def stop_group(proc, grace=20):
    """SIGTERM to the process group proc leads (started with
    start_new_session: make, its scripts, their QEMU), SIGKILL to what is
    left after grace seconds."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


class QemuUnavailable(Exception):
    """The QEMU asked for cannot be installed or run here; the message says
    why. Tests turn it into Skip."""


def accel():
    global _accel
    if _accel is None:
        _accel = subprocess.run(["bash", os.path.join(TOP, "tools", "accel.sh")],
                                capture_output=True, text=True, check=True).stdout.strip()
    return _accel


def accel_args(cpu=None):
    """-accel (and -cpu: host under KVM unless cpu names another model)."""
    if accel() == "kvm":
        return ["-accel", "kvm", "-cpu", cpu or "host,-arch-capabilities"]
    return ["-accel", "tcg,thread=multi"] + (["-cpu", cpu] if cpu else [])


def qemu_binary(qemu="7.2"):
    """The command for QEMU 7.2 (the system's) or 10 (tools/qemu10.sh's
    wrapper, installed on first use; resolved once per process). Raises
    QemuUnavailable when 10 cannot be had."""
    global _qemu10
    if qemu == "7.2":
        return "qemu-system-x86_64"
    if qemu != "10":
        raise ValueError("qemu must be \"7.2\" or \"10\", not %r" % (qemu,))
    if _qemu10 is None:
        try:
            r = subprocess.run(["bash", os.path.join(TOP, "tools", "qemu10.sh")],
                               capture_output=True, text=True, timeout=900)
            lines = r.stdout.strip().splitlines()
            if r.returncode == 0 and lines and os.access(lines[-1], os.X_OK):
                _qemu10 = ("ok", lines[-1])
            else:
                _qemu10 = ("no", "tools/qemu10.sh failed (exit %d): %s"
                           % (r.returncode, r.stderr.strip()[-500:]))
        except (OSError, subprocess.TimeoutExpired) as e:
            _qemu10 = ("no", "tools/qemu10.sh: %s" % e)
    if _qemu10[0] != "ok":
        raise QemuUnavailable("QEMU 10 unavailable: " + _qemu10[1])
    return _qemu10[1]


class Vm:
    """One QEMU process. Serial output is collected in self.out.

    qemu: "7.2" (the system's, default) or "10" (raises QemuUnavailable
    when it cannot be installed). machine: "pc" (default) or "q35", both
    with hpet=off and -nodefaults (so q35 has no NIC of its own either).
    cpu: a -cpu model ("max", ...); None keeps QEMU's default (host under
    KVM). iommu: an Intel IOMMU with interrupt remapping in x2APIC mode
    (intel-iommu,intremap=on,eim=on; implies q35, and under KVM
    kernel-irqchip=split). smp above 255 needs q35, QEMU 10 and a cpu
    with x2APIC ("max" is chosen when cpu is None under TCG) and, to
    route interrupts to APIC IDs above 255, iommu=True. SeaBIOS itself
    needs no more than 2M even at -smp 1024; the guest's per-core stacks
    are what need memory (64M holds 1024 cores). Under TCG on 2 host
    cores, the kernel's first line comes 2-6 s after start at -smp 288 and
    26-30 s at -smp 1024 (most of it QEMU building the machine): give
    wait_for a timeout to match. smm: None turns SMM off above 255 vCPUs
    (smm=off): with SMM on, QEMU 10's q35 peaks, while it builds the
    machine, at a host memory that grows with the square of the vCPU
    count (1.6 GB at 288, 18 GB at 1024, on a 24 GB machine) and takes
    35-100 s to the first line at 1024; with it off, 0.15 and 0.45 GB.
    (Both QEMUs' pc at 255 vCPUs peak at 1.3 GB, SMM or not.)

    elf: the kernel -kernel boots (the product's unless a test needs
    TEST_ELF's hooks or FLOOR_ELF); iso=True boots the product's ISO."""

    def __init__(self, smp=1, mem="64M", cmdline="", iso=False, net=None, extra=None,
                 qemu="7.2", machine=None, cpu=None, iommu=False, smm=None, elf=ELF):
        if not iso and elf != ELF and not os.path.exists(elf):
            raise FileNotFoundError("%s is not built: make test-images" % elf)
        if machine is None:
            machine = "q35"    # the modern machine; "pc" still works
        if machine not in MAX_SMP:
            raise ValueError("machine must be \"pc\" or \"q35\", not %r" % (machine,))
        if iommu and machine != "q35":
            raise ValueError("iommu=True needs machine=\"q35\"")
        top = 288 if qemu == "7.2" and machine == "q35" else MAX_SMP[machine]
        if not 1 <= smp <= top:
            raise ValueError("smp=%d: QEMU %s's %s takes 1..%d" % (smp, qemu, machine, top))
        if smp > 255 and qemu == "7.2" and accel() != "kvm":
            raise ValueError("smp=%d: QEMU 7.2 emulates no x2APIC under TCG; use qemu=\"10\"" % smp)
        if smp > 255 and cpu is None and accel() != "kvm":
            cpu = "max"     # APIC IDs above 254 need x2APIC in CPUID
        self.qemu = qemu
        mopts = [machine, "hpet=off"]
        if smm is None:
            smm = smp <= 255
        if not smm:
            mopts.append("smm=off")
        if iommu and accel() == "kvm":
            mopts.append("kernel-irqchip=split")
        self.args = [qemu_binary(qemu), "-machine", ",".join(mopts)] + accel_args(cpu) + [
            "-smp", str(smp), "-m", mem, "-nodefaults", "-no-user-config",
            "-display", "none", "-vga", "none", "-serial", "stdio", "-no-reboot"]
        if iommu:
            # eim=on (x2APIC destinations) needs QEMU 10 under TCG; 7.2
            # accepts it only with KVM and kernel-irqchip=split.
            eim = qemu == "10" or accel() == "kvm"
            self.args += ["-device", "intel-iommu,intremap=on" + (",eim=on" if eim else "")]
        if iso:
            self.args += ["-cdrom", ISO]
        else:
            self.args += ["-kernel", elf, "-append", cmdline]
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
