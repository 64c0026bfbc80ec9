"""The UDP compute endpoint (issue: the paper's prime job over UDP): exact
results in both modes over several core counts, an ERR line for every
malformed request, concurrent clients, capacity limits, and proof that the
work really spreads over the cores."""

import os
import re
import socket
import subprocess
import threading
import time

from net import free_port, udp_ask, user_net, wait_udp_ready
from vm import TEST_ELF, TOP, Vm

PRIMECTL = os.path.join(TOP, "build", "primectl")
# API.md section 1 reference values, and the small ones by definition.
PI = {0: 0, 1: 0, 2: 0, 3: 1, 10: 4, 100: 25, 100000: 9592, 1000000: 78498}
REPLY_RX = re.compile(rb"^(\d+) tasks=(\d+) mode=(repeat|split) cores=(\d+) us=(\d+)\n$")


def _vm(smp, cmdline="", port=None, **kw):
    port = port or free_port()
    vm = Vm(smp=smp, cmdline=cmdline, net=user_net(udp=[(port, 5555)]), **kw)
    return vm, port


def _ready(vm, port):
    vm.wait_for(r"udp: compute endpoint on port 5555", 60)
    wait_udp_ready(port, b"1 1")


def _ask(port, limit, tasks, mode, timeout=60):
    data = udp_ask(port, ("%d %d %s\n" % (limit, tasks, mode)).encode(), timeout=timeout, tries=1)
    m = REPLY_RX.match(data)
    assert m, "malformed reply %r" % data
    return int(m.group(1)), m


def _correctness(smp):
    vm, port = _vm(smp)
    with vm:
        _ready(vm, port)
        for limit, pi in PI.items():
            tasks_list = range(1, 17) if limit < 1000000 else (1, 2, 3, 5, 16)
            for tasks in tasks_list:
                for mode in ("repeat", "split"):
                    got, m = _ask(port, limit, tasks, mode)
                    want = pi * tasks if mode == "repeat" else pi
                    assert got == want, "%d %d %s: got %d want %d" % (limit, tasks, mode, got, want)
                    assert int(m.group(2)) == tasks and m.group(3).decode() == mode
                    assert int(m.group(4)) == smp
        # the host client checks against its own copy of the workload
        for args in (["123457", "3"], ["1000000", "4", "split"], ["99991", "7", "repeat"]):
            r = subprocess.run([PRIMECTL, "udp", "127.0.0.1:%d" % port] + args,
                               capture_output=True, text=True, timeout=120)
            assert r.returncode == 0 and "check: ok" in r.stdout, r.stdout + r.stderr


def test_correct_results_smp1():
    _correctness(1)


def test_correct_results_smp2():
    _correctness(2)


def test_correct_results_smp4():
    _correctness(4)


BAD = [
    (b"", b"ERR empty request\n"),
    (b"   \n", b"ERR empty request\n"),
    (b"abc", b"ERR bad limit\n"),
    (b"-5 2", b"ERR bad limit\n"),
    (b"+5", b"ERR bad limit\n"),
    (b"0x10", b"ERR bad limit\n"),
    (b"1e6", b"ERR bad limit\n"),
    (b"18446744073709551616 1", b"ERR limit too large\n"),
    (b"1099511627777", b"ERR limit too large\n"),
    (b"100 0", b"ERR bad tasks\n"),
    (b"100 1025", b"ERR too many tasks\n"),
    (b"100 -1", b"ERR bad tasks\n"),
    (b"100 2 fast", b"ERR bad mode\n"),
    (b"100 2 SPLIT", b"ERR bad mode\n"),
    (b"100 2 split x", b"ERR extra fields\n"),
    (b"1" + b" " * 511 + b"\n", b"ERR request too long\n"),       # 513 bytes
    (b"9" * 2000, b"ERR request too long\n"),
    (b"\x00\xff\xfe garbage", b"ERR bad limit\n"),
]


def test_malformed_requests_get_err_and_service_continues():
    vm, port = _vm(2)
    with vm:
        _ready(vm, port)
        for req, want in BAD:
            got = udp_ask(port, req, timeout=10, tries=1)
            assert got == want, "%r: got %r want %r" % (req[:40], got, want)
            got, _ = _ask(port, 100, 2, "repeat")
            assert got == 50
        # exactly 512 bytes with the newline is still a request
        got = udp_ask(port, b"10" + b" " * 509 + b"\n", timeout=10, tries=1)
        assert got.startswith(b"4 tasks=1 mode=repeat"), got
        assert vm.alive()


def test_eight_concurrent_clients():
    vm, port = _vm(4)
    with vm:
        _ready(vm, port)
        errors = []

        def client(k):
            try:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.settimeout(60)
                jobs = [(100000, 1 + (k + i) % 5, ("repeat", "split")[(k + i) % 2]) for i in range(4)]
                for limit, tasks, mode in jobs:
                    s.sendto(("%d %d %s" % (limit, tasks, mode)).encode(), ("127.0.0.1", port))
                answers = [s.recvfrom(200)[0] for _ in jobs]
                want = sorted((9592 * t if m == "repeat" else 9592, t, m) for _, t, m in jobs)
                got = sorted((int(REPLY_RX.match(a).group(1)), int(REPLY_RX.match(a).group(2)),
                              REPLY_RX.match(a).group(3).decode()) for a in answers)
                if got != want:
                    errors.append("client %d: got %s want %s" % (k, got, want))
                s.settimeout(1)
                try:
                    extra = s.recvfrom(200)
                    errors.append("client %d: a second reply %r" % (k, extra))
                except socket.timeout:
                    pass
                s.close()
            except Exception as e:  # noqa: BLE001
                errors.append("client %d: %r" % (k, e))

        threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, "\n".join(errors)


def test_capacity_busy_and_nothing_lost():
    """More than 64 jobs in flight: the rest get ERR busy; every accepted
    job is answered exactly once with the right result. Then a job of 1000
    tasks is accepted, and a small job sent while it runs is answered
    before it."""
    vm, port = _vm(1)
    with vm:
        _ready(vm, port)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(120)
        n = 80
        for _ in range(n):
            s.sendto(b"100000 1", ("127.0.0.1", port))
        answers = [s.recvfrom(200)[0] for _ in range(n)]
        busy = [a for a in answers if a == b"ERR busy\n"]
        ok = [a for a in answers if a.startswith(b"9592 tasks=1 mode=repeat")]
        assert len(busy) + len(ok) == n, answers
        # the 80 datagrams arrive within milliseconds, a job takes ~10 ms
        # here: at least 64 fit in flight, and some are refused
        assert len(ok) >= 64 and len(busy) >= 1, (len(ok), len(busy))

        # A job of many tasks neither fills a queue nor holds back a small
        # job sent after it: the small one is answered first, both right.
        s.sendto(b"100000 1000", ("127.0.0.1", port))
        time.sleep(0.3)
        s.sendto(b"10 100", ("127.0.0.1", port))
        first = s.recvfrom(200)[0]
        assert first.startswith(b"400 tasks=100 mode=repeat"), first
        last = s.recvfrom(200)[0]
        assert last.startswith(b"9592000 tasks=1000 mode=repeat"), last
        s.close()


LOGGED = r"jobs: job \d+ done result=%s .* tasks_done=\[([\d,]+)\] chunks_done=\[([\d,]+)\]"


def test_work_spreads_over_every_core():
    """A job's chunks run on every core, the BSP too; each task is counted
    once, on the core that ran its last chunk."""
    vm, port = _vm(4, cmdline="test_log_jobs=1", elf=TEST_ELF)
    with vm:
        _ready(vm, port)
        m = vm.wait_for(LOGGED % r"\d+", 30)
        before = [[int(x) for x in m.group(k).split(",")] for k in (1, 2)]
        start = len(vm.out)
        got, _ = _ask(port, 1000000, 4, "repeat")
        assert got == 4 * 78498
        vm.wait_for(LOGGED % "313992", 30, start)
        # A core counts its chunk when the chunk returns, which can be just
        # after the BSP logged the job: read the counts at the next job's end.
        start = len(vm.out)
        got, _ = _ask(port, 10, 1, "repeat")
        m = vm.wait_for(LOGGED % "4", 30, start)
        after = [[int(x) for x in m.group(k).split(",")] for k in (1, 2)]
    print("spread: tasks_done %s -> %s, chunks_done %s -> %s"
          % (before[0], after[0], before[1], after[1]))
    assert len(after[1]) == 4
    assert all(a > b for a, b in zip(after[1], before[1])), (before, after)
    assert sum(after[0]) - sum(before[0]) in (4, 5), (before, after)


def test_more_tasks_take_longer_on_one_core():
    vm, port = _vm(1)
    with vm:
        _ready(vm, port)
        _ask(port, 1000000, 1, "repeat")        # warm-up: TCG translates the loop once
        _, m1 = _ask(port, 1000000, 1, "repeat")
        _, m4 = _ask(port, 1000000, 4, "repeat")
        us1, us4 = int(m1.group(5)), int(m4.group(5))
        print("smp1: 1 task %d us, 4 tasks %d us, ratio %.2f" % (us1, us4, us4 / us1))
        assert us4 > 2.5 * us1, (us1, us4)


def test_udp_port_option():
    port = free_port()
    vm = Vm(smp=1, cmdline="udp_port=6000", net=user_net(udp=[(port, 6000)]))
    with vm:
        vm.wait_for(r"udp: compute endpoint on port 6000", 60)
        assert wait_udp_ready(port, b"100 2").startswith(b"50 tasks=2 mode=repeat cores=1 us=")
