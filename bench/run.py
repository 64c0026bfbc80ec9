#!/usr/bin/env python3
"""run.py - the benchmark of the paper's Figure 2 on this machine (make bench).

Systems, all answering API.md section 2 with the same workload source file:
  uni        the multicore unikernel, -smp S, sched=share (chunks in turns)
  uni-task   the same, sched=task (the paper's policy: a task per core)
  fleet      T single-core unikernels; the client spreads a job's tasks
  fleet-lv   S single-core unikernels as libvirt domains behind nginx
             (tools/fleet.py); a job's tasks go in S parts to the balancer
  linuxvm-s  Debian's kernel in the same QEMU, busybox initramfs, a thread
             per task, every job at once (Linux's scheduler shares the cores)
  linuxvm-t  the same VM, a pool of S pthreads running jobs in arrival order
  linuxvm-p  the same VM, forked worker processes
  native-t   the same Linux server on the host, pthreads
  native-p   the same Linux server on the host, processes

Every figure is measured in this one invocation and reported beside its
baselines as ratios. Host CPU of a QEMU process: the sum of
/proc/<pid>/task/*/schedstat (ns).

  bench/run.py [--preset quick|full] [--smoke]"""

import argparse
import csv
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "qemu"))
sys.path.insert(0, os.path.join(TOP, "bench"))
from net import free_port, http_request, tcp_exchange, user_net, wait_udp_ready  # noqa: E402
from vm import ELF, FLOOR_ELF, ISO, TEST_ELF, Vm, accel, accel_args  # noqa: E402

from report import report, save  # noqa: E402

sys.path.insert(0, os.path.join(TOP, "tools"))
import fleet as fleetcmd  # noqa: E402

OUT = os.path.join(TOP, "build", "bench")
LINUX = os.path.join(OUT, "linuxvm")
HOST_CORES = os.cpu_count() or 1

PRESETS = {
    # finishes in well under 15 minutes on 2 cores under TCG
    "quick": dict(limit=2000000, repeats=3, max_tasks=2 * HOST_CORES, idle_s=30,
                  boots=3, tiny=200, rtt=1000, long_limit=6000000, small_limit=300000,
                  chunk_limits=(10**6, 10**9, 2**40), chunk_s=8, throughput_runs=7),
    # for a big machine with KVM
    "full": dict(limit=5000000, repeats=5, max_tasks=2 * HOST_CORES, idle_s=60,
                 boots=5, tiny=1000, rtt=1000, long_limit=30000000, small_limit=1000000,
                 chunk_limits=(10**6, 10**9, 2**40), chunk_s=20, throughput_runs=9),
    # one tiny point of each system: keeps the harness from rotting (make test)
    "smoke": dict(limit=1000, repeats=1, max_tasks=2, idle_s=1, boots=1, tiny=5, rtt=20,
                  long_limit=300000, small_limit=10000, chunk_limits=(10**6,), chunk_s=1,
                  throughput_runs=1),
}


PRESET = {}


def log(msg):
    print("bench: " + msg, flush=True)


class Endpoint:
    """A UDP compute endpoint on a loopback port, and the host processes
    whose CPU time it costs."""

    def __init__(self, name, port, pids, cores, stop):
        self.name, self.port, self.pids, self.cores, self._stop = name, port, pids, cores, stop
        self.boot_s = None

    def cpu_ns(self):
        total = 0
        for pid in self.pids:
            base = "/proc/%d/task" % pid
            for tid in os.listdir(base):
                try:
                    with open(os.path.join(base, tid, "schedstat")) as f:
                        total += int(f.read().split()[0])
                except (OSError, ValueError):
                    pass
        return total

    def stop(self):
        self._stop()


def wait_first_answer(port, t0, timeout=180, is_alive=lambda: True):
    """Asks "0 1" every 10 ms until an answer comes; seconds since t0."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.01)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not is_alive():
                raise RuntimeError("the system died while booting")
            s.sendto(b"0 1", ("127.0.0.1", port))
            try:
                s.recvfrom(200)
                return time.monotonic() - t0
            except (socket.timeout, ConnectionRefusedError):
                pass
    finally:
        s.close()
    raise RuntimeError("no answer on port %d within %d s" % (port, timeout))


def start_uni(smp, mem="64M", iso=False, cmdline=""):
    port, hport = free_port(), free_port(socket.SOCK_STREAM)
    vm = Vm(smp=smp, mem=mem, iso=iso, cmdline=cmdline,
            net=user_net(udp=[(port, 5555)], tcp=[(hport, 80)]))
    vm.start()
    ep = Endpoint("uni-task" if "sched=task" in cmdline else "uni", port, [vm.pid], smp,
                  vm.stop)
    try:
        ep.boot_s = wait_first_answer(port, vm.t0, timeout=60, is_alive=vm.alive)
        # the boot floor: QEMU start to the kernel's first console line
        ep.floor_s = vm.seconds_to(vm.wait_for(r"appliance: booting", 5))
    except Exception:
        vm.stop()
        raise
    ep.http_port = hport
    return ep


def status(ep):
    data = tcp_exchange(ep.http_port, b"GET /api/status HTTP/1.1\r\nConnection: close\r\n\r\n")
    return json.loads(data.split(b"\r\n\r\n", 1)[1])


def total_wakes(ep):
    """Sum of the cores' wake counters from GET /api/status."""
    return sum(c["wakes"] for c in status(ep)["cores"])


def busy_us(ep):
    return [c["busy_us"] for c in status(ep)["cores"]]


def floor(nic, driver=False):
    """QEMU alone: a guest that silenced PIT and PICs and halts for good
    (the benchmark floor image, bench/floor/, bench_floor=1), with or
    without a virtio-net NIC on user networking, or with the NIC driven but
    no network stack (bench_floor=2)."""
    # the same user networking, forwarded ports included, as the systems
    net = user_net(udp=[(free_port(), 5555)], tcp=[(free_port(socket.SOCK_STREAM), 80)])
    vm = Vm(smp=1, cmdline="bench_floor=%d" % (2 if driver else 1), net=net if nic else None,
            elf=FLOOR_ELF)
    with vm:
        vm.wait_for(r"appliance: bench_floor", 60)
        time.sleep(12.0 if PRESET["idle_s"] > 2 else 1.0)
        c0 = vm.cpu_ns()
        time.sleep(PRESET["idle_s"])
        return (vm.cpu_ns() - c0) / 1e9 / PRESET["idle_s"]


def start_linuxvm(smp, server):
    port = free_port()
    args = ["qemu-system-x86_64", "-machine", "pc,hpet=off"] + accel_args() + [
        "-smp", str(smp), "-m", "256M", "-nodefaults", "-no-user-config", "-display", "none",
        "-vga", "none", "-serial", "file:%s/linuxvm-%s.log" % (OUT, server), "-no-reboot",
        "-kernel", os.path.join(LINUX, "vmlinuz"), "-initrd", os.path.join(LINUX, "initramfs.gz"),
        "-append", "console=ttyS0 quiet server=%s" % server] + user_net(udp=[(port, 5555)])
    t0 = time.monotonic()
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)

    def stop():
        p.kill()
        p.wait(10)
    ep = Endpoint("linuxvm-" + server[0], port, [p.pid], smp, stop)
    try:
        ep.boot_s = wait_first_answer(port, t0, is_alive=lambda: p.poll() is None)
    except Exception:
        stop()
        raise
    return ep


def start_native(server, workers):
    port = free_port()
    t0 = time.monotonic()
    p = subprocess.Popen([os.path.join(LINUX, "linux_server"), "--port", str(port), "--bind",
                          "127.0.0.1", "--%s" % server, str(workers)],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)

    def stop():
        p.kill()
        p.wait(10)
    ep = Endpoint("native-" + server[0], port, [p.pid], workers, stop)
    ep.boot_s = wait_first_answer(port, t0, is_alive=lambda: p.poll() is None)
    return ep


def children_cpu_ns(ep):
    """Native servers in process mode: the workers are children."""
    total = ep.cpu_ns()
    for pid in ep.pids:
        try:
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                kids = [int(x) for x in f.read().split()]
        except OSError:
            kids = []
        total += Endpoint("", 0, kids, 0, None).cpu_ns() if kids else 0
    return total


def job(port, limit, tasks, mode="repeat", timeout=600):
    """One job; returns (result, wall seconds, the reply's us)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    t0 = time.monotonic()
    s.sendto(("%d %d %s" % (limit, tasks, mode)).encode(), ("127.0.0.1", port))
    data, _ = s.recvfrom(200)
    wall = time.monotonic() - t0
    s.close()
    parts = data.split()
    if parts[0] == b"ERR":
        raise RuntimeError("%s answered %r" % (port, data))
    return int(parts[0]), wall, int(parts[4].split(b"=")[1])


class Fleet:
    """T single-core unikernels; a job's tasks are dealt out round-robin."""

    def __init__(self, n):
        self.members = []
        for _ in range(n):
            self.members.append(start_uni(1))
        self.name = "fleet"
        self.cores = n
        self.boot_s = max(m.boot_s for m in self.members)

    def cpu_ns(self):
        return sum(m.cpu_ns() for m in self.members)

    def stop(self):
        for m in self.members:
            m.stop()

    def job(self, limit, tasks):
        share = [tasks // len(self.members) + (1 if i < tasks % len(self.members) else 0)
                 for i in range(len(self.members))]
        res = [None] * len(self.members)
        t0 = time.monotonic()

        def one(i):
            if share[i]:
                res[i] = job(self.members[i].port, limit, share[i])
        th = [threading.Thread(target=one, args=(i,)) for i in range(len(self.members))]
        for t in th:
            t.start()
        for t in th:
            t.join()
        wall = time.monotonic() - t0
        return sum(r[0] for r in res if r), wall, max(r[2] for r in res if r)


class LibvirtFleet:
    """S single-core unikernels as libvirt domains with nginx in front
    (tools/fleet.py up/down, under its own name and ports). A job's tasks
    are cut into S parts sent to the balancer at once, as `primectl udp
    FRONT ... --parts S` does. Host CPU: the domains' QEMUs (the pid files
    libvirt writes) and nginx's master and worker; libvirtd, idle while
    jobs run, is not counted."""

    NAME = "appliance-fleetbench"

    def __init__(self, n):
        self.n = n
        base = next(b for b in range(26700, 27700, 100)
                    if all(fleetcmd.port_free(q, k) for q in range(b, b + 2 * n + 2)
                           for k in (socket.SOCK_DGRAM, socket.SOCK_STREAM)))
        self.port, http = base, base + 1
        if os.path.exists(fleetcmd.state_file(self.NAME)):
            self._fleet("down")
        t0 = time.monotonic()
        r = self._fleet("up", "--n", str(n), "--cpus", "1", "--front-udp", str(self.port),
                        "--front-http", str(http), "--udp-base", str(base + 2),
                        "--http-base", str(base + 2 + n), "--replace")
        if r.returncode != 0:
            self._fleet("down")
            raise RuntimeError("fleet up failed: " + r.stdout[-1500:] + r.stderr[-1500:])
        self.boot_s = time.monotonic() - t0
        st = fleetcmd.load(self.NAME)
        self.pids = [fleetcmd.qemu_pid(m["domain"]) for m in st["members"]]
        self.pids += fleetcmd.nginx_pids(st["dir"])
        self.cores = n

    def _fleet(self, *args):
        return subprocess.run(["python3", os.path.join(TOP, "tools", "fleet.py")] + list(args) +
                              ["--name", self.NAME], capture_output=True, text=True, timeout=600)

    def cpu_ns(self):
        return Endpoint("", 0, self.pids, 0, None).cpu_ns()

    def stop(self):
        r = self._fleet("down")
        if r.returncode != 0:
            log("fleet-lv down: " + r.stdout + r.stderr)

    def job(self, limit, tasks):
        parts = min(self.n, tasks)
        share = [tasks // parts + (1 if i < tasks % parts else 0) for i in range(parts)]
        res = [None] * parts
        t0 = time.monotonic()

        def one(i):
            res[i] = job(self.port, limit, share[i])
        th = [threading.Thread(target=one, args=(i,)) for i in range(parts)]
        for t in th:
            t.start()
        for t in th:
            t.join()
        wall = time.monotonic() - t0
        if any(r is None for r in res):
            raise RuntimeError("fleet-lv: a part of %d %d went unanswered" % (limit, tasks))
        return sum(r[0] for r in res), wall, max(r[2] for r in res)


def run_job(sysobj, limit, tasks):
    if isinstance(sysobj, (Fleet, LibvirtFleet)):
        return sysobj.job(limit, tasks)
    return job(sysobj.port, limit, tasks)


def cpu_of(sysobj):
    if isinstance(sysobj, Endpoint) and sysobj.name == "native-p":
        return children_cpu_ns(sysobj)
    return sysobj.cpu_ns()


def measure_idle(sysobj, seconds):
    """Host CPU per second while idle, nothing sent to the system. The
    caller lets boot traffic settle first (the appliance's ARP timer stops
    10 s after its last ARP request, DHCP's exchange ends)."""
    c0 = cpu_of(sysobj)
    time.sleep(seconds)
    return (cpu_of(sysobj) - c0) / 1e9 / seconds


def measure_wakes(sysobj, seconds):
    """Wake-ups per second of all the unikernel's cores while idle, from
    two GET /api/status; what the two requests cost is counted too."""
    w0 = total_wakes(sysobj)
    time.sleep(seconds)
    return (total_wakes(sysobj) - w0) / seconds


def quiet_wakes(ep):
    """The cores' wake counters (sum), read at a cost of a few wake-ups."""
    st = json.loads(http_request("127.0.0.1", ep.http_port, "GET", "/api/status")[2])
    return sum(c["wakes"] for c in st["cores"])


def measure_viewer(smp, seconds):
    """Issue 9: the appliance idle with and without the dashboard open in
    Chromium (headless, tests/browser): host CPU of QEMU and wake-ups a
    second, each over the same window. The page's first connections close
    after HTTP's 20 s idle timeout; the window starts after that, and
    then only the event stream stays open. None when no browser."""
    sys.path.insert(0, os.path.join(TOP, "tests", "browser"))
    import browser as br
    ep = start_uni(smp)
    try:
        out = {}
        time.sleep(12.0)
        for viewer in (False, True):
            b = None
            if viewer:
                try:
                    b = br.Browser()
                except br.Unavailable as e:
                    log("viewer: skipped, %s" % e)
                    return None
                b.__enter__()
                b.call("open", url="http://127.0.0.1:%d/" % ep.http_port)
                b.wait("document.getElementById('conn').textContent === 'live'", 30)
                time.sleep(25.0)
            try:
                w0, c0 = quiet_wakes(ep), ep.cpu_ns()
                time.sleep(seconds)
                c1, w1 = ep.cpu_ns(), quiet_wakes(ep)
                if viewer:
                    assert b.eval("document.getElementById('conn').textContent") == "live"
            finally:
                if b:
                    b.__exit__(None, None, None)
            out["viewer" if viewer else "alone"] = dict(
                cpu=(c1 - c0) / 1e9 / seconds, wakes=(w1 - w0) / seconds)
            log("viewer=%s: idle %.4f%% of a core, %.3f wake-ups/s over %d s"
                % (viewer, (c1 - c0) / 1e9 / seconds * 100, (w1 - w0) / seconds, seconds))
        out["seconds"] = seconds
        return out
    finally:
        ep.stop()


def measure_tiny(port, n, tasks):
    lat = []
    for _ in range(n):
        _, wall, _ = job(port, 10, tasks)
        lat.append(wall)
    return statistics.median(lat)


def measure_rtt(port, n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    payload = os.urandom(64)
    lat = []
    for _ in range(n):
        t0 = time.monotonic()
        s.sendto(payload, ("127.0.0.1", port))
        data, _ = s.recvfrom(200)
        lat.append(time.monotonic() - t0)
        assert data == payload
    s.close()
    return statistics.median(lat)


def plain(port, limit, timeout=600):
    """The test image's plain loop (test_speed=PORT): its in-guest us."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    s.sendto(b"%d" % limit, ("127.0.0.1", port))
    data = s.recv(200)
    s.close()
    return int(data.split(b"us=")[1])


def measure_throughput(p):
    """Single-task throughput against the plain loop of API.md section 1,
    both in the guest, at -smp 1, in one VM per policy: the test image
    runs the plain loop on request (test_speed=PORT: count_primes_below
    inside the network callback, no chunks, no scheduler), alternated with
    one-task jobs of the same limit (chunks, claims, per-core counts, the
    BSP serving between chunks); their in-guest times, medians."""
    limit = p["limit"]
    out = {}
    for policy in ("share", "task"):
        port, sport = free_port(), free_port()
        vm = Vm(smp=1, cmdline="test_speed=7 sched=%s" % policy, elf=TEST_ELF,
                net=user_net(udp=[(port, 5555), (sport, 7)]))
        with vm:
            wait_udp_ready(port, b"0 1", timeout=60)
            plain(sport, limit)         # warm-up: TCG translates the loop
            job(port, limit, 1)
            pl, jb = [], []
            for _ in range(p["throughput_runs"]):
                pl.append(plain(sport, limit))
                jb.append(job(port, limit, 1)[2])
        out[policy] = dict(plain_us=statistics.median(pl), job_us=statistics.median(jb),
                           plain=pl, jobs=jb)
        log("throughput %s: plain loop %s us, one-task job %s us: %.4f"
            % (policy, pl, jb, out[policy]["job_us"] / out[policy]["plain_us"]))
    return out


def measure_chunk_cost(limit):
    """Instructions of the plain loop against the same count as a one-task
    job on the real engine and work table, on the host under callgrind
    (bench/chunk_cost.c): exact and repeatable, unlike the guest's
    timings here."""
    out = {}
    for mode in ("plain", "job"):
        r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                            os.path.join(OUT, "chunk_cost"), mode, str(limit)],
                           capture_output=True, text=True, timeout=1800)
        m = re.search(r"Collected : (\d+)", r.stderr)
        if r.returncode != 0 or not m:
            raise RuntimeError("chunk_cost %s: %s" % (mode, r.stderr[-500:]))
        out[mode] = int(m.group(1))
    log("chunk cost at %d: plain %d instructions, one-task job %d: %.4f"
        % (limit, out["plain"], out["job"], out["job"] / out["plain"]))
    return out


def cancel_all(ep):
    """DELETE every job of the unikernel still queued or running."""
    listing = json.loads(http_request("127.0.0.1", ep.http_port, "GET",
                                      "/api/jobs?limit=100")[2])["jobs"]
    for j in listing:
        if j["state"] in ("queued", "running"):
            http_request("127.0.0.1", ep.http_port, "DELETE", "/api/jobs/%d" % j["id"])


def measure_behind(ep, p):
    """A small one-task job alone, then while one and while two long jobs
    of S tasks each occupy every core: seconds to its reply (medians).
    Where jobs share the cores (uni, linuxvm-s) the small job is sent a
    few times while the long ones run; where they wait in arrival order
    (uni-task, linuxvm-t) once, and it waits for the long ones. The
    unikernel's long jobs are cancelled afterwards (DELETE), the Linux
    VM's run to their end."""
    small = (p["small_limit"], 1)
    shares = ep.name in ("uni", "linuxvm-s")
    alone = statistics.median(job(ep.port, *small)[1] for _ in range(5))
    out = {"alone": alone}
    for n in (1, 2):
        longs = []

        def long_job():
            try:
                longs.append(job(ep.port, p["long_limit"], ep.cores))
            except RuntimeError:        # ERR cancelled: we cancel it below
                longs.append(None)
        threads = [threading.Thread(target=long_job) for _ in range(n)]
        for t in threads:
            t.start()
            time.sleep(0.2)
        time.sleep(0.5)
        lat = [job(ep.port, *small)[1] for _ in range(3 if shares else 1)]
        out[n] = statistics.median(lat)
        if ep.name.startswith("uni"):
            cancel_all(ep)
        for t in threads:
            t.join(900)
        log("%-10s small job alone %.1f ms, behind %d long %.1f ms (%.2fx)"
            % (ep.name, alone * 1e3, n, out[n] * 1e3, out[n] / alone))
    return out


def measure_chunks(S, p):
    """The longest chunk in the guest at each limit: a split job of S tasks
    under sched=task, so that one core runs the task at the top of the
    range (the costliest chunks) from the start; a fresh appliance per
    limit, the job cancelled after chunk_s seconds if still running."""
    out = {}
    for limit in p["chunk_limits"]:
        ep = start_uni(S, cmdline="sched=task")

        def run():
            try:
                job(ep.port, limit, S, "split", timeout=600)
            except RuntimeError:        # ERR cancelled: we cancel it below
                pass
        try:
            t = threading.Thread(target=run)
            t.start()
            t.join(p["chunk_s"])
            st = status(ep)
            if t.is_alive():
                cancel_all(ep)
                t.join(60)
        finally:
            ep.stop()
        out[limit] = dict(chunk_max_us=st["chunk_max_us"], chunk_p99_us=st["chunk_p99_us"],
                          bsp_gap_us=st["bsp"]["serve_gap_max_us"],
                          chunks=sum(c["chunks_done"] for c in st["cores"]))
        log("chunks at limit %d: longest %d us, 99 %% under %d us, the BSP's longest %d us, "
            "%d chunks" % (limit, out[limit]["chunk_max_us"], out[limit]["chunk_p99_us"],
                           out[limit]["bsp_gap_us"], out[limit]["chunks"]))
    return out


def boot_times(start, n):
    """Boot to first answer, and the part of it after the boot floor
    (the kernel's first console line): medians, min, max."""
    out, ours = [], []
    for _ in range(n):
        ep = start()
        out.append(ep.boot_s)
        ours.append(ep.boot_s - ep.floor_s)
        ep.stop()
    return (statistics.median(out), min(out), max(out), statistics.median(ours),
            statistics.median(out) - statistics.median(ours))


def smallest_mem():
    """The smallest -m (MiB) with which the appliance still answers a job."""
    best = None
    for mb in (32, 16, 12, 8, 6, 5, 4, 3, 2):
        try:
            ep = start_uni(1, mem="%dM" % mb)
        except Exception:  # noqa: BLE001 - did not boot or did not answer
            break
        try:
            r, _, _ = job(ep.port, 100000, 2, timeout=60)
            ok = r == 2 * 9592
        except Exception:  # noqa: BLE001
            ok = False
        ep.stop()
        if not ok:
            break
        best = mb
    return best


def write_csv(name, rows):
    if not rows:
        return
    path = os.path.join(OUT, name)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--preset", choices=sorted(PRESETS), default="quick")
    args = ap.parse_args()
    p = PRESETS[args.preset]
    PRESET.update(p)
    os.makedirs(OUT, exist_ok=True)
    t_start = time.monotonic()
    S = HOST_CORES
    pi_limit = int(subprocess.run([os.path.join(TOP, "build", "bench", "count_primes"),
                                   str(p["limit"])], capture_output=True, text=True,
                                  check=True).stdout)
    log("preset %s: limit %d (pi=%d), tasks 1..%d, %d repeats, S=%d, accel %s" %
        (args.preset, p["limit"], pi_limit, p["max_tasks"], p["repeats"], S, accel()))

    rows, idle, boot, extra = [], {}, {}, {}
    starters = [
        ("uni", lambda: start_uni(S)),
        ("uni-task", lambda: start_uni(S, cmdline="sched=task")),
        ("fleet", lambda: Fleet(S)),
        ("fleet-lv", lambda: LibvirtFleet(S)),
        ("linuxvm-s", lambda: start_linuxvm(S, "spawn")),
        ("linuxvm-t", lambda: start_linuxvm(S, "threads")),
        ("linuxvm-p", lambda: start_linuxvm(S, "procs")),
        ("native-t", lambda: start_native("threads", S)),
        ("native-p", lambda: start_native("procs", S)),
    ]
    # All systems stay up together, and the job runs interleave them: this
    # machine's speed drifts by tens of percent over minutes, so systems
    # measured one after the other would not be comparable. An idle system
    # costs the others next to nothing (see the idle table).
    systems = []
    try:
        for name, start in starters:
            log("starting %s" % name)
            sysobj = start()
            sysobj.name = name
            boot[name] = sysobj.boot_s
            systems.append(sysobj)
        time.sleep(12.0 if p["idle_s"] > 2 else 0.5)
        for sysobj in systems:
            idle[sysobj.name] = measure_idle(sysobj, p["idle_s"])
            log("%-10s boot-to-service %.3f s, idle %.4f%% of a core" %
                (sysobj.name, sysobj.boot_s, idle[sysobj.name] * 100))
        extra["idle_wakes_per_s"] = measure_wakes(systems[0], p["idle_s"])
        samples, sched = {}, {}
        for rep in range(p["repeats"]):
            for tasks in range(1, p["max_tasks"] + 1):
                for sysobj in systems:
                    guest = sysobj.name in ("uni", "uni-task")
                    if guest:
                        b0 = busy_us(sysobj)
                    c0 = cpu_of(sysobj)
                    result, wall, us = run_job(sysobj, p["limit"], tasks)
                    cpu = (cpu_of(sysobj) - c0) / 1e9
                    if guest:
                        # in the guest: the job's elapsed time against the
                        # longest per-core busy time it caused, i.e. what the
                        # dispatching added to the tasks' own run times
                        busy = [b - a for a, b in zip(b0, busy_us(sysobj))]
                        sched.setdefault((sysobj.name, tasks), []).append(us / max(busy))
                    if result != pi_limit * tasks:
                        raise RuntimeError("%s: wrong result %d for %d tasks" %
                                           (sysobj.name, result, tasks))
                    samples.setdefault((sysobj.name, tasks), []).append((wall, cpu))
            log("repeat %d of %d done" % (rep + 1, p["repeats"]))
        for sysobj in systems:
            for tasks in range(1, p["max_tasks"] + 1):
                walls = [w for w, _ in samples[(sysobj.name, tasks)]]
                cpus = [c for _, c in samples[(sysobj.name, tasks)]]
                rows.append(dict(system=sysobj.name, tasks=tasks, wall_s=statistics.median(walls),
                                 wall_min=min(walls), wall_max=max(walls),
                                 cpu_s=statistics.median(cpus)))
                log("%-10s tasks=%d wall %.3f s (%.3f..%.3f) cpu %.3f s" %
                    (sysobj.name, tasks, rows[-1]["wall_s"], min(walls), max(walls),
                     rows[-1]["cpu_s"]))
        extra["sched_overhead"] = {k: statistics.median(v) for k, v in sched.items()}
        by_name = {x.name: x for x in systems}
        extra["behind"] = {n: measure_behind(by_name[n], p) for n in
                           ("uni", "uni-task", "linuxvm-s", "linuxvm-t")}
        extra["tiny_uni"] = measure_tiny(by_name["uni"].port, p["tiny"], S)
        extra["tiny_linuxvm-t"] = measure_tiny(by_name["linuxvm-t"].port, p["tiny"], S)
    finally:
        for sysobj in systems:
            sysobj.stop()

    # The unikernel alone: dispatch on 1 core, boot through GRUB and
    # -kernel, UDP round trip, memory floor, image size.
    ep = start_uni(1)
    try:
        extra["tiny_uni1"] = measure_tiny(ep.port, p["tiny"], 1)
    finally:
        ep.stop()
    port = free_port()
    # the round trip alone: the test image's UDP echo (tests/image/)
    vm = Vm(smp=1, cmdline="test_udp_echo=7", net=user_net(udp=[(port, 7)]), elf=TEST_ELF)
    with vm:
        wait_udp_ready(port, b"x", timeout=60)
        extra["rtt_echo"] = measure_rtt(port, p["rtt"])
    extra["boot_kernel"] = boot_times(lambda: start_uni(S), p["boots"])
    extra["boot_grub"] = boot_times(lambda: start_uni(S, iso=True), p["boots"])

    # (not in the smoke preset of make test: the page's connections alone
    # take 20 s to close; test_events checks the wake-ups there)
    extra["viewer"] = measure_viewer(S, max(60, p["idle_s"])) if args.preset != "smoke" else None

    extra["chunks"] = measure_chunks(S, p)
    extra["throughput"] = measure_throughput(p)
    extra["chunk_cost"] = measure_chunk_cost(p["limit"])

    extra["floor_nic"] = floor(True)
    extra["floor_nonic"] = floor(False)
    extra["floor_driver"] = floor(True, driver=True)
    extra["mem_mb"] = smallest_mem() if args.preset != "smoke" else None
    extra["elf_bytes"] = os.path.getsize(ELF)
    extra["iso_bytes"] = os.path.getsize(ISO)
    extra["text_bytes"] = image_bytes()
    extra["accel"] = accel()
    write_csv("jobs.csv", rows)
    write_csv("idle.csv", [dict(system=k, core_fraction=v) for k, v in idle.items()])
    write_csv("boot.csv", [dict(system=k, seconds=v) for k, v in boot.items()])
    seconds = time.monotonic() - t_start
    # Saved first: a report that fails can be made again from it.
    save(os.path.join(OUT, "run.json"), args.preset, p, S, pi_limit, rows, idle, boot, extra,
         seconds)
    report(args.preset, p, S, pi_limit, rows, idle, boot, extra, seconds)
    return 0


def image_bytes():
    out = subprocess.run(["size", "-A", ELF], capture_output=True, text=True).stdout
    total = 0
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 2 and f[0] in (".text", ".rodata", ".data"):
            total += int(f[1])
    return total


if __name__ == "__main__":
    sys.exit(main())
