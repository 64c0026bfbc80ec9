"""test_httpload.py - the HTTP control plane under load and abuse (issue
10, "Reliability"): wrk on 64 keep-alive connections for 30 s while UDP
jobs run, then beyond the connection limit; every connection held silent
until the idle timeout; hostile request shapes, slow senders and slow
readers. Each test prints a category line and checks that the appliance
still serves afterwards.

QEMU's user networking (slirp) accepts forwarded connections on a host
socket that listens with a backlog of 1: when many clients connect at
once, the host kernel drops SYNs (and handshake ACKs) until slirp has
accepted the earlier ones, and the clients retransmit after 1 s, 3 s, ...
Worse, with SYN cookies (Linux's default) a client may count itself
connected while the host dropped its handshake's last ACK: the connection
exists for slirp and the guest only once the client sends something. So
64 simultaneous connects take a second or more (the load test prints the
figure), and connections meant to hold slots silently are opened one at a
time (_hold), each given time to be accepted before the next."""

import json
import os
import re
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time

from net import appliance, first_answer, tcp_exchange, udp_ask, wait_udp_ready

MAX_CONNS = 64          # appliance/http/http.h HTTP_MAX_CONNS
IDLE_S = 20             # HTTP_IDLE_S; API.md: closed after 10 to 30 s of silence
REQUEST_S = 10          # HTTP_REQUEST_S: a request within 10 s of its first byte, else 408
UDP_JOB = b"200000 2\n"
UDP_RESULT = b"35968 tasks=2 "  # 2 x pi(199999) = 2 x 17984

# wrk counts statuses per thread in Lua; done() prints them from the main
# state ("status <code> <count>" lines). Everything else is wrk's own output.
WRK_LUA = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses")) do
      io.write(string.format("status %d %d\\n", code, n))
    end
  end
end
"""


def _get(http, path, timeout=20):
    out = tcp_exchange(http, b"GET %s HTTP/1.1\r\nConnection: close\r\n\r\n" % path.encode(),
                       timeout=timeout)
    return first_answer(out)


def _status(http):
    code, hdrs, body = _get(http, "/api/status")
    assert code == 200, (code, body[:200])
    return json.loads(body)


def _still_serving(udp, http, vm):
    """A UDP job and GET /api/status answered; else the console's tail
    and the host's load go with the failure."""
    try:
        r = udp_ask(udp, UDP_JOB, timeout=20)
        assert r.startswith(UDP_RESULT), r
        return _status(http)
    except (AssertionError, OSError) as e:
        raise AssertionError("not serving: %s; host load %.1f; console:\n%s"
                             % (e, os.getloadavg()[0], vm.tail(20))) from e


def _read_until_close(s, timeout):
    """Reads until the peer closes: (data, 'eof' | 'reset' | 'timeout',
    seconds waited)."""
    t0 = time.monotonic()
    data = b""
    while True:
        left = timeout - (time.monotonic() - t0)
        if left <= 0:
            return data, "timeout", time.monotonic() - t0
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return data, "timeout", time.monotonic() - t0
        except ConnectionResetError:
            return data, "reset", time.monotonic() - t0
        if not chunk:
            return data, "eof", time.monotonic() - t0
        data += chunk


def _idle_bound():
    """The latest a silent connection may be closed: API.md's 30 s, or
    60 s on a host so loaded (load average above 4 per CPU) that the VM
    may not run for seconds at a time; and the load, for the report."""
    load = os.getloadavg()[0]
    return (60 if load > 4 * (os.cpu_count() or 1) else 30), load


def _is_full_503(code, hdrs, body):
    return (code == 503 and hdrs.get("retry-after") == "1" and hdrs.get("connection") == "close"
            and hdrs.get("content-type") == "application/json" and b'"error"' in body)


def _hold(http, n, pause=0.03):
    """n connections that send nothing, opened one at a time (see the top
    of this file): (sockets, seconds it took)."""
    t0 = time.monotonic()
    socks = []
    for _ in range(n):
        socks.append(socket.create_connection(("127.0.0.1", http), timeout=30))
        time.sleep(pause)
    return socks, time.monotonic() - t0


def _host_tcp_drops():
    """The host's counters of handshakes its listen queues could not take
    (all sockets, /proc/net/netstat): ListenOverflows, SyncookiesSent."""
    try:
        with open("/proc/net/netstat") as f:
            lines = [line.split() for line in f if line.startswith("TcpExt:")]
        d = dict(zip(lines[0][1:], map(int, lines[1][1:])))
        return d.get("ListenOverflows", 0), d.get("SyncookiesSent", 0)
    except (OSError, IndexError, ValueError):
        return 0, 0


def _simultaneous(http, n, timeout=30):
    """n clients connecting at once, each asking for /api/status: the
    seconds until the slowest answer, the median, and each client's status
    (None: no answer within timeout; a string: a socket error)."""
    codes, t0 = [None] * n, time.monotonic()
    done = [0.0] * n

    def one(i):
        try:
            codes[i] = _get(http, "/api/status", timeout=timeout)[0]
        except OSError as e:
            codes[i] = repr(e)
        done[i] = time.monotonic() - t0

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout + 30)
    return max(done), sorted(done)[n // 2], codes


# ---- 1. load ------------------------------------------------------------

class _UdpJobs(threading.Thread):
    """Sends UDP_JOB every ~100 ms and checks each answer (one
    outstanding at a time, so every answer is matched to its job)."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.stop = threading.Event()
        self.sent = self.right = self.wrong = self.lost = 0
        self.slowest = self.total = 0.0

    def run(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(15)
        while not self.stop.is_set():
            t0 = time.monotonic()
            s.sendto(UDP_JOB, ("127.0.0.1", self.port))
            self.sent += 1
            try:
                r, _ = s.recvfrom(1024)
                if r.startswith(UDP_RESULT):
                    self.right += 1
                else:
                    self.wrong += 1
                    print("udp: wrong answer %r" % r)
            except socket.timeout:
                self.lost += 1
                # a late answer would be taken for the next job's
                s.close()
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.settimeout(15)
            dt = time.monotonic() - t0
            self.slowest = max(self.slowest, dt)
            self.total += dt
            self.stop.wait(max(0.0, 0.1 - dt))
        s.close()


def _wrk(http, conns, seconds, lua):
    cmd = ["wrk", "-t", "2", "-c", str(conns), "-d", "%ds" % seconds, "--timeout", "30s",
           "--latency", "-s", lua, "http://127.0.0.1:%d/api/status" % http]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    out = r.stdout
    assert r.returncode == 0, out + r.stderr
    m = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    assert m, out
    res = {"requests": int(m.group(1)), "out": out}
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["errors"] = dict(zip(("connect", "read", "write", "timeout"),
                             map(int, m.groups()))) if m else {}
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    res["non2xx"] = int(m.group(1)) if m else 0
    res["statuses"] = {}
    for code, n in re.findall(r"^status (\d+) (\d+)$", out, re.M):
        res["statuses"][int(code)] = res["statuses"].get(int(code), 0) + int(n)
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    res["rps"] = float(m.group(1)) if m else 0.0
    m = re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", out)
    res["latency_max"] = m.group(1) if m else "?"
    m = re.search(r"99%\s+(\S+)", out)
    res["latency_p99"] = m.group(1) if m else "?"
    return res


def _check_wrk(res, min_requests):
    out = res["out"]
    errors = sum(res["errors"].values())
    assert errors == 0, out
    # every answer was counted by the script, and only 503 is not a 200
    assert sum(res["statuses"].values()) == res["requests"], out
    assert set(res["statuses"]) <= {200, 503}, out
    assert res["non2xx"] == res["statuses"].get(503, 0), out
    assert res["requests"] >= min_requests, out


def test_http_load_with_wrk_while_udp_jobs_run():
    """64 keep-alive connections on /api/status for 30 s (the connection
    limit: nothing is turned away), UDP jobs checked meanwhile; then, with
    every slot held, 16 more for 5 s: each answered 503 + Retry-After and
    Connection: close, reconnecting, never reset."""
    if not shutil.which("wrk"):
        raise Skip("wrk is not installed (tools/deps.sh installs it)")  # noqa: F821
    vm, udp, http = appliance(smp=2)
    with vm, tempfile.TemporaryDirectory(prefix="httpload-") as tmp:
        lua = os.path.join(tmp, "statuses.lua")
        with open(lua, "w") as f:
            f.write(WRK_LUA)
        wait_udp_ready(udp, b"10\n")
        st0 = _status(http)
        drops0 = _host_tcp_drops()
        t_sim, t_sim_median, sim_codes = _simultaneous(http, MAX_CONNS)
        drops = [b - a for a, b in zip(drops0, _host_tcp_drops())]
        jobs = _UdpJobs(udp)
        jobs.start()
        t0 = time.monotonic()
        res = _wrk(http, MAX_CONNS, 30, lua)
        t_wrk = time.monotonic() - t0
        jobs.stop.set()
        jobs.join(30)
        time.sleep(3)       # wrk's connections closed and out of TIME-WAIT
        st_mid = _status(http)      # no connection left stuck open
        held, t_hold = _hold(http, MAX_CONNS)
        probe = first_answer(tcp_exchange(http, b"GET /api/status HTTP/1.1\r\n\r\n", timeout=20))
        over = _wrk(http, 16, 5, lua)
        for s in held:
            s.close()
        time.sleep(1)
        assert vm.alive() and "PANIC" not in vm.out, vm.tail()
        _still_serving(udp, http, vm)
    errors = sum(res["errors"].values())
    print("http-load: %d requests, %d errors, %d 503s, %d udp jobs answered right"
          % (res["requests"], errors, res["statuses"].get(503, 0), jobs.right))
    print("http-load: %d simultaneous clients: %d answered within %.2f s (median %.2f s), host "
          "listen overflows %d, SYN cookies %d; "
          "64 connections %.1f s: %.0f requests/s, latency p99 %s max %s; "
          "udp: %d sent, %d wrong, %d lost, mean %.2f s, slowest %.2f s; heap %d -> %d bytes, "
          "tcp pcbs %d -> %d after wrk"
          % (MAX_CONNS, sim_codes.count(200), t_sim, t_sim_median, drops[0], drops[1], t_wrk,
             res["rps"], res["latency_p99"], res["latency_max"], jobs.sent, jobs.wrong, jobs.lost,
             jobs.total / max(1, jobs.sent), jobs.slowest,
             st0["memory"]["heap_used_bytes"], st_mid["memory"]["heap_used_bytes"],
             st0["lwip"]["tcp_pcbs"], st_mid["lwip"]["tcp_pcbs"]))
    print("http-load-over-limit: %d held (opened in %.1f s), 16 more for 5 s: %d requests, "
          "%d errors, %d 503s, latency p99 %s max %s"
          % (MAX_CONNS, t_hold, over["requests"], sum(over["errors"].values()),
             over["statuses"].get(503, 0), over["latency_p99"], over["latency_max"]))
    # Never refused or reset; a client may still be stuck in the host's
    # SYN-cookie retransmissions (see the top) when the host is loaded.
    assert set(sim_codes) <= {200, None}, sim_codes
    _check_wrk(res, 3000)
    assert jobs.wrong == 0 and jobs.lost == 0, (jobs.sent, jobs.wrong, jobs.lost)
    # Not a rate: under the flood the BSP serves HTTP inside its task of
    # each job, so a job takes 0.1..3 s instead of 50 ms; but some finish.
    assert jobs.right >= 5, jobs.right
    assert st_mid["lwip"]["tcp_pcbs"] <= st0["lwip"]["tcp_pcbs"], st_mid["lwip"]
    assert st_mid["memory"]["heap_used_bytes"] <= st0["memory"]["heap_used_bytes"] + 16384, (
        st0["memory"], st_mid["memory"])
    assert _is_full_503(*probe), probe
    _check_wrk(over, 100)
    assert set(over["statuses"]) == {503}, over["out"]


# ---- 2. connection exhaustion -------------------------------------------

def test_http_connection_exhaustion():
    """Every connection held silent, and 8 more: the 8 and a new client
    get 503 at once (no hang, no reset); the silent ones are closed after
    HTTP_IDLE_S, new clients are served again and the pcbs are freed."""
    extra = 8
    n = MAX_CONNS + extra
    vm, udp, http = appliance(smp=2)
    with vm:
        wait_udp_ready(udp, b"10\n")
        time.sleep(3)       # TIME-WAIT of the readiness check's connection, if any
        st0 = _status(http)
        pcbs0, heap0 = st0["lwip"]["tcp_pcbs"], st0["memory"]["heap_used_bytes"]
        socks, opened = [], []
        t0 = time.monotonic()
        for _ in range(n):
            socks.append(socket.create_connection(("127.0.0.1", http), timeout=30))
            opened.append(time.monotonic())
            time.sleep(0.03)     # one at a time: see _hold
        t_connect = max(opened) - t0
        # The guest sees a connection a little after the host's connect
        # returns (slirp accepts, then connects to the guest): give the
        # last ones time to arrive and the 503s time to come back.
        refused, silent = [], []
        deadline = time.monotonic() + 15
        pending = list(range(n))
        answers = {}
        while time.monotonic() < deadline and len(refused) < extra:
            r, _, _ = select.select([socks[i] for i in pending], [], [], 0.5)
            for s in r:
                i = socks.index(s)
                data, how, _ = _read_until_close(s, 5)
                answers[i] = (data, how)
                pending.remove(i)
                (refused if _is_full_503(*first_answer(data)) and how == "eof" else silent).append(i)
        time.sleep(1)
        r, _, _ = select.select([socks[i] for i in pending], [], [], 0)
        assert not r, "a held connection got an answer or was closed early: %r" % [
            socks.index(s) for s in r]
        held = pending
        for i in refused:
            socks[i].close()
        # A new client now: a prompt 503, not a hang or a reset.
        t1 = time.monotonic()
        s = socket.create_connection(("127.0.0.1", http), timeout=30)
        s.sendall(b"GET /api/status HTTP/1.1\r\n\r\n")
        data, how, _ = _read_until_close(s, 15)
        s.close()
        t_new = time.monotonic() - t1
        new_code = first_answer(data)[0]
        new_ok = _is_full_503(*first_answer(data)) and how == "eof"
        # The held ones are closed by the appliance after HTTP_IDLE_S.
        closed_after = []
        last_open = max(opened[i] for i in held)
        while held and time.monotonic() < last_open + IDLE_S + 50:
            r, _, _ = select.select([socks[i] for i in held], [], [], 1)
            for s in r:
                i = socks.index(s)
                data, how, _ = _read_until_close(s, 2)
                closed_after.append((time.monotonic() - opened[i], data, how))
                s.close()
                held.remove(i)
        for i in held:
            socks[i].close()
        served = 0
        for _ in range(5):
            code, _, _ = _get(http, "/api/status")
            served += code == 200
        # pcbs back to where they were once TIME-WAIT (2 x TCP_MSL = 2 s,
        # on a 500 ms timer) is over, that of each status request too.
        deadline = time.monotonic() + 15
        while True:
            time.sleep(3)
            st = _status(http)
            if st["lwip"]["tcp_pcbs"] <= pcbs0 or time.monotonic() > deadline:
                break
        _still_serving(udp, http, vm)
        assert vm.alive() and "PANIC" not in vm.out, vm.tail()
    waits = [c[0] for c in closed_after]
    clean = [c for c in closed_after if c[1] == b"" and c[2] == "eof"]
    print("http-exhaustion: %d connections opened one by one in %.2f s, %d held, "
          "%d answered 503 at once; a new client got %s in %.2f s; held ones closed after "
          "%.1f..%.1f s idle (%d of %d cleanly), then %d/5 served; tcp pcbs %d -> %d, "
          "heap %d -> %d bytes; host load %.1f"
          % (n, t_connect, MAX_CONNS, len(refused), new_code, t_new,
             min(waits) if waits else -1, max(waits) if waits else -1, len(clean),
             MAX_CONNS, served, pcbs0, st["lwip"]["tcp_pcbs"], heap0,
             st["memory"]["heap_used_bytes"], os.getloadavg()[0]))
    assert len(refused) == extra, answers
    assert len(silent) == 0, [answers[i] for i in silent]
    assert new_ok and t_new < 5, (data, how, t_new)
    assert len(closed_after) == MAX_CONNS and len(clean) == MAX_CONNS, closed_after[:5]
    bound, load = _idle_bound()
    assert all(10 <= w <= bound for w in waits), (waits, "load average %.1f" % load)
    assert served == 5
    assert st["lwip"]["tcp_pcbs"] <= pcbs0, (pcbs0, st["lwip"])
    assert st["memory"]["heap_used_bytes"] <= heap0 + 16384, (heap0, st["memory"])


# ---- 3. hostile inputs --------------------------------------------------

def _body_post(body, extra=b""):
    return (b"POST /api/jobs HTTP/1.1\r\nConnection: close\r\n%sContent-Length: %d\r\n\r\n%s"
            % (extra, len(body), body))


# (name, request, status expected (None: closed without an answer), counted
# as bad, half-close after sending)
CLOSE = b"Connection: close\r\n"
HOSTILE = [
    ("no version", b"GET /api/status\r\n\r\n", 400, True, False),
    ("4-part request line", b"GET /api/status HTTP/1.1 extra\r\n\r\n", 400, True, False),
    ("lowercase method", b"get /api/status HTTP/1.1\r\n" + CLOSE + b"\r\n", 405, False, False),
    ("missing path", b"GET HTTP/1.1\r\n\r\n", 400, True, False),
    ("two spaces", b"GET  /api/status HTTP/1.1\r\n\r\n", 400, True, False),
    ("absurd method", b"A" * 300 + b" /api/status HTTP/1.1\r\n\r\n", 400, True, False),
    ("unknown method", b"BREW /api/status HTTP/1.1\r\n" + CLOSE + b"\r\n", 405, False, False),
    ("non-token method", b"G\xc3\x89T /api/status HTTP/1.1\r\n\r\n", 400, True, False),
    ("HTTP/1.10", b"GET /api/status HTTP/1.10\r\n\r\n", 400, True, False),
    ("HTTP/3", b"GET /api/status HTTP/3.0\r\n\r\n", 505, True, False),
    ("binary junk", bytes(range(256)) * 4 + b"\r\n\r\n", 400, True, False),
    ("2000 tiny headers (10 KB)", b"GET /api/status HTTP/1.1\r\n" + b"a:b\r\n" * 2000 + b"\r\n",
     431, True, False),
    ("1500 empty headers (6 KB)", b"GET /api/status HTTP/1.1\r\n" + CLOSE + b"a:\r\n" * 1500 +
     b"\r\n", 200, False, False),
    ("9 KiB header", b"GET /api/status HTTP/1.1\r\nX-Big: " + b"x" * 9216 + b"\r\n\r\n",
     431, True, False),
    ("header without colon", b"GET /api/status HTTP/1.1\r\nNoColon\r\n\r\n", 400, True, False),
    ("Content-Length 5000", b"POST /api/jobs HTTP/1.1\r\nContent-Length: 5000\r\n\r\n",
     413, True, False),
    ("Content-Length 10^22", b"POST /api/jobs HTTP/1.1\r\nContent-Length: 1" + b"0" * 22 +
     b"\r\n\r\n", 413, True, False),
    ("negative Content-Length", b"POST /api/jobs HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
     400, True, False),
    ("two Content-Lengths", b"POST /api/jobs HTTP/1.1\r\nContent-Length: 2\r\n"
     b"Content-Length: 2\r\n\r\n{}", 400, True, False),
    ("chunked body", b"POST /api/jobs HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"d\r\n{\"limit\":10}\r\n0\r\n\r\n", 411, True, False),
    ("body without length", b"POST /api/jobs HTTP/1.1\r\n\r\n", 411, True, False),
    ("NUL in path", b"GET /api/st\x00atus HTTP/1.1\r\n\r\n", 400, True, False),
    ("non-UTF-8 path", b"GET /api/\xff\xfe\xc0 HTTP/1.1\r\n" + CLOSE + b"\r\n", 404, False, False),
    ("non-UTF-8 query", b"GET /api/jobs?limit=\xff HTTP/1.1\r\n" + CLOSE + b"\r\n", 400, True,
     False),
    ("NUL in header value", b"GET /api/status HTTP/1.1\r\nX-A: a\x00b\r\n\r\n", 400, True, False),
    ("NUL in header name", b"GET /api/status HTTP/1.1\r\nX\x00A: b\r\n\r\n", 400, True, False),
    ("non-UTF-8 header value", b"GET /api/status HTTP/1.1\r\n" + CLOSE +
     b"X-A: \xff\xfe\x80\r\n\r\n", 200, False, False),
    ("NUL in body", _body_post(b'{"limit":10\x00}'), 400, True, False),
    ("non-UTF-8 field name", _body_post(b'{"limit":10,"\xff\xfe":1}'), 400, True, False),
    ("non-UTF-8 mode", _body_post(b'{"limit":10,"mode":"\xc3\x28"}'), 400, True, False),
    ("half-close in the request line", b"GET /api/sta", None, False, True),
    ("half-close in the head", b"GET /api/status HTTP/1.1\r\nHost: x", None, False, True),
    ("half-close after a complete request", b"GET /api/status HTTP/1.1\r\n\r\n", 200, False,
     True),
]


def _hostile_one(http, req, half_close):
    s = socket.create_connection(("127.0.0.1", http), timeout=20)
    try:
        s.sendall(req)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        data, how, dt = _read_until_close(s, 15)
    finally:
        s.close()
    return data, how, dt


def _short_body(http, res):
    """Content-Length larger than the body sent, then silence: the
    appliance must not wait forever: 408 once the request has had
    REQUEST_S since its first byte (API.md section 3), then it closes."""
    s = socket.create_connection(("127.0.0.1", http), timeout=20)
    s.sendall(b"POST /api/jobs HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"limit\":10}")
    res["short"] = _read_until_close(s, 70)
    s.close()


def _slow_sender(http, res):
    """A request 1 byte every 50 ms: answered all the same."""
    req = b"GET /api/status HTTP/1.1\r\nConnection: close\r\n\r\n"
    s = socket.create_connection(("127.0.0.1", http), timeout=20)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t0 = time.monotonic()
    for i in range(len(req)):
        s.send(req[i:i + 1])
        time.sleep(0.05)
    data, how, _ = _read_until_close(s, 20)
    s.close()
    res["slow_send"] = (first_answer(data)[0], how, time.monotonic() - t0)


def test_hostile_http_inputs():
    """Broken request lines, absurd header counts and sizes, bad lengths,
    chunked bodies, NUL and non-UTF-8 bytes, half-closes, a short body, a
    slow sender and a slow reader: each answered (or closed) as expected,
    the `bad` counter rises by exactly the number refused as malformed,
    and the appliance still serves."""
    vm, udp, http = appliance(smp=2)
    with vm:
        wait_udp_ready(udp, b"10\n")
        before = _status(http)
        side = {}
        bg = [threading.Thread(target=_short_body, args=(http, side), daemon=True),
              threading.Thread(target=_slow_sender, args=(http, side), daemon=True)]
        for t in bg:
            t.start()
        tried = ok = bad_expected = 0
        wrong = []
        for name, req, want, bad, half in HOSTILE:
            tried += 1
            bad_expected += bad
            data, how, dt = _hostile_one(http, req, half)
            code, hdrs, body = first_answer(data)
            if want is None:
                good = data == b"" and how == "eof" and dt < 5
            else:
                good = code == want and how == "eof"
                if want != 200:
                    good = good and (hdrs.get("connection") == "close" and
                                     hdrs.get("content-type") == "application/json" and
                                     body.startswith(b'{"error":'))
                if want == 405:
                    good = good and hdrs.get("allow") == "GET"
            ok += good
            if not good:
                wrong.append((name, code, how, round(dt, 2), data[:120]))

        # The slow reader: many jobs, then ten pipelined lists of all of
        # them read through a tiny receive buffer, while other clients
        # are served.
        for i in range(300):
            r = udp_ask(udp, b"1000 1\n", timeout=10)
            assert r.startswith(b"168 tasks=1 "), r
        lists = 10
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(30)
        s.connect(("127.0.0.1", http))
        s.sendall(b"GET /api/jobs?limit=1000 HTTP/1.1\r\n\r\n" * (lists - 1) +
                  b"GET /api/jobs?limit=1000 HTTP/1.1\r\nConnection: close\r\n\r\n")
        others = []
        stop = threading.Event()

        def other_clients():
            while not stop.is_set():
                t0 = time.monotonic()
                code, _, _ = _get(http, "/api/status", timeout=10)
                others.append((code, time.monotonic() - t0))
                stop.wait(0.1)

        oc = threading.Thread(target=other_clients, daemon=True)
        oc.start()
        t0 = time.monotonic()
        data = b""
        while True:
            chunk = s.recv(1024)
            if not chunk:
                break
            data += chunk
            time.sleep(0.005)
        t_slow = time.monotonic() - t0
        s.close()
        stop.set()
        oc.join(20)
        pieces = data.split(b"HTTP/1.1 200 OK\r\n")
        njobs = []
        for p in pieces[1:]:
            code, hdrs, body = first_answer(b"HTTP/1.1 200 OK\r\n" + p)
            njobs.append(len(json.loads(body)["jobs"]))
        tried += 1
        slow_read_ok = len(njobs) == lists and all(k >= 256 for k in njobs)
        others_ok = len(others) >= 3 and all(c == 200 and dt < 3 for c, dt in others)
        ok += slow_read_ok and others_ok
        if not (slow_read_ok and others_ok):
            wrong.append(("slow reader", njobs, others))

        for t in bg:
            t.join(45)
        tried += 2
        short = side.get("short")
        short_ok = short is not None and short[1] == "eof" and \
            REQUEST_S - 0.5 <= short[2] <= _idle_bound()[0] + 1
        if short_ok:
            code, hdrs, body = first_answer(short[0])
            short_ok = (code == 408 and hdrs.get("connection") == "close" and
                        hdrs.get("content-type") == "application/json" and
                        body.startswith(b'{"error":'))
        ok += short_ok
        if not short_ok:
            wrong.append(("short body", short))
        slow = side.get("slow_send")
        slow_ok = slow is not None and slow[0] == 200 and slow[1] == "eof"
        ok += slow_ok
        if not slow_ok:
            wrong.append(("slow sender", slow))

        after = _still_serving(udp, http, vm)
        assert vm.alive() and "PANIC" not in vm.out, vm.tail()
    bad_delta = after["jobs"]["bad"] - before["jobs"]["bad"]
    print("hostile-http: %d tried, %d answered or refused as expected" % (tried, ok))
    print("hostile-http: bad +%d (%d expected); slow reader: %d lists of %s jobs, %d bytes in "
          "%.1f s, %d other requests meanwhile (slowest %.2f s); short body closed after "
          "%.1f s (408); slow sender answered after %.1f s"
          % (bad_delta, bad_expected, len(njobs), njobs[:1], len(data), t_slow, len(others),
             max((dt for _, dt in others), default=-1), short[2] if short else -1,
             slow[2] if slow else -1))
    assert not wrong, wrong
    assert ok == tried
    assert bad_delta == bad_expected, (bad_delta, bad_expected)
