#!/usr/bin/env python3
"""monitor.py - a Prometheus that scrapes the appliances of this tree
(make monitor, make monitor-stop).

  monitor.py up     [--port 9090] [--interval 15s] [--retention 15d]
                    [--dir build/monitor] [--targets build/monitor/targets]
  monitor.py status [--dir build/monitor]
  monitor.py down   [--dir build/monitor]

up writes DIR/prometheus.yml and starts Debian's prometheus on it, on
127.0.0.1:PORT only, with its data in DIR/data (kept across restarts: the
history stays), its log in DIR/prometheus.log and its pid in
DIR/prometheus.pid; it waits until Prometheus is ready and prints the URL
and the queries to try. One scrape job, `appliance`, reads its targets
from TARGETS/*.json (file_sd): `make run` (tools/run.sh) writes
run-HTTP_PORT.json while its QEMU runs, `make fleet` (tools/fleet.py)
fleet-NAME.json with every member while the fleet is up. Prometheus
watches the folder: appliances started or stopped later are picked up
without a restart. The recording rules are tools/monitor_rules.yml.
down stops the Prometheus of DIR by its pid (SIGTERM, SIGKILL after 30 s).

Each scrape is one HTTP request to the appliance: it wakes the bootstrap
core once per interval.

Exit: 0 done, 1 failed (the reason on stderr), 3 usage."""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import ports
from procs import proc_stat, read_pid, stop_pid

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RULES = os.path.join(TOP, "tools", "monitor_rules.yml")
READY_TIMEOUT = 60      # s for Prometheus to open its TSDB and answer /-/ready
STOP_TIMEOUT = 30       # s after SIGTERM before SIGKILL

# What up prints: the PromQL for each figure (README.md has the same).
QUERIES = [
    ("utilisation per core (0..1)", "appliance_core:busy:rate1m"),
    ("utilisation per appliance (0..1)", "appliance:busy:ratio_rate1m"),
    ("utilisation of the fleet (0..1)", "fleet:busy:ratio_rate1m"),
    ("jobs finished per second", "appliance:jobs_done:rate1m"),
    ("halts and wakes per second", "appliance:halts:rate1m  appliance:wakes:rate1m"),
]


class MonitorError(Exception):
    pass


def log(msg):
    print("monitor: " + msg, flush=True)


def config(targets, interval):
    """prometheus.yml: one job over the file_sd folder. An appliance's
    address is its instance; the labels its launcher wrote come along."""
    return """# written by tools/monitor.py
global:
  scrape_interval: {interval}
  evaluation_interval: {interval}
  scrape_timeout: {timeout}
rule_files:
  - {rules}
scrape_configs:
  - job_name: appliance
    metrics_path: /metrics
    file_sd_configs:
      - files:
          - {targets}/*.json
        refresh_interval: 30s
""".format(interval=interval, timeout=scrape_timeout(interval), rules=json.dumps(RULES),
           targets=json.dumps(targets)[1:-1])


def seconds(duration):
    m = re.fullmatch(r"(\d+)(ms|s|m)", duration)
    if not m or int(m.group(1)) == 0:
        raise MonitorError("bad interval %r (like 15s, 500ms or 1m)" % duration)
    return int(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60}[m.group(2)]


def scrape_timeout(interval):
    """Prometheus wants it no longer than the interval; 10 s at most: an
    appliance answers /metrics in milliseconds, 1024 cores included."""
    t = min(seconds(interval), 10)
    return "%dms" % (t * 1000) if t < 1 else "%ds" % t


def is_prometheus(pid):
    """True while pid is a live process named prometheus (a recorded pid
    may have been reused since)."""
    st = proc_stat(pid)
    return st is not None and st[0] == "prometheus" and st[1] != "Z"


def api(port, path, timeout=5):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=timeout) as r:
        return r.read()


def state(d):
    """(pid, port) of the Prometheus of folder d, or (None, None)."""
    pid = read_pid(os.path.join(d, "prometheus.pid"))
    if not is_prometheus(pid):
        return None, None
    try:
        with open(os.path.join(d, "prometheus.port")) as f:
            return pid, int(f.read())
    except (OSError, ValueError):
        return pid, None


def print_how(port):
    log("Prometheus: http://localhost:%d/  (targets: http://localhost:%d/targets)" % (port, port))
    for what, q in QUERIES:
        log("  %-34s %s" % (what + ":", q))
    log("stop it with: make monitor-stop")


def cmd_up(a):
    d = os.path.abspath(a.dir)
    targets = os.path.abspath(a.targets)
    pid, port = state(d)
    if pid:
        log("already running (pid %d) on port %s, data in %s" % (pid, port, d))
        if port:
            print_how(port)
        return 0
    if not ports.port_free("tcp", a.port):
        raise MonitorError(ports.busy_line("make monitor", "tcp", "MONITOR_PORT", a.port)[0])
    for tool in ("prometheus", "promtool"):
        if subprocess.run(["sh", "-c", "command -v " + tool], capture_output=True).returncode:
            raise MonitorError("no %s: run `sudo make monitor` once (it installs Debian's "
                               "prometheus)" % tool)
    os.makedirs(os.path.join(d, "data"), exist_ok=True)
    os.makedirs(targets, exist_ok=True)
    conf = os.path.join(d, "prometheus.yml")
    with open(conf, "w") as f:
        f.write(config(targets, a.interval))
    r = subprocess.run(["promtool", "check", "config", conf], capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0:
        raise MonitorError("promtool check config %s:\n%s" % (conf, r.stdout + r.stderr))
    logf = open(os.path.join(d, "prometheus.log"), "ab")
    proc = subprocess.Popen(
        ["prometheus", "--config.file=" + conf, "--storage.tsdb.path=" + os.path.join(d, "data"),
         "--storage.tsdb.retention.time=" + a.retention,
         "--web.listen-address=127.0.0.1:%d" % a.port],
        cwd=d, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
        start_new_session=True)
    logf.close()
    with open(os.path.join(d, "prometheus.pid"), "w") as f:
        f.write("%d\n" % proc.pid)
    with open(os.path.join(d, "prometheus.port"), "w") as f:
        f.write("%d\n" % a.port)
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise MonitorError("prometheus exited (status %d); its log: %s"
                               % (proc.returncode, os.path.join(d, "prometheus.log")))
        try:
            api(a.port, "/-/ready", timeout=2)
            break
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            os.kill(proc.pid, signal.SIGKILL)
            raise MonitorError("prometheus not ready within %d s; its log: %s"
                               % (READY_TIMEOUT, os.path.join(d, "prometheus.log")))
        time.sleep(0.2)
    found = sorted(f for f in os.listdir(targets) if f.endswith(".json"))
    log("prometheus (pid %d) on 127.0.0.1:%d, scraping every %s what %s names (%s), data in %s"
        % (proc.pid, a.port, a.interval, targets, ", ".join(found) or "nothing yet", d))
    print_how(a.port)
    return 0


def cmd_status(a):
    d = os.path.abspath(a.dir)
    pid, port = state(d)
    if not pid:
        log("not running (%s)" % d)
        return 1
    if not port:
        log("prometheus pid %d, but its port file is gone (%s)" % (pid, d))
        return 1
    log("prometheus pid %d on 127.0.0.1:%d" % (pid, port))
    try:
        body = json.loads(api(port, "/api/v1/targets?state=active"))
    except (urllib.error.URLError, OSError, ValueError) as e:
        log("its API does not answer: %s" % e)
        return 1
    for t in body["data"]["activeTargets"]:
        log("  %-22s %-5s %s %s" % (t["labels"].get("instance"), t["health"],
                                   t["labels"].get("appliance", ""), t.get("lastError", "")))
    return 0


def cmd_down(a):
    d = os.path.abspath(a.dir)
    pid, _ = state(d)
    if pid:
        stop_pid(pid, "prometheus", STOP_TIMEOUT, log)
    for f in ("prometheus.pid", "prometheus.port"):
        if os.path.exists(os.path.join(d, f)):
            os.unlink(os.path.join(d, f))
    if pid:
        log("prometheus (pid %d) stopped; its data stays in %s" % (pid, os.path.join(d, "data")))
    else:
        log("not running (%s): nothing to stop" % d)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["up", "status", "down"])
    ap.add_argument("--dir", default=os.path.join(TOP, "build", "monitor"),
                    help="config, data, log and pid of this Prometheus")
    ap.add_argument("--targets", default=os.path.join(TOP, "build", "monitor", "targets"),
                    help="the file_sd folder make run and make fleet write to")
    ap.add_argument("--port", type=int, default=9090)
    ap.add_argument("--interval", default="15s", help="scrape and rule evaluation interval")
    ap.add_argument("--retention", default="15d")
    a = ap.parse_args()
    try:
        if not 1 <= a.port <= 65535:
            raise MonitorError("--port takes 1..65535")
        seconds(a.interval)
        return dict(up=cmd_up, status=cmd_status, down=cmd_down)[a.command](a)
    except (MonitorError, subprocess.SubprocessError, OSError) as e:
        print("monitor: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
