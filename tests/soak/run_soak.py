#!/usr/bin/env python3
"""run_soak.py - the long runs of issue 10 (`make soak`; not part of
`make test`). Each category boots its own appliance (-smp 2), is bounded
in time and stops by itself, prints one category line and a PASS/FAIL
line; the run ends with "N passed, M failed[, K skipped]" and exits
non-zero on any failure.

  arp-quiet  "replies lost after a quiet spell": in a network namespace
             with a tap device (net.TapNamespace), talk to the appliance,
             stay silent for longer than lwIP's ARP_MAXAGE (300 s), then
             send 20 requests at once. The appliance's ARP entry for the
             host has expired, so each reply waits for ARP; all 20 must
             come (before the fix lwIP kept one and dropped the rest). The
             host's entry for the guest is pinned (`ip neigh ... nud
             permanent`) so that the host does not ARP first: a request
             from the host would refresh the guest's entry and the path
             would go untested. The line says how many ARP requests the
             guest sent during the burst (at least one, or the spell did
             not expire the entry and the category fails).
  udp-long   100,000 UDP jobs through QEMU's user networking, 100 in
             flight (one per socket, so that every reply is matched to its
             request): exactly one reply each, the right count or
             `ERR busy`; the appliance's own counters agree.
  http-long  wrk, 64 keep-alive connections on GET /api/status for 5
             minutes, while UDP jobs run; no socket error, every answer
             2xx. wrk runs inside a namespace against the guest's own TCP:
             through QEMU's user networking the forwarded port listens
             with a backlog of 1, and connections opened together are
             delayed by the host kernel's SYN and data retransmissions
             (up to tens of seconds), which measures slirp, not the
             appliance.
  fuzz-long  `make fuzz FUZZ_SECONDS=120` (tests/fuzz/fuzz.mk).
  leaks      after arp-quiet, udp-long and http-long: /api/status
             memory.heap_used_bytes, lwip.pbuf_pool_used and lwip.tcp_pcbs
             back to (or below) their level before the category, allowing
             a few seconds for TIME-WAIT (2 s here) to pass.

Defaults take about 25 minutes on 2 cores with TCG.

  tests/soak/run_soak.py [--quick] [--only CAT,...] [--quiet-seconds S]
        [--udp-requests N] [--udp-inflight N] [--http-seconds S]
        [--http-connections N] [--fuzz-seconds S]

--quick shortens udp-long (10,000 requests), http-long (30 s) and
fuzz-long (10 s a target) but never the quiet spell of arp-quiet, which
only means something beyond ARP_MAXAGE."""

import argparse
import os
import re
import selectors
import shutil
import socket
import subprocess
import sys
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests", "qemu"))
sys.path.insert(0, os.path.join(TOP, "tests"))

from net import (TapNamespace, free_port, http_request, udp_ask, user_net,  # noqa: E402
                 wait_udp_ready)
from run import summary  # noqa: E402
from test_loss import GUEST, expected, in_netns, status  # noqa: E402
from vm import Vm  # noqa: E402

ARP_MAXAGE_S = 300      # lwIP's default (lwipopts.h leaves it)
GUEST_MAC = "52:54:00:77:00:02"    # net.TapNamespace.net_args
REPLY_RX = re.compile(r"^(\d+) tasks=(\d+) mode=(repeat|split) cores=\d+ us=\d+\n$")
LIMITS = (10, 100, 1000, 10000, 30000)
SMP = 2


class Skip(Exception):
    """A category that cannot run here; the message says why."""


def _check_reply(data, limit, tasks, mode):
    """'ok', 'busy' or a description of what is wrong."""
    text = data.decode("ascii", "replace")
    if text == "ERR busy\n":
        return "busy"
    m = REPLY_RX.match(text)
    if not m:
        return "malformed %r" % text[:80]
    if (int(m.group(1)), int(m.group(2)), m.group(3)) != (expected(limit, tasks, mode), tasks,
                                                          mode):
        return "%r for '%d %d %s'" % (text, limit, tasks, mode)
    return "ok"


def _in_namespace():
    """Guards the code that talks to GUEST: only from inside a namespace
    the suite made (in_netns), never from the host's own network."""
    try:
        socket.if_nametoindex("tap0")
    except OSError:
        raise AssertionError("talking to %s outside the test's namespace" % GUEST) from None


# ---- leaks ---------------------------------------------------------------

def _levels(st):
    return {"heap_used_bytes": st["memory"]["heap_used_bytes"],
            "pbuf_pool_used": st["lwip"]["pbuf_pool_used"],
            "tcp_pcbs": st["lwip"]["tcp_pcbs"]}


def baseline(get_status):
    """Levels once TIME-WAIT connections of the warm-up are gone: the
    lowest of a few readings (each reading's own connection counts)."""
    best = None
    for _ in range(4):
        time.sleep(1)
        lv = _levels(get_status())
        best = lv if best is None else {k: min(best[k], lv[k]) for k in lv}
    return best


def leak_check(name, get_status, base, timeout=30):
    """Polls until every level is back to (or below) base; returns
    (ok, category line)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            lv = _levels(get_status())
        except (OSError, ValueError, AssertionError) as e:
            return False, "leaks: after %s, /api/status failed: %r" % (name, e)
        ok = all(lv[k] <= base[k] for k in base)
        if ok or time.monotonic() > deadline:
            break
        time.sleep(1)
    line = "leaks: after %s, %s" % (name, ", ".join(
        "%s %d -> %d" % (k, base[k], lv[k]) for k in base))
    return ok, line + ("" if ok else " (not back within %d s)" % timeout)


def _warm_up(host, http_port, udp_port, ask):
    """One of each kind of work, so that what is made once is made. For
    a guest in a namespace, call it through in_netns."""
    if host == GUEST:
        _in_namespace()
    r = ask(udp_port, b"10000 2\n")
    assert r.startswith(b"2458 tasks=2 "), r
    code, _, body = http_request(host, http_port, "POST", "/api/jobs?wait=1",
                                 b'{"limit":10000,"tasks":2}', timeout=30)
    assert code == 200, (code, body)
    status(host, http_port)


# ---- arp-quiet -------------------------------------------------------------

def _burst(n, timeout=15):
    """Inside the namespace: sends n requests at once from one socket and
    collects the replies, counting the ARP requests the guest sends."""
    sniff = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
    sniff.bind(("tap0", 0))
    sniff.setblocking(False)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    reqs = {i + 1: 20000 + 1000 * i for i in range(n)}          # tasks -> limit
    t0 = time.monotonic()
    for tasks, limit in reqs.items():
        s.sendto(b"%d %d\n" % (limit, tasks), (GUEST, 5555))
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ)
    sel.register(sniff, selectors.EVENT_READ)
    mac = bytes.fromhex(GUEST_MAC.replace(":", ""))
    replies, wrong, arp = {}, [], 0
    deadline = t0 + timeout
    last = None
    # until all came, then 2 s more to catch a duplicate
    while time.monotonic() < (deadline if len(replies) < n else min(deadline, last + 2)):
        for key, _ in sel.select(0.2):
            while True:
                try:
                    data = key.fileobj.recv(2048)
                except BlockingIOError:
                    break
                if key.fileobj is sniff:
                    # Ethernet src = guest, ARP opcode 1 (request)
                    if data[6:12] == mac and data[20:22] == b"\x00\x01":
                        arp += 1
                    continue
                m = re.match(rb"^\d+ tasks=(\d+) ", data)
                tasks = int(m.group(1)) if m else None
                if tasks not in reqs or tasks in replies:
                    wrong.append(data)
                    continue
                verdict = _check_reply(data, reqs[tasks], tasks, "repeat")
                if verdict != "ok":
                    wrong.append(data)
                    continue
                replies[tasks] = time.monotonic() - t0
                last = time.monotonic()
    s.close()
    sniff.close()
    return {"sent": n, "replies": len(replies), "wrong": wrong, "arp_requests": arp,
            "last_reply_s": max(replies.values()) if replies else None}


def arp_quiet(a):
    quiet = a.quiet_seconds
    with TapNamespace(Skip) as ns:
        vm = ns.vm_inside(Vm(smp=SMP, cmdline="ip=%s/24,10.77.0.1" % GUEST, net=ns.net_args()))
        with vm:
            vm.wait_for(r"appliance: ready", 60)
            ns.run("ip", "neigh", "replace", GUEST, "lladdr", GUEST_MAC, "dev", "tap0",
                   "nud", "permanent", check=True)

            def get_status():
                return in_netns(ns.ns, status, GUEST)

            def talk():
                def ask(port, payload):
                    return udp_ask(port, payload, timeout=5, host=GUEST)
                _warm_up(GUEST, 80, 5555, ask)
                for i in range(10):
                    r = ask(5555, b"%d 1\n" % (1000 * (i + 1)))
                    assert _check_reply(r, 1000 * (i + 1), 1, "repeat") == "ok", r
            in_netns(ns.ns, talk)
            base = baseline(get_status)
            t_quiet = time.monotonic()
            print("arp-quiet: talked, now silent for %d s (ARP_MAXAGE %d s)"
                  % (quiet, ARP_MAXAGE_S), flush=True)
            while time.monotonic() - t_quiet < quiet:
                time.sleep(min(10, quiet - (time.monotonic() - t_quiet)))
                if not vm.alive():
                    raise AssertionError("QEMU exited during the quiet spell:\n" + vm.tail())
            res = in_netns(ns.ns, _burst, 20)
            leak = leak_check("arp-quiet", get_status, base)
            alive = vm.alive() and "PANIC" not in vm.out
    line = ("arp-quiet: %d requests at once after %.0f s of silence, %d replies (%d wrong), "
            "guest sent %d ARP request(s), last reply after %s s"
            % (res["sent"], quiet, res["replies"], len(res["wrong"]), res["arp_requests"],
               "%.3f" % res["last_reply_s"] if res["last_reply_s"] is not None else "-"))
    ok = (res["replies"] == res["sent"] and not res["wrong"] and res["arp_requests"] >= 1
          and alive)
    notes = []
    if res["wrong"]:
        notes.append("wrong or duplicate replies: %r" % res["wrong"][:5])
    if res["arp_requests"] < 1:
        notes.append("the guest sent no ARP request: its entry did not expire, so the "
                     "category tested nothing (quiet spell %d s, ARP_MAXAGE %d s)"
                     % (quiet, ARP_MAXAGE_S))
    return [(ok, line, notes), leak]


# ---- udp-long ------------------------------------------------------------------

class UdpLoad:
    """n requests over `inflight` sockets, one outstanding per socket, so
    that a reply always belongs to the request of its socket; consecutive
    requests of a socket differ in their task count, so a second reply to
    the previous request cannot pass as the answer to the next."""

    LOST_S = 20

    def __init__(self, host, port, n, inflight, max_seconds):
        self.addr = (host, port)
        self.n, self.inflight, self.max_seconds = n, inflight, max_seconds
        self.sent = self.ok = self.busy = self.lost = self.extra = 0
        self.wrong = []
        self.timed_out = False

    def _new_socket(self, sel, k):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setblocking(False)
        s.connect(self.addr)
        st = {"k": k, "count": 0, "req": None, "t": 0.0, "next": 0.0}
        sel.register(s, selectors.EVENT_READ, st)
        return s

    def _send(self, s, st):
        c = st["count"]
        st["count"] += 1
        tasks = 1 + c % 4
        limit = LIMITS[(c // 4 + st["k"]) % len(LIMITS)]
        mode = ("repeat", "split")[(c // 2 + st["k"]) % 2]
        st["req"] = (limit, tasks, mode)
        st["t"] = time.monotonic()
        s.send(b"%d %d %s\n" % (limit, tasks, mode.encode()))
        self.sent += 1

    BUSY_BACKOFF_S = 0.02   # a socket told ERR busy waits this long before its next request

    def run(self):
        sel = selectors.DefaultSelector()
        t0 = time.monotonic()
        socks = [self._new_socket(sel, k) for k in range(self.inflight)]

        def may_send():
            return self.sent < self.n and time.monotonic() - t0 <= self.max_seconds
        for s in socks:
            if may_send():
                self._send(s, sel.get_key(s).data)
        next_sweep = time.monotonic() + 1
        waiting = set()         # sockets backing off after ERR busy
        while True:
            now = time.monotonic()
            for s in list(waiting):
                st = sel.get_key(s).data
                if now >= st["next"]:
                    waiting.discard(s)
                    st["next"] = 0.0
                    if may_send():
                        self._send(s, st)
            if not may_send() and not waiting and \
                    not any(sel.get_key(s).data["req"] for s in socks):
                break
            for key, _ in sel.select(0.01 if waiting else 0.5):
                s, st = key.fileobj, key.data
                while True:
                    try:
                        data = s.recv(2048)
                    except BlockingIOError:
                        break
                    except ConnectionRefusedError:
                        continue
                    if not st["req"]:
                        self.extra += 1
                        continue
                    verdict = _check_reply(data, *st["req"])
                    st["req"] = None
                    st["next"] = 0.0
                    if verdict == "ok":
                        self.ok += 1
                    elif verdict == "busy":
                        self.busy += 1
                        st["next"] = time.monotonic() + self.BUSY_BACKOFF_S
                        waiting.add(s)
                    else:
                        self.wrong.append(verdict)
                if not st["req"] and not st["next"] and may_send():
                    self._send(s, st)
            now = time.monotonic()
            if now >= next_sweep:
                next_sweep = now + 1
                for i, s in enumerate(socks):
                    st = sel.get_key(s).data
                    if st["req"] and now - st["t"] > self.LOST_S:
                        # never answered: a fresh socket, so that a late
                        # reply cannot pass for the next request's
                        self.lost += 1
                        sel.unregister(s)
                        s.close()
                        waiting.discard(s)
                        socks[i] = self._new_socket(sel, st["k"])
                        if may_send():
                            self._send(socks[i], sel.get_key(socks[i]).data)
        self.timed_out = self.sent < self.n
        self.seconds = time.monotonic() - t0
        # a duplicate reply would still be on its way: wait for it
        end = time.monotonic() + 2
        while time.monotonic() < end:
            for key, _ in sel.select(0.2):
                try:
                    while key.fileobj.recv(2048):
                        self.extra += 1
                except (BlockingIOError, ConnectionRefusedError):
                    pass
        for s in socks:
            s.close()
        return self


def udp_long(a):
    udp, http = free_port(), free_port(socket.SOCK_STREAM)
    with Vm(smp=SMP, net=user_net(udp=[(udp, 5555)], tcp=[(http, 80)])) as vm:
        wait_udp_ready(udp, b"10\n")

        def get_status():
            return status("127.0.0.1", http)
        _warm_up("127.0.0.1", http, udp, lambda p, b: udp_ask(p, b, timeout=10))
        base = baseline(get_status)
        before = get_status()
        load = UdpLoad("127.0.0.1", udp, a.udp_requests, a.udp_inflight, a.udp_max_seconds).run()
        after = get_status()
        leak = leak_check("udp-long", get_status, base)
        alive = vm.alive() and "PANIC" not in vm.out
    accepted = after["jobs"]["accepted"] - before["jobs"]["accepted"]
    busy_counted = after["udp"]["busy"] - before["udp"]["busy"]
    line = ("udp-long: %d requests (%d in flight), %d replies right, %d ERR busy, %d wrong, "
            "%d lost, %d extra, %.0f s (%.0f/s); appliance counted %d accepted, %d busy%s"
            % (load.sent, a.udp_inflight, load.ok, load.busy, len(load.wrong), load.lost,
               load.extra, load.seconds, load.sent / max(load.seconds, 1e-3), accepted,
               busy_counted, ", stopped at the %d s bound" % a.udp_max_seconds
               if load.timed_out else ""))
    ok = (alive and load.ok + load.busy == load.sent and not load.wrong and not load.lost and
          not load.extra and accepted == load.ok and busy_counted == load.busy and load.ok > 0)
    notes = ["wrong: %r" % load.wrong[:5]] if load.wrong else []
    return [(ok, line, notes), leak]


# ---- http-long -----------------------------------------------------------------

class UdpJobs(threading.Thread):
    """Jobs of a known count, `workers` at a time, until stopped (from
    inside namespace ns)."""

    def __init__(self, ns, workers=4, job=(200000, 2, "repeat")):
        super().__init__(daemon=True)
        self.ns, self.workers, self.job = ns, workers, job
        self.stop = threading.Event()
        self.sent = self.ok = self.busy = self.lost = 0
        self.wrong = []
        self.lock = threading.Lock()

    def _worker(self):
        _in_namespace()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(30)
        limit, tasks, mode = self.job
        while not self.stop.is_set():
            s.sendto(b"%d %d %s\n" % (limit, tasks, mode.encode()), (GUEST, 5555))
            with self.lock:
                self.sent += 1
            try:
                verdict = _check_reply(s.recv(2048), limit, tasks, mode)
            except socket.timeout:
                verdict = "lost"
            with self.lock:
                if verdict == "ok":
                    self.ok += 1
                elif verdict == "busy":
                    self.busy += 1
                elif verdict == "lost":
                    self.lost += 1
                else:
                    self.wrong.append(verdict)
            if verdict != "ok":
                time.sleep(0.1)
        s.close()

    def run(self):
        ts = [threading.Thread(target=in_netns, args=(self.ns, self._worker), daemon=True)
              for _ in range(self.workers)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()


def _parse_wrk(out):
    res = {"requests": None, "errors": {}, "non2xx": 0, "rps": None, "p99": None, "max": None}
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    if m:
        res["requests"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        res["errors"] = dict(zip(("connect", "read", "write", "timeout"),
                                 map(int, m.groups())))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        res["non2xx"] = int(m.group(1))
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if m:
        res["rps"] = float(m.group(1))
    m = re.search(r"99%\s+(\S+)", out)
    if m:
        res["p99"] = m.group(1)
    m = re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", out)
    if m:
        res["max"] = m.group(1)
    return res


def http_long(a):
    if not shutil.which("wrk"):
        raise Skip("wrk is not installed (Debian package wrk; tools/deps.sh installs it)")
    with TapNamespace(Skip) as ns:
        vm = ns.vm_inside(Vm(smp=SMP, cmdline="ip=%s/24,10.77.0.1" % GUEST, net=ns.net_args()))
        with vm:
            vm.wait_for(r"appliance: ready", 60)

            def get_status():
                return in_netns(ns.ns, status, GUEST)
            in_netns(ns.ns, _warm_up, GUEST, 80, 5555,
                     lambda p, b: udp_ask(p, b, timeout=10, host=GUEST))
            base = baseline(get_status)
            jobs = UdpJobs(ns.ns)
            jobs.start()
            t0 = time.monotonic()
            r = ns.run("wrk", "-t", "2", "-c", str(a.http_connections), "-d",
                       "%ds" % a.http_seconds, "--timeout", "10s", "--latency",
                       "http://%s/api/status" % GUEST, timeout=a.http_seconds + 120)
            wrk_s = time.monotonic() - t0
            jobs.stop.set()
            jobs.join(60)
            leak = leak_check("http-long", get_status, base)
            alive = vm.alive() and "PANIC" not in vm.out
    w = _parse_wrk(r.stdout)
    errs = sum(w["errors"].values())
    line = ("http-long: wrk %d connections for %.0f s: %s requests (%s/s, p99 %s, max %s), "
            "%d socket errors%s, %d non-2xx; meanwhile %d udp jobs, %d right, %d ERR busy, "
            "%d wrong, %d lost"
            % (a.http_connections, wrk_s, w["requests"], w["rps"], w["p99"], w["max"], errs,
               " %s" % w["errors"] if errs else "", w["non2xx"], jobs.sent, jobs.ok, jobs.busy,
               len(jobs.wrong), jobs.lost))
    ok = (alive and r.returncode == 0 and w["requests"] and not errs and not w["non2xx"] and
          not jobs.wrong and not jobs.lost and jobs.ok > 0)
    notes = [] if r.returncode == 0 and w["requests"] else \
        ["wrk: " + (r.stdout + r.stderr)[-500:]]
    if jobs.wrong:
        notes.append("wrong: %r" % jobs.wrong[:5])
    return [(ok, line, notes), leak]


# ---- fuzz-long ------------------------------------------------------------------

def fuzz_long(a):
    cmd = ["make", "-C", TOP, "--no-print-directory", "fuzz", "FUZZ_SECONDS=%d" % a.fuzz_seconds]
    targets = len([f for f in os.listdir(os.path.join(TOP, "tests", "fuzz"))
                   if f.startswith("fuzz_") and f.endswith(".c")])
    r = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                       timeout=targets * (a.fuzz_seconds + 120) + 600)
    out = r.stdout + r.stderr
    lines = [l for l in out.splitlines() if l.startswith("fuzz_")]
    runs = sum(int(m.group(1)) for m in (re.search(r"\+ (\d+) runs", l) for l in lines) if m)
    crashes = sum("CRASH" in l for l in lines)
    line = ("fuzz-long: %d targets x %d s, %d runs, %d crashes"
            % (len(lines), a.fuzz_seconds, runs, crashes))
    ok = r.returncode == 0 and crashes == 0 and len(lines) == targets
    notes = lines if not ok else []
    if r.returncode != 0 and not lines:
        notes.append(out[-1500:])
    return [(ok, line, notes)]


CATEGORIES = [("arp-quiet", arp_quiet), ("udp-long", udp_long), ("http-long", http_long),
              ("fuzz-long", fuzz_long)]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="udp-long 10,000 requests, http-long 30 s, fuzz-long 10 s a target "
                    "(arp-quiet unchanged)")
    ap.add_argument("--only", default="", help="comma-separated categories (default: all)")
    ap.add_argument("--quiet-seconds", type=int, default=ARP_MAXAGE_S + 60,
                    help="arp-quiet's silence (default %%(default)s; must exceed %d)"
                    % ARP_MAXAGE_S)
    ap.add_argument("--udp-requests", type=int, help="udp-long requests (default 100000)")
    ap.add_argument("--udp-inflight", type=int, default=100,
                    help="udp-long requests in flight (default %(default)s)")
    ap.add_argument("--udp-max-seconds", type=int, default=900,
                    help="udp-long stops sending after this (default %(default)s)")
    ap.add_argument("--http-seconds", type=int, help="http-long wrk run (default 300)")
    ap.add_argument("--http-connections", type=int, default=64,
                    help="http-long wrk connections (default %(default)s)")
    ap.add_argument("--fuzz-seconds", type=int, help="fuzz-long, per target (default 120)")
    a = ap.parse_args()
    if a.udp_requests is None:
        a.udp_requests = 10000 if a.quick else 100000
    if a.http_seconds is None:
        a.http_seconds = 30 if a.quick else 300
    if a.fuzz_seconds is None:
        a.fuzz_seconds = 10 if a.quick else 120
    if a.quiet_seconds <= ARP_MAXAGE_S:
        print("arp-quiet: a quiet spell of %d s does not outlast ARP_MAXAGE (%d s); the "
              "category will fail" % (a.quiet_seconds, ARP_MAXAGE_S), flush=True)
    names = [n for n, _ in CATEGORIES]
    only = [n.strip() for n in a.only.split(",") if n.strip()]
    unknown = [n for n in only if n not in names]
    if unknown:
        ap.error("unknown categories %s (known: %s)" % (", ".join(unknown), ", ".join(names)))

    passed = failed = skipped = 0
    t_all = time.monotonic()
    for name, fn in CATEGORIES:
        if only and name not in only:
            continue
        t0 = time.monotonic()
        try:
            results = fn(a)
        except Skip as e:
            skipped += 1
            print("SKIP %-10s %6.1fs  %s" % (name, time.monotonic() - t0, e), flush=True)
            continue
        except Exception as e:  # noqa: BLE001 - a category failing in any way
            import traceback
            failed += 1
            traceback.print_exc()
            print("%s: failed: %s" % (name, str(e).splitlines()[0][:300] if str(e) else
                                      type(e).__name__))
            print("FAIL %-10s %6.1fs" % (name, time.monotonic() - t0), flush=True)
            continue
        dt = time.monotonic() - t0
        for i, res in enumerate(results):
            ok, line = res[0], res[1]
            print(line)
            for n in (res[2] if len(res) > 2 else []):
                print("  " + n)
            label = name if i == 0 else "leaks(%s)" % name
            print("%s %-10s %6.1fs" % ("PASS" if ok else "FAIL", label, dt if i == 0 else 0),
                  flush=True)
            passed += ok
            failed += not ok
    return summary(passed, failed, skipped, t_all)


if __name__ == "__main__":
    sys.exit(main())
