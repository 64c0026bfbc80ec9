#!/usr/bin/env python3
"""mock.py - a stand-in appliance for the dashboard: serves web/ as the
image does (Content-Type, strong ETag, Cache-Control: no-cache, 304) and
fakes /api/status, /api/jobs and /api/events (SSE) of API.md section 3
with simulated cores. Lets tests/qemu/test_dashboard.py render the page at
core counts that take QEMU minutes to boot (the 1024-core heat map), and
lets the page's logic be tried without building the image.

  tests/browser/mock.py [--cores N] [--port P] [--token T] [--speed S] [--sched P]

Prints "mock: http://127.0.0.1:<port>/" once it listens. Task times are
simulated (limit/1e6 * 0.4 s per task at --speed 1, in chunks of
CHUNK_S); results are real (a sieve: fine up to some 10^7). The status
document carries the scheduling policy ("sched", --sched; "" leaves it
out, as an appliance from before it did) and each core's chunks_done."""

import argparse
import hashlib
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WEB = os.path.join(TOP, "web")
sys.path.insert(0, os.path.join(TOP, "tools"))
from embed_web import TYPES  # noqa: E402 - the content types the image serves
LIMIT_MAX = 1 << 40
CHUNK_S = 0.05          # simulated seconds of work a chunk stands for


def primes_below(limit, _cache={}):
    if limit not in _cache:
        if limit <= 2:
            _cache[limit] = 0
        else:
            sieve = bytearray([1]) * limit
            sieve[0:2] = b"\0\0"
            for i in range(2, int(limit ** 0.5) + 1):
                if sieve[i]:
                    sieve[i * i::i] = bytes(len(range(i * i, limit, i)))
            _cache[limit] = sum(sieve)
    return _cache[limit]


class Sim:
    """Cores, a task queue and jobs; one lock; changes bump self.version."""

    def __init__(self, ncores, speed, sched="share"):
        self.t0 = time.monotonic()
        self.speed = speed
        self.sched = sched
        self.lock = threading.Condition()
        self.version = 0
        self.events = []            # (seq, name, data) for the streams
        self.seq = 0
        self.cores = [{"id": i, "apic_id": i, "role": "bsp" if i == 0 else "ap",
                       "state": "idle" if i == 0 else "halted", "halts": 1, "wakes": 1 if i else 0,
                       "tasks_done": 0, "chunks_done": 0, "busy_us": 0, "task": None, "end": 0.0, "start": 0.0}
                      for i in range(ncores)]
        self.queue = []             # (job, seconds)
        self.jobs = {}
        self.next_id = 1
        self.count = {"accepted": 0, "done": 0, "cancelled": 0, "rejected": 0, "bad": 0}
        self.rx = self.tx = 0
        self.closed = False
        self.cut = 0                # streams end when this moves (cut_streams)
        threading.Thread(target=self._run, daemon=True).start()

    def active(self):
        """Work is under way: the appliance then sends a status event every
        quarter second, changed or not. Called with the lock held."""
        return bool(self.queue) or any(c["task"] for c in self.cores)

    def cut_streams(self):
        """Ends the open event streams (a connection lost); the clients
        come back to the same appliance."""
        with self.lock:
            self.cut += 1
            self.lock.notify_all()

    def now_us(self):
        return int((time.monotonic() - self.t0) * 1e6)

    def _changed(self, job=None):
        self.version += 1
        if job is not None:
            self.seq += 1
            self.events.append((self.seq, "job", self.job_obj(job)))
            del self.events[:-200]
        self.lock.notify_all()

    def job_obj(self, j):
        end = j["end_us"] if j["end_us"] is not None else self.now_us()
        return {"id": j["id"], "state": j["state"], "limit": j["limit"], "tasks": j["tasks"],
                "mode": j["mode"], "result": j["result"], "submitted_us": j["submitted_us"],
                "elapsed_us": end - j["submitted_us"]}

    def submit(self, limit, tasks, mode):
        with self.lock:
            inflight = sum(1 for j in self.jobs.values() if j["state"] in ("queued", "running"))
            if inflight >= 64 or len(self.queue) + tasks > 1024:
                self.count["rejected"] += 1
                self._changed()
                return None
            j = {"id": self.next_id, "state": "queued", "limit": limit, "tasks": tasks,
                 "mode": mode, "result": None, "submitted_us": self.now_us(), "end_us": None,
                 "left": tasks, "answers": 0}
            self.next_id += 1
            self.jobs[j["id"]] = j
            self.count["accepted"] += 1
            per = max(0.02, limit / 1e6 * 0.4 / self.speed)
            if mode == "split":
                per = max(0.02, per / tasks)
            for _ in range(tasks):
                self.queue.append((j, per))
            for old in sorted(self.jobs)[:-256]:
                if self.jobs[old]["state"] in ("done", "cancelled"):
                    del self.jobs[old]
            self._changed(j)
            return self.job_obj(j)

    def cancel(self, jid):
        with self.lock:
            j = self.jobs.get(jid)
            if not j:
                return 404, None
            if j["state"] in ("done", "cancelled"):
                return 409, self.job_obj(j)
            j["state"] = "cancelled"
            j["end_us"] = self.now_us()
            self.count["cancelled"] += 1
            self.queue = [q for q in self.queue if q[0] is not j]
            self._changed(j)
            return 200, self.job_obj(j)

    def _run(self):
        while True:
            time.sleep(0.01)
            with self.lock:
                now = time.monotonic()
                changed = False
                for c in self.cores:
                    t = c["task"]
                    if t and (now >= c["end"] or t[0]["state"] == "cancelled"):
                        c["busy_us"] += int((now - c["start"]) * 1e6)
                        c["tasks_done"] += 1
                        c["chunks_done"] += max(1, round((now - c["start"]) * self.speed / CHUNK_S))
                        c["task"] = None
                        c["state"] = "idle" if c["role"] == "bsp" else "halted"
                        if c["role"] == "ap":
                            c["halts"] += 1
                        j = t[0]
                        changed = True
                        if j["state"] == "running":
                            j["left"] -= 1
                            j["answers"] += primes_below(min(j["limit"], 10 ** 7))
                            if j["left"] == 0:
                                j["state"] = "done"
                                j["end_us"] = self.now_us()
                                j["result"] = (j["answers"] if j["mode"] == "repeat"
                                               else primes_below(min(j["limit"], 10 ** 7)))
                                self.count["done"] += 1
                                self._changed(j)
                # The bootstrap core takes a task only when every other core is busy.
                order = self.cores[1:] + self.cores[:1]
                for c in order:
                    if not self.queue:
                        break
                    if c["task"]:
                        continue
                    if c["role"] == "bsp" and any(not x["task"] for x in self.cores[1:]):
                        continue
                    job, per = self.queue.pop(0)
                    c["task"] = (job, per)
                    c["start"], c["end"] = now, now + per
                    if c["role"] == "ap":
                        c["wakes"] += 1
                    c["state"] = "busy"
                    changed = True
                    if job["state"] == "queued":
                        job["state"] = "running"
                        self._changed(job)
                if changed:
                    self._changed()

    def status(self):
        with self.lock:
            running = sum(1 for j in self.jobs.values() if j["state"] in ("queued", "running"))
            n = len(self.cores)
            doc = {"uptime_us": self.now_us()}
            if self.sched:
                doc["sched"] = self.sched
            doc.update({
                "cores": [{k: c[k] for k in ("id", "apic_id", "role", "state", "halts", "wakes",
                                             "tasks_done", "chunks_done", "busy_us")}
                          for c in self.cores],
                "queue": {"depth": len(self.queue), "capacity": 1024},
                "smp": {"discovered": n, "online": n, "parked": 0},
                "bsp": {"serve_gap_max_us": 0},
                "jobs": dict(self.count, running=running),
                "net": {"link": "up", "rx_packets": self.rx, "rx_bytes": self.rx * 300,
                        "rx_drops": 0, "tx_packets": self.tx, "tx_bytes": self.tx * 900,
                        "tx_drops": 0, "tx_ring_full": 0, "irqs": self.rx},
                "http": {"open": 1, "refused": 0, "reset": 0},
                "udp": {"bad": 0, "busy": 0, "replies_lost": 0},
                "lwip": {"pbuf_pool_used": 1, "pbuf_pool_size": 96, "udp_drops": 0,
                         "tcp_drops": 0},
                "memory": {"heap_bytes": 65204224, "heap_used_bytes": 917696 + n * 4096,
                           "heap_peak_bytes": 917696 + n * 4096, "heap_failures": 0}})
            return doc


def make_handler(sim, token, streams):
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def send(self, code, body=b"", ctype="application/json", extra=()):
            if isinstance(body, (dict, list)):
                body = (json.dumps(body, separators=(",", ":")) + "\n").encode()
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in extra:
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def error(self, code, msg, extra=()):
            if code == 400:
                with sim.lock:
                    sim.count["bad"] += 1
            self.send(code, {"error": msg}, extra=extra)

        def authorized(self):
            if not token:
                return True
            if self.headers.get("Authorization", "").lower().startswith("bearer ") and \
                    self.headers["Authorization"][7:] == token:
                return True
            self.error(401, "missing or wrong bearer token", [("WWW-Authenticate", "Bearer")])
            return False

        def do_GET(self):
            sim.rx += 1
            sim.tx += 1
            u = urlsplit(self.path)
            path, q = u.path, parse_qs(u.query)
            if path == "/api/status":
                return self.send(200, sim.status())
            if path == "/api/events":
                return self.events()
            if path == "/api/jobs":
                try:
                    n = int(q.get("limit", ["100"])[0])
                    assert 1 <= n <= 1000
                except (ValueError, AssertionError):
                    return self.error(400, "limit must be an integer 1..1000")
                with sim.lock:
                    js = [sim.job_obj(sim.jobs[i]) for i in sorted(sim.jobs, reverse=True)[:n]]
                return self.send(200, {"jobs": js})
            m = re.fullmatch(r"/api/jobs/(\d+)", path)
            if m:
                with sim.lock:
                    j = sim.jobs.get(int(m.group(1)))
                    return self.send(200, sim.job_obj(j)) if j else self.error(404, "no such job")
            name = "index.html" if path == "/" else path[1:]
            f = os.path.join(WEB, name)
            if "/" not in name and os.path.isfile(f):
                data = open(f, "rb").read()
                etag = '"%s"' % hashlib.sha256(data).hexdigest()[:20]
                hdr = [("ETag", etag), ("Cache-Control", "no-cache")]
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    for k, v in hdr:
                        self.send_header(k, v)
                    self.end_headers()
                    return
                return self.send(200, data, TYPES[os.path.splitext(name)[1]], hdr)
            self.error(404, "no such path")

        def do_POST(self):
            n = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(n)
            if urlsplit(self.path).path != "/api/jobs":
                return self.error(405, "method not allowed", [("Allow", "GET")])
            if not self.authorized():
                return
            try:
                d = json.loads(body)
                assert isinstance(d, dict)
            except (ValueError, AssertionError):
                return self.error(400, "the body is not a JSON object")
            extra = set(d) - {"limit", "tasks", "mode"}
            if extra:
                return self.error(400, "unknown field %s" % sorted(extra)[0])
            lim, tasks, mode = d.get("limit"), d.get("tasks", 1), d.get("mode", "repeat")
            if type(lim) is not int or not 0 <= lim <= LIMIT_MAX:
                return self.error(400, "limit must be an integer 0..%d" % LIMIT_MAX)
            if type(tasks) is not int or not 1 <= tasks <= 1024:
                return self.error(400, "tasks must be an integer 1..1024")
            if mode not in ("repeat", "split"):
                return self.error(400, "mode must be repeat or split")
            j = sim.submit(lim, tasks, mode)
            if j is None:
                return self.error(503, "the appliance is full; retry later", [("Retry-After", "1")])
            self.send(202, j, extra=[("Location", "/api/jobs/%d" % j["id"])])

        def do_DELETE(self):
            m = re.fullmatch(r"/api/jobs/(\d+)", urlsplit(self.path).path)
            if not m:
                return self.error(405, "method not allowed", [("Allow", "GET")])
            if not self.authorized():
                return
            code, j = sim.cancel(int(m.group(1)))
            if j is None:
                return self.error(404, "no such job")
            self.send(code, j)

        def events(self):
            with sim.lock:
                if streams[0] >= 8:
                    return self.error(503, "too many event streams", [("Retry-After", "5")])
                streams[0] += 1
                seq, cut = sim.seq, sim.cut
            try:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(b"retry: 1000\n\n")     # as the appliance: back after a second
                seen, last_sent, last_any = -1, 0.0, time.monotonic()
                while not sim.closed and sim.cut == cut:
                    out = []
                    with sim.lock:
                        for s, name, data in sim.events:
                            if s > seq:
                                out.append("event: %s\ndata: %s\n\n" % (name, json.dumps(data)))
                        seq = sim.seq
                        now = time.monotonic()
                        # As the appliance: on a change, and every quarter second while
                        # work is under way.
                        if (sim.version != seen or sim.active()) and now - last_sent >= 0.25:
                            seen, last_sent = sim.version, now
                            out.append("event: status\ndata: %s\n\n" % json.dumps(sim.status()))
                        elif not out and now - last_any >= 15:
                            out.append(":\n\n")
                        if not out:
                            sim.lock.wait(0.25)
                    if out:
                        last_any = time.monotonic()
                        self.wfile.write("".join(out).encode())
                        self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                with sim.lock:
                    streams[0] -= 1
                self.close_connection = True

    return H


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def stop(self):
        """Stops listening and ends the event streams (an appliance gone)."""
        self.shutdown()
        with self.sim.lock:
            self.sim.closed = True
            self.sim.lock.notify_all()
        self.server_close()


def serve(cores=4, port=0, token=None, speed=1.0, sched="share"):
    """Starts the mock in a thread; returns (server, sim).
    server.server_address[1] is the port; server.stop() stops it."""
    sim = Sim(cores, speed, sched)
    srv = Server(("127.0.0.1", port), make_handler(sim, token, [0]))
    srv.sim = sim
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, sim


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cores", type=int, default=4)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--token")
    ap.add_argument("--speed", type=float, default=1.0)
    ap.add_argument("--sched", default="share", help='"share", "task", or "" for none')
    a = ap.parse_args()
    srv, _ = serve(a.cores, a.port, a.token, a.speed, a.sched)
    print("mock: http://127.0.0.1:%d/" % srv.server_address[1], flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
