"""The HTTP/JSON control plane (API.md section 3): status and metrics,
jobs over POST/GET/DELETE with ?wait=1, every error status, keep-alive,
the bearer token, and idle wake-ups read from the counters."""

import http.client
import json
import socket
import time

from net import free_port, tcp_exchange, user_net, wait_udp_ready
from vm import Vm


def _vm(smp=2, cmdline=""):
    hp, up = free_port(socket.SOCK_STREAM), free_port()
    vm = Vm(smp=smp, cmdline=cmdline, net=user_net(udp=[(up, 5555)], tcp=[(hp, 80)]))
    return vm, hp, up


def _ready(vm, hp):
    vm.wait_for(r"http: listening on tcp port 80", 60)
    vm.wait_for(r"net: address", 60)
    deadline = time.monotonic() + 30
    while True:
        try:
            _req(hp, "GET", "/api/status")
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _req(port, method, path, body=None, headers=None, conn=None):
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=90)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    if not conn:
        c.close()
    ctype = r.getheader("Content-Type", "")
    doc = json.loads(data) if ctype.startswith("application/json") else data
    return r.status, doc, r


def _raw(port, data, timeout=20):
    return tcp_exchange(port, data, timeout)


def test_status_and_metrics():
    vm, hp, up = _vm(smp=4)
    with vm:
        _ready(vm, hp)
        code, st, r = _req(hp, "GET", "/api/status")
        assert code == 200 and r.getheader("Content-Type") == "application/json"
        assert len(st["cores"]) == 4
        assert [c["role"] for c in st["cores"]] == ["bsp", "ap", "ap", "ap"]
        for c in st["cores"]:
            assert set(c) == {"id", "apic_id", "role", "state", "halts", "wakes", "tasks_done",
                              "chunks_done", "busy_us"}
            assert c["state"] in ("busy", "idle", "halted")
            assert c["tasks_done"] >= 1           # the boot self-test
        assert st["queue"] == {"depth": 0, "capacity": 64 * 1024}
        assert st["sched"] == "share" and st["chunk_max_us"] >= 0 and st["chunk_p99_us"] >= 0
        assert set(st["jobs"]) >= {"accepted", "running", "done", "cancelled", "rejected", "bad"}
        assert set(st["http"]) == {"open", "refused", "reset", "timed_out", "stalled"}, st["http"]
        assert st["http"]["open"] >= 1 and st["http"]["timed_out"] == st["http"]["stalled"] == 0
        code, text, r = _req(hp, "GET", "/metrics")
        assert code == 200 and r.getheader("Content-Type").startswith("text/plain")
        text = text.decode()
        for name in ("appliance_core_halts_total{core=\"3\"}", "appliance_core_wakes_total",
                     "appliance_core_tasks_total", "appliance_core_busy_seconds_total",
                     "appliance_queue_depth 0",
                     "appliance_queue_capacity 65536\n",
                     "appliance_jobs_total{state=\"done\"}", "appliance_uptime_seconds"):
            assert name in text, name


def test_jobs_lifecycle():
    vm, hp, up = _vm(smp=2)
    with vm:
        _ready(vm, hp)
        code, job, r = _req(hp, "POST", "/api/jobs", '{"limit":100000,"tasks":4,"mode":"split"}')
        assert code == 202 and r.getheader("Location") == "/api/jobs/%d" % job["id"]
        assert job["state"] in ("queued", "running", "done") and job["mode"] == "split"
        deadline = time.monotonic() + 60
        while job["state"] != "done":
            assert time.monotonic() < deadline
            time.sleep(0.1)
            code, job, _ = _req(hp, "GET", "/api/jobs/%d" % job["id"])
            assert code == 200
        assert job["result"] == 9592
        code, job, _ = _req(hp, "POST", "/api/jobs?wait=1", '{"limit":100000}')
        assert code == 200 and job["state"] == "done" and job["result"] == 9592
        assert job["tasks"] == 1 and job["mode"] == "repeat"
        # a UDP job shows in the list too, newest first
        wait_udp_ready(up, b"100 3")
        code, lst, _ = _req(hp, "GET", "/api/jobs?limit=2")
        assert code == 200 and len(lst["jobs"]) == 2
        assert lst["jobs"][0]["limit"] == 100 and lst["jobs"][0]["result"] == 75
        assert lst["jobs"][0]["id"] > lst["jobs"][1]["id"]
        # cancel a long job, then cancelling again is a conflict
        code, job, _ = _req(hp, "POST", "/api/jobs", '{"limit":1099511627776,"tasks":2}')
        assert code == 202
        code, c, _ = _req(hp, "DELETE", "/api/jobs/%d" % job["id"])
        assert code == 200 and c["state"] == "cancelled"
        deadline = time.monotonic() + 30
        while True:
            code, j, _ = _req(hp, "GET", "/api/jobs/%d" % job["id"])
            if j["state"] == "cancelled" and j["result"] is None:
                break
            assert time.monotonic() < deadline, j
            time.sleep(0.2)
        code, c, _ = _req(hp, "DELETE", "/api/jobs/%d" % job["id"])
        assert code == 409 and c["id"] == job["id"] and c["state"] == "cancelled"
        code, _, _ = _req(hp, "GET", "/api/status")
        assert code == 200


def test_error_statuses():
    vm, hp, up = _vm(smp=1)
    with vm:
        _ready(vm, hp)
        cases = [
            ("GET", "/nope", None, 404),
            ("GET", "/api/jobs/999999", None, 404),
            ("GET", "/api/jobs/abc", None, 404),
            ("DELETE", "/api/jobs/999999", None, 404),
            ("PUT", "/api/status", None, 405),
            ("PATCH", "/api/jobs", "{}", 405),
            ("POST", "/api/jobs", "not json", 400),
            ("POST", "/api/jobs", "{}", 400),
            ("POST", "/api/jobs", '{"limit":10,"extra":1}', 400),
            ("POST", "/api/jobs", '{"limit":-1}', 400),
            ("POST", "/api/jobs", '{"limit":1.5}', 400),
            ("POST", "/api/jobs", '{"limit":"10"}', 400),
            ("POST", "/api/jobs", '{"limit":1099511627777}', 400),
            ("POST", "/api/jobs", '{"limit":10,"tasks":0}', 400),
            ("POST", "/api/jobs", '{"limit":10,"tasks":1025}', 400),
            ("POST", "/api/jobs", '{"limit":10,"mode":"fast"}', 400),
            ("POST", "/api/jobs", '{"limit":10,"limit":11}', 400),
            ("POST", "/api/jobs", '[1]', 400),
            ("GET", "/api/jobs?limit=0", None, 400),
            ("GET", "/api/jobs?limit=1001", None, 400),
            ("GET", "/api/jobs?limit=x", None, 400),
        ]
        for method, path, body, want in cases:
            code, doc, r = _req(hp, method, path, body)
            assert code == want, (method, path, body, code, doc)
            assert isinstance(doc, dict) and "error" in doc, doc
            if code == 405:
                assert r.getheader("Allow")
        out = _raw(hp, b"POST /api/jobs HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 411 "), out[:80]
        out = _raw(hp, b"POST /api/jobs HTTP/1.1\r\nContent-Length: 5000\r\n\r\n" + b"x" * 5000)
        assert out.startswith(b"HTTP/1.1 413 "), out[:80]
        out = _raw(hp, b"GET /api/status HTTP/1.1\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 431 "), out[:80]
        out = _raw(hp, b"GARBAGE\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 400 "), out[:80]
        out = _raw(hp, b"GET /api/status HTTP/2.0\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 505 "), out[:80]
        # One rule for versions: HTTP/DIGIT.DIGIT, 1.x served, another 505,
        # anything else (or a fourth part on the request line) 400.
        out = _raw(hp, b"GET /api/status HTTP/2\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 400 "), out[:80]
        out = _raw(hp, b"GET /api/status HTTP/9.9 extra\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 400 "), out[:80]
        out = _raw(hp, b"GET /api/status HTTP/1.1 extra\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 400 "), out[:80]
        # bad requests were counted, and the appliance still serves
        code, st, _ = _req(hp, "GET", "/api/status")
        assert code == 200 and st["jobs"]["bad"] >= 14


def test_keep_alive_and_pipelining():
    vm, hp, up = _vm(smp=1)
    with vm:
        _ready(vm, hp)
        c = http.client.HTTPConnection("127.0.0.1", hp, timeout=30)
        for _ in range(5):
            code, _, r = _req(hp, "GET", "/api/status", conn=c)
            assert code == 200 and r.getheader("Connection") == "keep-alive"
        c.close()
        two = b"GET /api/jobs?limit=1 HTTP/1.1\r\n\r\nGET /api/status HTTP/1.1\r\nConnection: close\r\n\r\n"
        out = _raw(hp, two)
        assert out.count(b"HTTP/1.1 200 OK") == 2, out[:200]


def test_token_required_for_post_and_delete():
    vm, hp, up = _vm(smp=1, cmdline="token=s3cret")
    with vm:
        _ready(vm, hp)
        code, doc, _ = _req(hp, "POST", "/api/jobs", '{"limit":10}')
        assert code == 401 and "error" in doc
        code, doc, _ = _req(hp, "POST", "/api/jobs", '{"limit":10}',
                            {"Authorization": "Bearer wrong"})
        assert code == 401
        code, doc, _ = _req(hp, "POST", "/api/jobs?wait=1", '{"limit":10}',
                            {"Authorization": "Bearer s3cret"})
        assert code == 200 and doc["result"] == 4
        code, doc, _ = _req(hp, "DELETE", "/api/jobs/%d" % doc["id"])
        assert code == 401
        code, _, _ = _req(hp, "GET", "/api/status")     # reading needs no token
        assert code == 200


def test_many_connections():
    vm, hp, up = _vm(smp=2)
    with vm:
        _ready(vm, hp)
        socks = [socket.create_connection(("127.0.0.1", hp), timeout=30) for _ in range(32)]
        for s in socks:
            s.sendall(b"GET /api/status HTTP/1.1\r\nConnection: close\r\n\r\n")
        ok = 0
        for s in socks:
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            ok += data.startswith(b"HTTP/1.1 200 OK")
            s.close()
        assert ok == 32


def test_idle_wakeups_at_most_one_per_second():
    """With the network up and nothing to do, the cores' wake counters
    rise by at most one per second (lwIP's timers run only on demand)."""
    vm, hp, up = _vm(smp=4)
    with vm:
        _ready(vm, hp)
        time.sleep(1)
        _, a, _ = _req(hp, "GET", "/api/status")
        time.sleep(10)
        _, b, _ = _req(hp, "GET", "/api/status")
        wakes = [y["wakes"] - x["wakes"] for x, y in zip(a["cores"], b["cores"])]
        # the BSP also wakes to answer the two status requests themselves
        print("wakes over 10 s idle, per core: %s" % wakes)
        assert sum(wakes) <= 10 + 8, wakes
        assert all(w == 0 for w in wakes[1:]), wakes
