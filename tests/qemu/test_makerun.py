"""make run with a host port already held (issue 19): it stops before
QEMU starts, names the port and the variable that changes it, exits
non-zero, and leaves no QEMU behind. (A make run that boots is
test_monitor.py's: it reads the ready message there.)"""

import os
import re
import socket
import subprocess
import time

from net import free_port
from vm import TOP, stop_group

FAIL_FAST_S = 60        # deps.sh's check and the port check; no build, no boot


def _qemus():
    r = subprocess.run(["pgrep", "-f", "qemu-system"], capture_output=True, text=True, timeout=10)
    return set(int(p) for p in r.stdout.split())


def _make_run(**ports):
    env = dict(os.environ)
    for var in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
        env.pop(var, None)
    args = ["make", "--no-print-directory", "run", "CPUS=1"] + \
        ["%s=%d" % kv for kv in sorted(ports.items())]
    before = _qemus()
    t0 = time.monotonic()
    # Its own process group: should the port check let it boot, nothing
    # of it outlives the test.
    proc = subprocess.Popen(args, cwd=TOP, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=FAIL_FAST_S * 5)
    except subprocess.TimeoutExpired:
        out, err = "", "make run still running after %d s" % (FAIL_FAST_S * 5)
    finally:
        stop_group(proc)
    dt = time.monotonic() - t0
    r = subprocess.CompletedProcess(args, proc.returncode, out, err)
    return r, dt, before


def _check_refused(r, dt, before, port, proto, var, http):
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    m = re.search(r"port %d/%s is busy \(([^)]*)\): make run %s=(\d+)" % (port, proto, var), out)
    assert m, out
    assert "pid %d" % os.getpid() in m.group(1), m.group(0)     # ss names this test as holder
    assert int(m.group(2)) != port, m.group(0)
    assert "qemu-system" not in out and "Booting" not in out, out
    assert dt < FAIL_FAST_S, "took %.1f s" % dt
    # no QEMU of this run: none started with these ports, and no new one
    new = _qemus() - before
    for pid in new:
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode()
        except OSError:
            continue
        assert ":%d-:" % port not in cmd, "a QEMU was left: %s" % cmd
    # nor a target for make monitor
    target = os.path.join(TOP, "build", "monitor", "targets", "run-%d.json" % http)
    assert not os.path.exists(target), target
    return int(m.group(2))


def test_make_run_http_port_busy():
    http, udp = free_port(socket.SOCK_STREAM), free_port()
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", http))
    holder.listen(1)
    try:
        r, dt, before = _make_run(HTTP_PORT=http, UDP_PORT=udp)
        alt = _check_refused(r, dt, before, http, "tcp", "HTTP_PORT", http)
        assert "UDP_PORT" not in r.stderr, r.stderr       # the free one is not named
    finally:
        holder.close()
    return "refused in %.1f s, suggests HTTP_PORT=%d" % (dt, alt)


def test_make_run_udp_port_busy():
    http, udp = free_port(socket.SOCK_STREAM), free_port()
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.bind(("127.0.0.1", udp))
    try:
        r, dt, before = _make_run(HTTP_PORT=http, UDP_PORT=udp)
        _check_refused(r, dt, before, udp, "udp", "UDP_PORT", http)
    finally:
        holder.close()
