"""Many appliances on an existing engine (issue 12): the qcow2 disk boots
with a command line changed after the build; a fleet of 3 single-core
appliances under libvirt (TCG) behind nginx answers UDP and HTTP jobs
right, spreads them over every member (their /api/status counters), routes
around a member destroyed mid-run while the clients' retries complete, and
`down` leaves no domain, no nginx and no port in use.

Watched by make monitor's Prometheus (tools/monitor.py, issue 19): every
member is a target and up through the file_sd file fleet.py writes; the
destroyed member's target goes down, `fleet.py replace` brings it back up
on the same ports, the fleet's recording rules give one series for the
fleet, and after `down` the fleet's targets are gone.

The fleet uses its own name, member ports and front ports, so it never
meets make fleet's (5555/8080) or the other tests' QEMUs."""

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

import prom
from net import free_port, user_net, wait_udp_ready
from vm import ELF, TOP, Vm

FLEET = os.path.join(TOP, "tools", "fleet.py")
MKDISK = os.path.join(TOP, "tools", "mkdisk.py")
PRIMECTL = os.path.join(TOP, "build", "primectl")
IMAGE = os.path.join(TOP, "build", "appliance.qcow2")
NAME = "appliance-fleettest"
N = 3
PI = {100000: 9592, 1000000: 78498, 2000000: 148933}
REPLY_RX = re.compile(rb"^(\d+) tasks=(\d+) mode=(repeat|split) cores=(\d+) us=(\d+)\n$")


def _need_tools():
    if os.geteuid() != 0:
        raise Skip("needs root (libvirt's qemu:///system, nginx on its own ports)")
    for tool in ("virsh", "libvirtd", "virtlogd", "nginx", "qemu-img", "mcopy"):
        if not shutil.which(tool):
            raise Skip("no %s: tools/fleet_deps.sh installs it (make test runs it)" % tool)


def _port_free(port):
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def _ports():
    """Front UDP/HTTP ports and member bases, all free now."""
    for base in range(25650, 26650, 100):
        if all(_port_free(p) for p in range(base, base + N + 1)) and \
                all(_port_free(p) for p in range(base + 50, base + 51 + N)):
            return dict(front_udp=base, udp_base=base + 1, front_http=base + 50,
                        http_base=base + 51)
    raise AssertionError("no free port range for the fleet test")


def _fleet(*args, timeout=400):
    return subprocess.run(["python3", FLEET] + list(args) + ["--name", NAME],
                          capture_output=True, text=True, timeout=timeout)


def _virsh(*args):
    return subprocess.run(["virsh", "-q", "-c", "qemu:///system"] + list(args),
                          capture_output=True, text=True, timeout=60)


def _udp_job(port, limit, tasks, timeout=10, tries=6):
    """One job through the balancer, retried on silence or on the empty
    datagram nginx sends when the member it chose refused."""
    for _ in range(tries):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(timeout)
        try:
            s.sendto(b"%d %d" % (limit, tasks), ("127.0.0.1", port))
            data = s.recvfrom(512)[0]
        except (socket.timeout, ConnectionRefusedError):
            continue
        finally:
            s.close()
        if not data:
            time.sleep(0.2)
            continue
        m = REPLY_RX.match(data)
        assert m, "malformed reply %r" % data
        return int(m.group(1))
    raise AssertionError("no answer to %d %d on %d after %d tries" % (limit, tasks, port, tries))


def _http(port, method, path, body=None, timeout=60):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=body,
                                 method=method)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, json.loads(r.read())


def _http_job(port, limit, tasks, tries=6):
    """POST ?wait=1 through nginx; a 502 (the member died with the request
    in it) or a dropped connection is retried, as a client would."""
    body = json.dumps({"limit": limit, "tasks": tasks}).encode()
    last = None
    for _ in range(tries):
        try:
            status, job = _http(port, "POST", "/api/jobs?wait=1", body)
            assert status == 200 and job["state"] == "done", (status, job)
            return job["result"]
        except (urllib.error.URLError, ConnectionError, socket.timeout) as e:
            last = e
            time.sleep(0.5)
    raise AssertionError("HTTP job %d %d never answered: %r" % (limit, tasks, last))


def _accepted(st):
    return [_http(m["http"], "GET", "/api/status", timeout=20)[1]["jobs"]["accepted"]
            for m in st["members"]]


def _nginx_procs(conf):
    r = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True, timeout=10)
    return [line for line in r.stdout.splitlines() if "nginx" in line and conf in line]


def test_qcow2_disk_boots_with_a_changed_cmdline():
    """make image's disk boots through SeaBIOS and GRUB from a virtio-blk
    disk, with a command line written into it after the build."""
    _need_tools()
    assert os.path.exists(IMAGE), "no %s: make image (make test builds it)" % IMAGE
    with tempfile.TemporaryDirectory(prefix="fleet-disk-") as tmp:
        disk = os.path.join(tmp, "disk.qcow2")
        shutil.copyfile(IMAGE, disk)
        r = subprocess.run(["python3", MKDISK, "--set-cmdline", disk, "udp_port=5600"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        r = subprocess.run(["python3", MKDISK, "--get-cmdline", disk], capture_output=True,
                           text=True, timeout=120)
        assert r.stdout.strip() == "udp_port=5600", r.stdout + r.stderr
        port = free_port()
        vm = Vm(smp=1, net=user_net(udp=[(port, 5600)]),
                extra=["-drive", "file=%s,format=qcow2,if=virtio" % disk])
        i = vm.args.index("-kernel")
        del vm.args[i:i + 4]            # no -kernel/-append: the disk boots
        with vm:
            vm.wait_for(r'boot: cmdline "udp_port=5600"', 90)
            vm.wait_for(r"udp: compute endpoint on port 5600", 30)
            got = wait_udp_ready(port, b"100000 2", timeout=60)
            assert got.startswith(b"19184 tasks=2 mode=repeat"), got


def test_fleet_behind_nginx():
    _need_tools()
    assert os.path.exists(ELF) and os.path.exists(PRIMECTL)
    ports = _ports()
    state = os.path.join(TOP, "build", "fleet", NAME, "fleet.json")
    conf = os.path.join(TOP, "build", "fleet", NAME, "nginx.conf")
    targets = os.path.join(TOP, "build", "monitor", "targets", "fleet-%s.json" % NAME)
    if os.path.exists(state):
        _fleet("down")              # a run that died before its finally
    prom.need_promtool()
    with tempfile.TemporaryDirectory(prefix="fleet-monitor-") as tmp, \
            prom.Monitor(os.path.join(tmp, "monitor"), free_port(socket.SOCK_STREAM)) as mon:
        try:
            t0 = time.monotonic()
            r = _fleet("up", "--n", str(N), "--cpus", "1",
                       "--front-udp", str(ports["front_udp"]),
                       "--front-http", str(ports["front_http"]),
                       "--udp-base", str(ports["udp_base"]), "--http-base", str(ports["http_base"]),
                       "--timeout", "300", "--replace")
            assert r.returncode == 0, r.stdout + r.stderr
            t_up = time.monotonic() - t0
            with open(state) as f:
                st = json.load(f)
            names = [m["domain"] for m in st["members"]]
            running = _virsh("list", "--name").stdout.split()
            assert all(n in running for n in names), (names, running)
            for m in st["members"]:
                xml = _virsh("dumpxml", m["domain"]).stdout
                assert "<vcpu placement='static'>1</vcpu>" in xml, xml
                assert "hostfwd=udp:127.0.0.1:%d-:5555" % m["udp"] in xml
            fu, fh = ports["front_udp"], ports["front_http"]

            # every member a target of make monitor's Prometheus, and up
            with open(targets) as f:
                groups = json.load(f)
            assert sorted(g["labels"]["appliance"] for g in groups) == sorted(names), groups
            member_inst = {"127.0.0.1:%d" % m["http"]: m["domain"] for m in st["members"]}
            fleet_sel = {"fleet": NAME}
            mon.wait("%d fleet targets up" % N,
                     lambda: mon.targets_up(fleet_sel) == {i: "up" for i in member_inst})

            # every job through nginx answered right, and on every member
            before = _accepted(st)
            for i in range(3 * N):
                tasks = 1 + i % 3
                assert _udp_job(fu, 100000, tasks) == PI[100000] * tasks
            for i in range(2 * N):
                assert _http_job(fh, 100000, 2) == 2 * PI[100000]
            after = _accepted(st)
            spread = [b - a for a, b in zip(before, after)]
            assert all(d >= 2 for d in spread), "jobs per member %s" % spread
            assert sum(spread) == 3 * N + 2 * N, spread

            # primectl: fan-out over the members, and in parts through nginx
            addrs = ["127.0.0.1:%d" % m["udp"] for m in st["members"]]
            r = subprocess.run([PRIMECTL, "udp"] + addrs + ["1000000", "7"], capture_output=True,
                               text=True, timeout=120)
            assert r.returncode == 0 and "check: ok" in r.stdout, r.stdout + r.stderr
            assert "%d tasks=7 mode=repeat parts=3" % (7 * PI[1000000]) in r.stdout, r.stdout
            for m in st["members"]:
                assert "part" in r.stdout and "127.0.0.1:%d:" % m["udp"] in r.stdout, r.stdout
            r = subprocess.run([PRIMECTL, "status"] + ["127.0.0.1:%d" % m["http"]
                                                       for m in st["members"]],
                               capture_output=True, text=True, timeout=60)
            assert r.returncode == 0, r.stdout + r.stderr
            rows = [line for line in r.stdout.splitlines()
                    if re.match(r"127\.0\.0\.1:\d+ +0 ", line)]
            assert len(rows) == N and "3 of 3 appliances answered: 3 cores" in r.stdout, r.stdout

            # one member destroyed mid-run: the clients' retries complete
            results, errors = [], []

            def client():
                for _ in range(4):
                    p = subprocess.run([PRIMECTL, "udp", "127.0.0.1:%d" % fu, "2000000", "3",
                                        "--parts", "3", "--timeout", "8", "--retries", "6"],
                                       capture_output=True, text=True, timeout=300)
                    (results if p.returncode == 0 and "check: ok" in p.stdout
                     else errors).append(p.stdout + p.stderr)
            th = threading.Thread(target=client)
            th.start()
            time.sleep(1.0)         # the first job's parts are in the members
            victim = st["members"][1]
            r = _virsh("destroy", victim["domain"])
            assert r.returncode == 0, r.stderr
            for i in range(2 * N):
                assert _udp_job(fu, 100000, 1) == PI[100000]
                assert _http_job(fh, 100000, 1) == PI[100000]
            th.join(600)
            assert not th.is_alive(), "the client never finished"
            assert not errors and len(results) == 4, "\n".join(errors)
            alive = [m for m in st["members"] if m is not victim]
            assert all(a > 0 for a in _accepted(dict(members=alive)))

            # Prometheus: the destroyed member is down, the rest up; replaced,
            # it is up again on its ports; the fleet's rules have one series
            vinst = "127.0.0.1:%d" % victim["http"]
            mon.wait("%s down" % vinst, lambda: mon.targets_up(fleet_sel).get(vinst) == "down")
            assert sum(h == "up" for h in mon.targets_up(fleet_sel).values()) == N - 1
            r = _fleet("replace", "--member", "2", "--timeout", "300")
            assert r.returncode == 0, r.stdout + r.stderr
            assert _udp_job(victim["udp"], 100000, 1) == PI[100000]
            mon.wait("%s up again" % vinst, lambda: mon.targets_up(fleet_sel).get(vinst) == "up")
            mon.wait("fleet:members_up:sum == %d" % N,
                     lambda: [v for _, v in mon.query('fleet:members_up:sum{fleet="%s"}' % NAME)
                              if v == N])
            util = mon.wait("one fleet:busy:ratio_rate1m series",
                            lambda: mon.query('fleet:busy:ratio_rate1m{fleet="%s"}' % NAME))
            assert len(util) == 1 and 0 <= util[0][1] <= 1.05, util
            per_core = mon.query('appliance_core:busy:rate1m{fleet="%s"}' % NAME)
            assert sorted(s["appliance"] for s, _ in per_core) == sorted(names), per_core

            # down: nothing left
            r = _fleet("down")
            assert r.returncode == 0, r.stdout + r.stderr
            left = _virsh("list", "--all", "--name").stdout.split()
            assert not [n for n in left if n.startswith(NAME + "-")], left
            assert not _nginx_procs(conf), _nginx_procs(conf)
            ss = subprocess.run(["ss", "-Htuan"], capture_output=True, text=True, timeout=10).stdout
            fleet_ports = {fu, fh} | {m["udp"] for m in st["members"]} | \
                {m["http"] for m in st["members"]}
            held = [line for line in ss.splitlines()
                    if any(re.search(r"127\.0\.0\.1:%d\s" % p, line) for p in fleet_ports)
                    and ("LISTEN" in line or "UNCONN" in line)]
            assert not held, held
            assert not os.path.exists(state)
            assert not os.path.exists(targets), targets
            mon.wait("the fleet's targets gone", lambda: not mon.targets_up(fleet_sel))
            retried = sum(o.count("retrying") for o in results)
            return "up %.1f s, jobs per member %s, %d client retries after the destroy" % (
                t_up, spread, retried)
        finally:
            if os.path.exists(state):
                _fleet("down")
