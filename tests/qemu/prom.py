"""prom.py - Prometheus for the tests: promtool's lint of an appliance's
/metrics, a Prometheus of tools/monitor.py in a folder of the test's own,
and its HTTP query API. promtool and prometheus come from Debian's
prometheus package (tools/fleet_deps.sh; make test runs it)."""

import json
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request

from vm import TOP

MONITOR = os.path.join(TOP, "tools", "monitor.py")
RULES = os.path.join(TOP, "tools", "monitor_rules.yml")


def need_promtool():
    assert shutil.which("promtool") and shutil.which("prometheus"), \
        "no promtool/prometheus: tools/fleet_deps.sh installs Debian's prometheus " \
        "(make test runs it)"


def check_metrics(body):
    """promtool check metrics on a /metrics body (bytes): it exits 1 on a
    parse error and 3 on lint problems (no HELP, a _total gauge, ...)."""
    need_promtool()
    r = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                       timeout=60)
    assert r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(), \
        "promtool check metrics: exit %d\n%s%s" % (r.returncode, r.stdout.decode(),
                                                  r.stderr.decode())


def http_body(response):
    """The body of a whole HTTP/1.1 response with Content-Length."""
    head, body = response.split(b"\r\n\r\n", 1)
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            n = int(line.split(b":", 1)[1])
            assert len(body) == n, (len(body), n)
    return body


class Monitor:
    """tools/monitor.py up in folder d on port, down at exit."""

    def __init__(self, d, port, interval="1s", targets=None):
        self.d, self.port, self.interval = d, port, interval
        self.targets = targets

    def _run(self, *args):
        extra = ["--targets", self.targets] if self.targets else []
        return subprocess.run(["python3", MONITOR] + list(args) + ["--dir", self.d] + extra,
                              capture_output=True, text=True, timeout=120)

    def __enter__(self):
        r = self._run("up", "--port", str(self.port), "--interval", self.interval)
        assert r.returncode == 0, r.stdout + r.stderr
        with open(os.path.join(self.d, "prometheus.pid")) as f:
            self.pid = int(f.read())
        self.up_output = r.stdout
        return self

    def __exit__(self, *exc):
        r = self._run("down")
        assert r.returncode == 0, r.stdout + r.stderr
        assert not os.path.exists("/proc/%d" % self.pid) or \
            open("/proc/%d/stat" % self.pid).read().split()[2] == "Z", "prometheus still runs"

    def api(self, path, **params):
        url = "http://127.0.0.1:%d%s" % (self.port, path)
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.loads(r.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, q):
        """[(labels, float value)] of an instant query."""
        return [(s["metric"], float(s["value"][1]))
                for s in self.api("/api/v1/query", query=q)["result"]]

    def targets_up(self, match):
        """{instance: health} of the active targets whose labels include
        match (a dict)."""
        out = {}
        for t in self.api("/api/v1/targets", state="active")["activeTargets"]:
            if all(t["labels"].get(k) == v for k, v in match.items()):
                out[t["labels"]["instance"]] = t["health"]
        return out

    def wait(self, what, fn, timeout=90):
        """Polls fn() until it returns something true; returns it."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = fn()
            if last:
                return last
            time.sleep(0.5)
        raise AssertionError("prometheus: no %s within %d s (last: %r)" % (what, timeout, last))
