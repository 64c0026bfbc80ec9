"""test_loss.py - packet loss between the host and the appliance (issue 10,
"Faults"): in a network namespace with a tap device (net.TapNamespace),
one packet in five is dropped in each direction while the host client
(build/primectl, with its retries) sends UDP jobs and plain sockets talk
HTTP to the control plane. Every UDP job must come back with its correct
answer after some retries, and every HTTP request must complete (TCP
retransmits on both sides: the host's and the appliance's lwIP).

How the loss is made. `tc qdisc ... netem loss 20%` is the usual tool, but
netem is a kernel option (CONFIG_NET_SCH_NETEM) that not every kernel has,
and a kernel built without module support cannot `modprobe sch_netem`.
nftables' netdev family does the same job in both directions with no
module: a rule on tap0's egress hook (host -> guest) and one on its
ingress hook (guest -> host), each `numgen random mod 100 < 20 drop`.
The test uses nftables when `nft` works, else netem on tap0's egress only
(host -> guest), else it is skipped with both reasons. QEMU 7.2 itself has
no net filter that drops packets (`-object help`: filter-buffer,
filter-dump, filter-mirror, filter-redirector, filter-rewriter,
filter-replay); filter-buffer releases what it held every `interval`
microseconds, which this test uses as a QEMU-side delay of 0 to 5 ms on
both directions.

in_netns() is also used by the soak suite (tests/soak/): it runs a
function on a thread that has joined a namespace, so every socket made
there lives in the namespace, and the ordinary helpers of net.py work on
the guest's address."""

import ctypes
import json
import os
import shutil
import subprocess
import threading
import time

from net import TapNamespace, http_request
from vm import TOP, Vm

GUEST = "10.77.0.2"
PRIMECTL = os.path.join(TOP, "build", "primectl")
LOSS_PCT = 20
DELAY_US = 5000         # QEMU filter-buffer interval: 0..5 ms each way
UDP_JOBS = 50
UDP_WORKERS = 5
HTTP_REQUESTS = 20
HTTP_WORKERS = 4
BUDGET_S = 60           # both phases run at once, within this

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def in_netns(ns, fn, *args, **kw):
    """Runs fn(*args, **kw) on a new thread that joined network namespace
    ns (a name under /var/run/netns, as `ip netns add` makes); returns its
    value or raises its exception. setns() changes only the calling
    thread, so the rest of the process stays where it was."""
    out = {}

    def body():
        try:
            fd = os.open("/var/run/netns/" + ns, os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    e = ctypes.get_errno()
                    raise OSError(e, "setns(%s): %s" % (ns, os.strerror(e)))
            finally:
                os.close(fd)
            out["value"] = fn(*args, **kw)
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            out["error"] = e
    t = threading.Thread(target=body, daemon=True)
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def primes_below(limit):
    """pi(limit - 1) by a sieve: the host's check of the appliance's count."""
    if limit < 3:
        return 0
    sieve = bytearray([1]) * limit
    sieve[0:2] = b"\0\0"
    for i in range(2, int(limit ** 0.5) + 1):
        if sieve[i]:
            sieve[i * i::i] = bytes(len(range(i * i, limit, i)))
    return sum(sieve)


def expected(limit, tasks, mode):
    pi = primes_below(limit)
    return pi if mode == "split" else pi * tasks


def status(host, port=80, timeout=30):
    code, _, body = http_request(host, port, "GET", "/api/status", timeout=timeout)
    assert code == 200, (code, body[:200])
    return json.loads(body)


class Loss:
    """Drops LOSS_PCT % of the frames on the namespace's tap0: with
    nftables both ways, else with netem host -> guest only. Raises Skip
    (given as skip) when neither can be used here; says which it used."""

    NFT = """table netdev appl_loss {
  chain to_guest {
    type filter hook egress device "tap0" priority 0;
    numgen random mod 100 < %d counter drop;
  }
  chain from_guest {
    type filter hook ingress device "tap0" priority 0;
    numgen random mod 100 < %d counter drop;
  }
}
"""

    def __init__(self, ns, pct, skip):
        self.ns, self.pct, self.skip = ns, pct, skip
        self.how = None

    def __enter__(self):
        why = []
        if shutil.which("nft"):
            r = subprocess.run(["ip", "netns", "exec", self.ns.ns, "nft", "-f", "-"],
                               input=self.NFT % (self.pct, self.pct), capture_output=True,
                               text=True, timeout=30)
            if r.returncode == 0:
                self.how = "nft"
                return self
            why.append("nft: " + (r.stderr.strip() or "exit %d" % r.returncode))
        else:
            why.append("nft: not installed (Debian package nftables, tools/deps.sh)")
        if shutil.which("tc"):
            r = self.ns.run("tc", "qdisc", "add", "dev", "tap0", "root", "netem", "loss",
                            "%d%%" % self.pct)
            if r.returncode == 0:
                self.how = "netem"
                return self
            why.append("tc netem: " + (r.stderr.strip() or "exit %d" % r.returncode) +
                       " (kernel without CONFIG_NET_SCH_NETEM?)")
        else:
            why.append("tc: not installed")
        raise self.skip("cannot drop packets here: " + "; ".join(why))

    def dropped(self):
        """(frames dropped host -> guest, guest -> host), None when unknown."""
        if self.how == "nft":
            r = self.ns.run("nft", "-j", "list", "table", "netdev", "appl_loss")
            out = {}
            try:
                for item in json.loads(r.stdout)["nftables"]:
                    rule = item.get("rule")
                    if rule:
                        for e in rule["expr"]:
                            if "counter" in e:
                                out[rule["chain"]] = e["counter"]["packets"]
            except (ValueError, KeyError):
                return None, None
            return out.get("to_guest"), out.get("from_guest")
        r = self.ns.run("tc", "-s", "qdisc", "show", "dev", "tap0")
        for line in r.stdout.splitlines():
            if "dropped" in line:
                return int(line.split("dropped")[1].split(",")[0]), None
        return None, None

    def __exit__(self, *exc):
        if self.how == "nft":
            self.ns.run("nft", "delete", "table", "netdev", "appl_loss")
        elif self.how == "netem":
            self.ns.run("tc", "qdisc", "del", "dev", "tap0", "root")


def _udp_jobs(ns, n, workers, deadline):
    """n jobs by primectl inside the namespace, `workers` at a time.
    Returns (answered right, retries, failures)."""
    limits = (10, 100, 1000, 5000, 20000, 100000)
    jobs = [(limits[i % len(limits)], 1 + i % 4, ("repeat", "split")[i % 2]) for i in range(n)]
    lock = threading.Lock()
    res = {"ok": 0, "retries": 0, "fail": []}

    def worker():
        while True:
            with lock:
                if not jobs:
                    return
                limit, tasks, mode = jobs.pop()
            left = deadline - time.monotonic()
            if left < 5:
                with lock:
                    res["fail"].append("%d %d %s: out of time" % (limit, tasks, mode))
                continue
            r = subprocess.run(["ip", "netns", "exec", ns.ns, PRIMECTL, "udp", GUEST + ":5555",
                                str(limit), str(tasks), mode, "--timeout", "0.5",
                                "--retries", "30"],
                               capture_output=True, text=True, timeout=left)
            retries = r.stderr.count("retrying")
            want = "%d tasks=%d mode=%s " % (expected(limit, tasks, mode), tasks, mode)
            with lock:
                res["retries"] += retries
                if r.returncode == 0 and r.stdout.startswith(want) and "check: ok" in r.stdout:
                    res["ok"] += 1
                else:
                    res["fail"].append("%d %d %s: exit %d %r %r" % (
                        limit, tasks, mode, r.returncode, r.stdout[:100], r.stderr[-200:]))
    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return res["ok"], res["retries"], res["fail"]


def _http_requests(ns, n, workers, deadline):
    """n HTTP requests on new connections from inside the namespace,
    alternately POST /api/jobs?wait=1 (the result checked) and GET
    /api/status. Returns (completed, failures)."""
    todo = list(range(n))
    lock = threading.Lock()
    res = {"ok": 0, "fail": []}

    def one(i):
        left = deadline - time.monotonic()
        if left < 5:
            return "out of time"
        if i % 2 == 0:
            limit, tasks, mode = 20000 + 1000 * i, 1 + i % 3, ("repeat", "split")[i % 4 // 2]
            body = json.dumps({"limit": limit, "tasks": tasks, "mode": mode}).encode()
            code, _, out = http_request(GUEST, 80, "POST", "/api/jobs?wait=1", body, timeout=left)
            job = json.loads(out)
            if code != 200 or job.get("state") != "done" or \
                    job.get("result") != expected(limit, tasks, mode):
                return "POST %s: %d %r" % (body, code, out[:200])
        else:
            code, _, out = http_request(GUEST, 80, "GET", "/api/status", timeout=left)
            if code != 200 or "cores" not in json.loads(out):
                return "GET /api/status: %d %r" % (code, out[:200])
        return None

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                i = todo.pop(0)
            try:
                why = one(i)
            except (OSError, ValueError) as e:
                why = "request %d: %r" % (i, e)
            with lock:
                if why:
                    res["fail"].append(why)
                else:
                    res["ok"] += 1

    def all_workers():
        threads = [threading.Thread(target=in_netns, args=(ns.ns, worker)) for _ in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    all_workers()
    return res["ok"], res["fail"]


def test_udp_jobs_and_http_complete_under_packet_loss():
    """20 % of the frames are dropped each way (nftables on tap0, or netem
    host -> guest), with 0-5 ms of QEMU-side delay: 50 UDP jobs through
    primectl's retries all come back right, and 20 HTTP requests (POST
    ?wait=1 and GET /api/status) all complete through TCP retransmission."""
    if not os.access(PRIMECTL, os.X_OK):
        raise Skip("build/primectl is not built (make all)")  # noqa: F821 - the runner's Skip
    with TapNamespace(Skip) as ns:  # noqa: F821 - the runner's Skip
        delay = ["-object", "filter-buffer,id=delay0,netdev=n0,queue=all,interval=%d" % DELAY_US]
        vm = ns.vm_inside(Vm(smp=2, cmdline="ip=%s/24,10.77.0.1" % GUEST, net=ns.net_args(),
                             extra=delay))
        with vm:
            vm.wait_for(r"appliance: ready", 60)
            before = in_netns(ns.ns, status, GUEST)
            with Loss(ns, LOSS_PCT, Skip) as loss:  # noqa: F821 - the runner's Skip
                t0 = time.monotonic()
                deadline = t0 + BUDGET_S
                http = {}
                th = threading.Thread(target=lambda: http.update(
                    r=_http_requests(ns, HTTP_REQUESTS, HTTP_WORKERS, deadline)))
                th.start()
                udp_ok, retries, udp_fail = _udp_jobs(ns, UDP_JOBS, UDP_WORKERS, deadline)
                th.join()
                http_ok, http_fail = http["r"]
                elapsed = time.monotonic() - t0
                to_guest, from_guest = loss.dropped()
            after = in_netns(ns.ns, status, GUEST)
            assert vm.alive() and "PANIC" not in vm.out, vm.tail()
    print("fault-loss: %d udp jobs tried, %d answered right (%d retries), %d http requests "
          "tried, %d completed" % (UDP_JOBS, udp_ok, retries, HTTP_REQUESTS, http_ok))
    print("fault-loss: %d%% loss by %s, dropped %s frames to the guest and %s from it, "
          "%.1f s" % (LOSS_PCT, loss.how, to_guest, from_guest, elapsed))
    print("fault-loss: guest nic rx %d tx %d frames; lwip pbuf pool %d/%d in use, tcp pcbs %d "
          "(before: %d, %d)" % (
              after["net"]["rx_packets"] - before["net"]["rx_packets"],
              after["net"]["tx_packets"] - before["net"]["tx_packets"],
              after["lwip"]["pbuf_pool_used"], after["lwip"]["pbuf_pool_size"],
              after["lwip"]["tcp_pcbs"], before["lwip"]["pbuf_pool_used"],
              before["lwip"]["tcp_pcbs"]))
    assert not udp_fail, udp_fail
    assert not http_fail, http_fail
    assert udp_ok == UDP_JOBS and http_ok == HTTP_REQUESTS
    assert to_guest is None or to_guest > 0, "the loss rule dropped nothing"
    assert elapsed < BUDGET_S
