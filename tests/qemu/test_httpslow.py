"""test_httpslow.py - clients that hold the HTTP control plane without
sending anything malformed (issue 17): Slowloris (request heads that
trickle in a byte every few seconds) and clients that pipeline requests
but never read the answers. Each test prints the figures RELIABILITY.md
quotes: connections held, how long a fresh client waited, lwIP heap
held.

Both run the appliance at -smp 1 behind QEMU's user networking; the
connections are opened one at a time (see test_httpload.py: slirp's host
socket listens with a backlog of 1)."""

import json
import os
import select
import socket
import subprocess
import threading
import time

from net import appliance, first_answer, tcp_exchange, wait_udp_ready
from vm import Vm

MAX_CONNS = 64          # appliance/http/http.h HTTP_MAX_CONNS
REQUEST_S = 10          # HTTP_REQUEST_S: a head and body within 10 s of the first byte
SEND_S = 20             # HTTP_SEND_S: unsent output makes progress within 20 s


def _probe(http, timeout):
    """A fresh client's GET /api/status: (status or None, seconds, the
    document or None). None: no answer within timeout (or a reset)."""
    t0 = time.monotonic()
    try:
        out = tcp_exchange(http, b"GET /api/status HTTP/1.1\r\nConnection: close\r\n\r\n",
                           timeout=timeout)
    except OSError:
        return None, time.monotonic() - t0, None
    dt = time.monotonic() - t0
    code, _, body = first_answer(out)
    doc = None
    if code == 200:
        try:
            doc = json.loads(body)
        except ValueError:
            code = None
    return code, dt, doc


class _Prober(threading.Thread):
    """A fresh client every `every` seconds until stopped: each result
    (time since start, status, seconds it waited, document)."""

    def __init__(self, http, every=1.0, timeout=10):
        super().__init__(daemon=True)
        self.http, self.every, self.timeout = http, every, timeout
        self.stop = threading.Event()
        self.results = []
        self.t0 = time.monotonic()

    def run(self):
        while not self.stop.is_set():
            t = time.monotonic() - self.t0
            code, dt, doc = _probe(self.http, self.timeout)
            self.results.append((t, code, dt, doc))
            self.stop.wait(max(0.0, self.every - dt))

    def first_ok(self):
        """Seconds from the start until the first 200 was answered, or None."""
        for t, code, dt, _ in self.results:
            if code == 200:
                return t + dt
        return None


def _status(http):
    code, _, doc = _probe(http, 20)
    assert code == 200, code
    return doc


def _guest_seconds_per_second(http, span=2.0):
    """How fast the appliance's clock runs against the host's (its
    uptime_us over a span of host time): its deadlines are in its own
    seconds, and under TCG on a loaded host its TSC calibration can be
    off. About 1."""
    t1, u1 = time.monotonic(), _status(http)["uptime_us"]
    time.sleep(span)
    t2, u2 = time.monotonic(), _status(http)["uptime_us"]
    return (u2 - u1) / 1e6 / (t2 - t1)


# ---- Slowloris ----------------------------------------------------------

TRICKLE = b"GET /api/status HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 4096
TRICKLE_EVERY_S = 3     # one byte per connection this often


def test_slowloris_heads_get_408():
    """64 connections each send a request head one byte every 3 s (never
    finishing it): they take every slot. Each is answered 408 (JSON
    error, Connection: close) and closed about 10 s after its first byte,
    so a fresh client gets a real answer (200) within 15 s of the last
    trickler's arrival; until then it gets a prompt 503."""
    vm, udp, http = appliance()
    run_s = 45
    with vm:
        wait_udp_ready(udp, b"10\n")
        rate = _guest_seconds_per_second(http)
        time.sleep(3)       # TIME-WAIT of the status requests' connections
        socks, first = [], []
        t_open = time.monotonic()
        for _ in range(MAX_CONNS):
            s = socket.create_connection(("127.0.0.1", http), timeout=30)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.send(TRICKLE[:1])
            first.append(time.monotonic())
            socks.append(s)
            time.sleep(0.03)
        t_all = time.monotonic()
        prober = _Prober(http, every=0.5, timeout=10)
        prober.start()
        sent = [1] * MAX_CONNS
        data = [b""] * MAX_CONNS
        closed = [None] * MAX_CONNS       # (seconds after its first byte, how)
        next_byte = t_all
        while time.monotonic() < t_all + run_s and None in closed:
            now = time.monotonic()
            if now >= next_byte:
                for i, s in enumerate(socks):
                    if closed[i] is None:
                        try:
                            s.send(TRICKLE[sent[i]:sent[i] + 1])
                            sent[i] += 1
                        except OSError:
                            pass    # closed under us: the read below says how
                next_byte = now + TRICKLE_EVERY_S
            live = [s for i, s in enumerate(socks) if closed[i] is None]
            r, _, _ = select.select(live, [], [], max(0.05, min(1.0, next_byte - now)))
            for s in r:
                i = socks.index(s)
                try:
                    chunk = s.recv(65536)
                    how = "eof" if not chunk else None
                except ConnectionResetError:
                    chunk, how = b"", "reset"
                data[i] += chunk
                if how:
                    closed[i] = (time.monotonic() - first[i], how)
        held = sum(c is None for c in closed)
        for s in socks:
            s.close()
        # The prober keeps going a little after the tricklers are gone.
        time.sleep(2)
        prober.stop.set()
        prober.join(30)
        st = _status(http)
        assert vm.alive() and "PANIC" not in vm.out, vm.tail()
    codes = [first_answer(d) for d in data]
    got408 = [i for i, (code, hdrs, body) in enumerate(codes)
              if code == 408 and hdrs.get("connection") == "close" and
              hdrs.get("content-type") == "application/json" and body.startswith(b'{"error":')]
    clean = [i for i in got408 if closed[i] and closed[i][1] == "eof"]
    waits = [closed[i][0] for i in got408 if closed[i]]
    ok_at = prober.first_ok()
    fresh_wait = ok_at - (t_all - prober.t0) if ok_at is not None else None
    statuses = {}
    for _, code, _, _ in prober.results:
        statuses[code] = statuses.get(code, 0) + 1
    slowest = max((dt for _, _, dt, _ in prober.results), default=-1)
    # The appliance's seconds in host seconds (see _guest_seconds_per_second).
    scale = 1 / rate if rate > 0 else 1
    print("slowloris: guest clock %.2f s per host second; %d connections (opened in %.1f s) trickling a byte every %d s for up to "
          "%d s: %d answered 408 and closed (%d cleanly) %.1f..%.1f s after their first byte, "
          "%d still held at the end; fresh clients: %s, the first 200 %s after the last "
          "trickler came, slowest probe %.1f s; http.open %d afterwards"
          % (rate, MAX_CONNS, t_all - t_open, TRICKLE_EVERY_S, run_s, len(got408), len(clean),
             min(waits, default=-1), max(waits, default=-1), held, statuses,
             "%.1f s" % fresh_wait if fresh_wait is not None else "never", slowest,
             st["http"]["open"]))
    assert len(got408) == MAX_CONNS, [(i, codes[i][0], closed[i]) for i in range(MAX_CONNS)
                                       if i not in got408][:8]
    assert len(clean) == MAX_CONNS, [closed[i] for i in got408 if i not in clean][:8]
    # 10 s after the first byte, plus the 500 ms poll and a loaded host's slack.
    assert all((REQUEST_S - 0.5) * scale <= w <= (REQUEST_S + 5) * scale for w in waits), (
        sorted(waits), rate)
    assert fresh_wait is not None and fresh_wait <= 15 * max(1, scale), (
        fresh_wait, rate, prober.results[:5])
    # Until a slot is free a fresh client is told so at once, never left hanging.
    assert all(code in (200, 503) for _, code, _, _ in prober.results), statuses
    assert slowest < 5, slowest
    assert st["http"]["open"] <= 1, st["http"]


# ---- clients that never read ----------------------------------------------

PIPELINE = b"GET /app.js HTTP/1.1\r\nHost: x\r\n\r\n" * 300
NON_READERS = int(os.environ.get("HTTPSLOW_CLIENTS", "20"))
# lwIP's heap (MEM_SIZE) that answers may not take: HTTP_LWIP_HEAP_RESERVE
# in appliance/http/http.c, less a margin for what else lwIP allocates.
HEAP_KEPT_FREE = 48 << 10


def _read_to_end(live, timeout):
    """Reads each of live (what is still buffered for it on the host,
    then its end: EOF or a reset) for up to timeout seconds in all;
    removes from live those that ended. How many ended."""
    ended = 0
    deadline = time.monotonic() + timeout
    while live and time.monotonic() < deadline:
        r, _, _ = select.select(live, [], [], 0.5)
        for s in r:
            try:
                chunk = s.recv(1 << 20)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                ended += 1
                live.remove(s)
    return ended


def _count_cut(socks, timeout):
    """How many of socks the appliance has closed, how many of those only
    when they sent, and those not seen closed. Each is read to its end
    for up to a third of timeout; one still open then sends a blank line
    and is read for the rest. QEMU's user networking closes its host
    socket when the appliance's reset comes, but that socket still holds
    the megabytes of answers it had taken, and hands them on to a client
    with a 4 KiB buffer at a window of under one segment per persist
    timeout (about 10 KB/s, minutes for the lot): a byte sent to it draws
    the host's reset at once. A connection the appliance still held would
    take the byte and answer, never end."""
    live = list(socks)
    at_once = _read_to_end(live, timeout / 3)
    for s in live:
        try:
            s.send(b"\r\n")
        except OSError:
            pass            # reset already: the read below sees it
    when_sent = _read_to_end(live, timeout - timeout / 3)
    return at_once + when_sent, when_sent, live


def _tcp_ends(socks):
    """For a failure's message: both ends of each socket's connection on
    the host (the client, and QEMU's slirp socket), as ss shows them."""
    out = []
    for s in socks:
        try:
            port = s.getsockname()[1]
        except OSError as e:
            out.append(str(e))
            continue
        r = subprocess.run(["ss", "-tnoiH", "state", "all", "( sport = :%d or dport = :%d )"
                            % (port, port)], capture_output=True, text=True, timeout=10)
        out.append(" ".join(r.stdout.split()))
    return out


def _lwip_heap(doc):
    return doc["lwip"]["heap_used_bytes"]


def test_clients_that_do_not_read():
    """20 clients (receive buffer 4 KiB, set before connect) each
    pipeline 300 GET /app.js and never read: what one connection may hold
    is bounded (one answer at a time, and lwIP's heap filled only down to
    a reserve), so a fresh GET /api/status is answered within a few
    seconds the whole time and lwIP keeps 48 KiB free; the stalled
    connections are cut 20 s after their output stopped moving, and once
    the clients are gone lwIP's heap is back at its baseline.
    (HTTPSLOW_CLIENTS=N in the environment runs N clients instead.)"""
    vm, udp, http = appliance()
    run_s = SEND_S + 25
    with vm:
        wait_udp_ready(udp, b"10\n")
        time.sleep(3)
        base = _status(http)
        socks = []
        t0 = time.monotonic()
        for _ in range(NON_READERS):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(30)
            s.connect(("127.0.0.1", http))
            s.setblocking(False)
            try:
                s.send(PIPELINE)
            except BlockingIOError:
                pass
            socks.append(s)
            time.sleep(0.05)
        prober = _Prober(http, every=1.0, timeout=10)
        prober.start()
        time.sleep(run_s - (time.monotonic() - t0))
        prober.stop.set()
        prober.join(30)
        during = _status(http)
        # Every one cut before any is read: reading one not yet cut would
        # make it a client that reads. The last may be cut later than
        # 20 s after the others: while they held lwIP's heap down to its
        # reserve its output moved a segment at a time, and its 20 s ran
        # from then.
        all_cut_s = None
        while time.monotonic() < t0 + run_s + 60:
            if _status(http)["http"]["stalled"] - base["http"]["stalled"] >= NON_READERS:
                all_cut_s = time.monotonic() - t0
                break
            time.sleep(1)
        cut, cut_when_sent, not_cut = _count_cut(socks, 30)
        ends = _tcp_ends(not_cut)
        for s in socks:
            s.close()
        t_gone = time.monotonic()
        # lwIP's heap back at its baseline once they are gone.
        back = None
        heap_after = None
        while time.monotonic() < t_gone + 40:
            time.sleep(2)
            st = _status(http)
            heap_after = _lwip_heap(st)
            if heap_after <= _lwip_heap(base) + 512 and st["http"]["open"] <= 1:
                back = time.monotonic() - t_gone
                break
        after = _status(http)
        assert vm.alive() and "PANIC" not in vm.out, vm.tail()
    res = prober.results
    answered = [r for r in res if r[1] == 200]
    waits = [dt for _, code, dt, _ in res]
    heaps = [_lwip_heap(doc) for _, _, _, doc in answered]
    print("non-readers: %d clients pipelining 300 GET /app.js each, never reading, for %d s: "
          "%d of %d fresh /api/status answered, slowest %.1f s (median %.2f s); lwIP heap "
          "%d bytes before, up to %d during (of %d), %d when the clients went, %s after "
          "(%s); %d of %d connections seen cut by their client (%d when it sent a byte); "
          "http.stalled +%s, %s"
          % (NON_READERS, run_s, len(answered), len(res), max(waits, default=-1),
             sorted(waits)[len(waits) // 2] if waits else -1, _lwip_heap(base),
             max(heaps, default=-1), base["lwip"]["heap_bytes"], _lwip_heap(during), heap_after,
             "back in %.1f s" % back if back is not None else "not back in 40 s", cut,
             NON_READERS, cut_when_sent,
             after["http"].get("stalled", 0) - base["http"].get("stalled", 0),
             "all by %.1f s after the first connected" % all_cut_s if all_cut_s
             else "not within %d s" % (run_s + 60)))
    assert len(res) >= run_s // 3, len(res)
    assert len(answered) == len(res), [(round(t, 1), c, round(dt, 1)) for t, c, _, dt in
                                       [(r[0], r[1], None, r[2]) for r in res] if c != 200]
    assert max(waits) < 5, sorted(waits)[-5:]
    assert max(heaps) <= base["lwip"]["heap_bytes"] - HEAP_KEPT_FREE, (max(heaps), base["lwip"])
    stalled = after["http"]["stalled"] - base["http"]["stalled"]
    assert stalled == NON_READERS and cut == NON_READERS, (
        stalled, cut, ends, {k: v for k, v in after["net"].items() if "drop" in k or "full" in k})
    assert back is not None, (heap_after, _lwip_heap(base))


def _shut_window_peer(mode):
    """Boots the appliance on a tap in a namespace the test makes and runs
    rawpeer.py MODE against it (QEMU's user networking would buffer the
    answer on the host): what the peer saw, and the status afterwards."""
    import sys
    from net import TapNamespace
    guest = "10.77.0.2"
    with TapNamespace(Skip) as ns:  # noqa: F821 - the runner's Skip
        vm = ns.vm_inside(Vm(smp=1, cmdline="ip=%s/24,10.77.0.1" % guest, net=ns.net_args()))
        with vm:
            vm.wait_for(r"appliance: ready", 60)
            r = ns.run(sys.executable, os.path.join(os.path.dirname(__file__), "rawpeer.py"),
                       mode, "tap0", guest, "5555", "40", timeout=90)
            assert r.returncode == 0, r.stdout + r.stderr
            res = json.loads(r.stdout.strip().splitlines()[-1])
            doc = ns.status(guest)
            assert vm.alive() and "PANIC" not in vm.out, vm.tail()
    return res, dict(doc["lwip"], http=doc["http"])


def test_a_closed_answer_held_by_a_shut_window_is_reset():
    """A client that takes 200 bytes of a `Connection: close` answer, then
    shuts its window and answers every window probe: the HTTP layer has
    handed the whole answer to TCP and closed, and lwIP would wait in
    FIN-WAIT-1 for good, holding the pcb and its send buffer (each probe's
    answer restarts its count). lwip_port/tcp_guard.c resets such a
    connection 20 s after its close (TCP_GUARD_CLOSED_TICKS) and counts it,
    with the RST at the right edge of the shut window, where the client
    takes it (lwIP's own would land one byte past it, moved there by its
    probes, and a client's TCP would drop it and wait for good)."""
    res, lw = _shut_window_peer("zerowin")
    print("closed-zero-window: took %d bytes, %d probes answered with window 0, reset after %s s, "
          "%s byte(s) past the window's edge; tcp_closed_cut %d, pcbs %d, http %s"
          % (res["taken"], res["probes"], res["reset_after_s"], res["rst_past_edge"],
             lw["tcp_closed_cut"], lw["tcp_pcbs"], lw["http"]))
    assert res["taken"] == 200 and res["probes"] >= 2, res
    assert res["reset_after_s"] is not None and 15 <= res["reset_after_s"] <= 35, res
    assert res["rst_past_edge"] == 0, res
    assert lw["tcp_closed_cut"] == 1, lw


def test_a_client_that_stopped_reading_takes_the_reset():
    """A client that takes 200 bytes of GET /app.js on a kept-alive
    connection, then shuts its window and answers every window probe: the
    HTTP layer cuts it 20 s after its output stopped moving (stalled) and
    resets it where the client takes the RST, at the shut window's edge
    (tcp_guard_reset): lwIP's own RST lands one byte past it, moved there
    by its probe, where a TCP with its window shut drops it. And the client
    gets its first 200 bytes at all: for a 200-byte window lwIP makes
    100-byte segments and refused a write the size of the send buffer,
    so the answer never started, nothing was in flight to be cut for, and
    the client held its slot for good (http.c's flush now halves a
    refused write)."""
    res, lw = _shut_window_peer("zerowin-open")
    print("stalled-zero-window: took %d bytes, %d probes answered with window 0, reset after %s s, "
          "%s byte(s) past the window's edge; pcbs %d, http %s"
          % (res["taken"], res["probes"], res["reset_after_s"], res["rst_past_edge"],
             lw["tcp_pcbs"], lw["http"]))
    assert res["taken"] == 200 and res["probes"] >= 2, res
    assert res["reset_after_s"] is not None and 15 <= res["reset_after_s"] <= 35, res
    assert res["rst_past_edge"] == 0, res
    assert lw["http"]["stalled"] == 1 and lw["tcp_closed_cut"] == 0, lw
