"""make run and make monitor together (issue 19): `make run` on ports of
the test's choosing boots the ISO and, once the appliance answers, prints
the dashboard URL and the commands to try with those ports; its /metrics
passes `promtool check metrics` at -smp 4; the Prometheus of
tools/monitor.py (what make monitor runs) finds it through the file_sd
target make run wrote, scrapes it, and after a job the recording rule for
per-core utilisation and the raw rate each give one series per core, all
moved by the job; the rules file passes `promtool check rules`. When make
run ends (SIGTERM, as a closed terminal would send) its QEMU and its
target file are gone, and monitor down stops Prometheus by its pid."""

import os
import re
import socket
import subprocess
import tempfile
import time

import prom
from net import free_port, tcp_exchange, udp_ask
from vm import TOP, stop_group

CPUS = 4
BOOT_TIMEOUT = 300      # s from make run to the ready message (TCG, the ISO through GRUB)


def test_rules_file_passes_promtool():
    prom.need_promtool()
    r = subprocess.run(["promtool", "check", "rules", prom.RULES], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.search(r"SUCCESS: (\d+) rules found", r.stdout)
    assert m and int(m.group(1)) >= 10, r.stdout


def _wait_log(path, pattern, timeout, proc):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path, errors="replace") as f:
            text = f.read().replace("\r", "")
        m = re.search(pattern, text)
        if m:
            return m, text
        assert proc.poll() is None, "make run ended (%d):\n%s" % (proc.returncode, text[-3000:])
        time.sleep(0.5)
    raise AssertionError("no %r within %d s:\n%s" % (pattern, timeout, text[-3000:]))


def _qemu_of(port):
    r = subprocess.run(["pgrep", "-f", "hostfwd=tcp:127.0.0.1:%d-:80" % port],
                       capture_output=True, text=True, timeout=10)
    return [int(p) for p in r.stdout.split()]


def test_make_run_then_make_monitor():
    prom.need_promtool()
    http, udp = free_port(socket.SOCK_STREAM), free_port()
    mport = free_port(socket.SOCK_STREAM)
    target = os.path.join(TOP, "build", "monitor", "targets", "run-%d.json" % http)
    env = dict(os.environ)
    for var in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
        env.pop(var, None)
    with tempfile.TemporaryDirectory(prefix="monitor-test-") as tmp:
        logpath = os.path.join(tmp, "make-run.log")
        with open(logpath, "w") as logf:
            proc = subprocess.Popen(
                ["make", "--no-print-directory", "run", "CPUS=%d" % CPUS, "HTTP_PORT=%d" % http,
                 "UDP_PORT=%d" % udp], cwd=TOP, env=env, stdin=subprocess.DEVNULL, stdout=logf,
                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            t0 = time.monotonic()
            m, text = _wait_log(logpath, r"run: ready\. The dashboard: (\S+)\n", BOOT_TIMEOUT, proc)
            t_ready = time.monotonic() - t0
            assert m.group(1) == "http://localhost:%d/" % http, m.group(0)
            assert 'nc -u -w3 127.0.0.1 %d\n' % udp in text, text[-1500:]
            assert "'localhost:%d/api/jobs?wait=1'" % http in text, text[-1500:]
            assert "curl -s localhost:%d/metrics" % http in text, text[-1500:]
            ready = [ln for ln in text.split("run: ready")[1].splitlines()
                     if ln.startswith("run:")]
            assert any("make monitor" in ln for ln in ready), ready
            assert not any(re.search(r"127\.0\.0\.1 5555\b|localhost:8080\b", ln)
                           for ln in ready), ready          # not the default ports
            assert len(_qemu_of(http)) == 1, _qemu_of(http)
            assert os.path.exists(target), target

            out = tcp_exchange(http, b"GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n",
                               timeout=30)
            assert out.startswith(b"HTTP/1.1 200"), out[:100]
            body = prom.http_body(out)
            assert body.count(b"appliance_core_busy_seconds_total{core=") == CPUS
            prom.check_metrics(body)

            with prom.Monitor(os.path.join(tmp, "monitor"), mport, interval="1s") as mon:
                inst = "127.0.0.1:%d" % http
                mon.wait("target %s up" % inst,
                         lambda: mon.targets_up({"instance": inst}).get(inst) == "up")
                # a job on every core, so that each core's busy time moves
                r = udp_ask(udp, b"3000000 %d\n" % CPUS, timeout=120)
                assert r.startswith(b"%d tasks=%d " % (216816 * CPUS, CPUS)), r

                def per_core(q):
                    series = mon.query(q)
                    if len(series) == CPUS and all(v > 0 for _, v in series):
                        return series
                    return None
                sel = '{instance="%s"}' % inst
                rule = mon.wait("appliance_core:busy:rate1m > 0 on every core",
                                lambda: per_core("appliance_core:busy:rate1m" + sel))
                raw = mon.wait("rate(appliance_core_busy_seconds_total) on every core",
                               lambda: per_core("rate(appliance_core_busy_seconds_total%s[1m])"
                                                % sel))
                for series in (rule, raw):
                    assert sorted(int(s["core"]) for s, _ in series) == list(range(CPUS)), series
                    assert all(s["appliance"] == "run-%d" % http for s, _ in series), series
                    assert all(v <= 1.05 for _, v in series), series    # seconds per second
                jobs = mon.wait("appliance:jobs_done:rate1m > 0",
                                lambda: [v for _, v in mon.query("appliance:jobs_done:rate1m"
                                                                 + sel) if v > 0])
                util = max(v for _, v in rule)
        finally:
            stop_group(proc)
        assert proc.returncode != 0
        deadline = time.monotonic() + 10
        while _qemu_of(http) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _qemu_of(http), "make run left QEMU %s" % _qemu_of(http)
        assert not os.path.exists(target), "make run left %s" % target
    return "ready after %.1f s; busiest core %.3f busy over the minute; %.3f jobs/s" % (
        t_ready, util, jobs[0])
