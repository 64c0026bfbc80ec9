"""test_matrix.py - the appliance on the machines users have (issue 8):
QEMU 7.2's xAPIC qemu64 up to 255 cores on pc, QEMU 10's -cpu max with
x2APIC offered but off (the kernel turns it on, as under KVM), and q35 with
an Intel IOMMU at 288 and 1024 cores (x2APIC already on from the firmware,
APIC IDs above 255). Each boot must reach "cores online: N", pass the
self-test and answer a UDP job through virtio-net; its /metrics must pass
`promtool check metrics` (issue 19: at 1, 4 and 288 cores among them)."""

import json
import socket
import time

import prom
import vm as vmmod
from net import free_port, tcp_exchange, udp_ask, user_net, wait_udp_ready
from vm import Vm


def _serve(smp, expect_mode, boot_timeout, mem="64M", **kw):
    udp, http = free_port(), free_port(socket.SOCK_STREAM)
    try:
        vm = Vm(smp=smp, mem=mem, net=user_net(udp=[(udp, 5555)], tcp=[(http, 80)]), **kw)
    except vmmod.QemuUnavailable as e:
        raise Skip(str(e))  # noqa: F821 - the runner's Skip
    t0 = time.monotonic()
    with vm:
        m = vm.wait_for(r"smp: (x2apic|xapic), (\d+) of (\d+) cores started", boot_timeout)
        booted = time.monotonic() - t0
        assert m.group(1) == expect_mode, m.group(0)
        assert m.group(2) == m.group(3) == str(smp), m.group(0)
        m = vm.wait_for(r"selftest: (\w+) \((\d+) tasks ran on (\d+) distinct", 120)
        assert m.group(1) == "passed" and m.group(3) == str(smp), m.group(0)
        timer = vm.wait_for(r"timer ([a-z -]+)\n", 5).group(1)
        wait_udp_ready(udp, b"10\n", timeout=120)
        answered = time.monotonic() - t0
        r = udp_ask(udp, b"1000000 %d split\n" % min(smp, 1024), timeout=60)
        assert r.startswith(b"78498 tasks=%d mode=split cores=%d " % (min(smp, 1024), smp)), r
        out = tcp_exchange(http, b"GET /api/status HTTP/1.1\r\nConnection: close\r\n\r\n",
                           timeout=60)
        body = out.split(b"\r\n\r\n", 1)[1]
        st = json.loads(body)
        assert len(st["cores"]) == smp and st["smp"]["online"] == smp
        ids = sorted(c["apic_id"] for c in st["cores"])
        out = tcp_exchange(http, b"GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n", timeout=60)
        assert out.startswith(b"HTTP/1.1 200"), out[:80]
        assert out.count(b"appliance_core_halts_total{core=") == smp
        prom.check_metrics(prom.http_body(out))
    print("matrix: QEMU %s %s -smp %d: %s, timer %s, cores online after %.1f s, first UDP "
          "answer after %.1f s, APIC IDs %d..%d, /api/status %d bytes, /metrics %d bytes"
          % (kw.get("qemu", "7.2"), kw.get("machine", "q35"), smp, expect_mode, timer, booted,
             answered, ids[0], ids[-1], len(body), len(out)))
    return ids


def test_qemu72_one_core():
    _serve(1, "xapic", 60, machine="pc")


def test_qemu72_255_cores_xapic_on_pc():
    """The largest xAPIC machine: APIC IDs 0..254 (255 is broadcast)."""
    ids = _serve(255, "xapic", 240, machine="pc")
    assert ids[-1] == 254


def test_qemu10_cpu_max_turns_x2apic_on_itself():
    """-cpu max offers x2APIC but leaves it off, as KVM does: the kernel
    must switch it on before it touches an APIC register."""
    _serve(4, "x2apic", 60, qemu="10", cpu="max", machine="pc")


def test_qemu10_q35_288_cores_apic_ids_above_255():
    ids = _serve(288, "x2apic", 300, qemu="10", machine="q35", iommu=True, cpu="max")
    assert ids[-1] > 255


def test_qemu10_q35_1024_cores():
    ids = _serve(1024, "x2apic", 900, qemu="10", machine="q35", iommu=True, cpu="max")
    assert ids[-1] >= 1023


def test_kvm_x2apic_and_tsc_deadline():
    """Where KVM runs a guest at all: KVM always presents an x2APIC and a
    TSC-deadline timer, the one path no TCG offers. The boot line says
    which timer is in use. (Whether KVM is fast enough for `make run` is
    tools/accel.sh's question; here even a slow nested KVM will do.)"""
    import os
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        raise Skip("no usable /dev/kvm on this host")  # noqa: F821
    udp = free_port()
    vm = Vm(smp=4, net=user_net(udp=[(udp, 5555)]))
    i = vm.args.index("-accel")
    vm.args[i:i + 2] = ["-accel", "kvm", "-cpu", "host,-arch-capabilities"]
    with vm:
        try:
            m = vm.wait_for(r"timer ([a-z -]+)\n", 30)
        except AssertionError as e:
            raise Skip("KVM does not boot the guest here: " + str(e)[-300:])  # noqa: F821
        timer = m.group(1)
        m = vm.wait_for(r"smp: (x2apic|xapic), (\d+) of (\d+) cores started", 30)
        assert m.group(1) == "x2apic" and m.group(2) == "4", m.group(0)
        wait_udp_ready(udp, b"10\n")
        # Idle with the deadline timer armed for lwIP: it fires, and jobs
        # on every core are still answered after it.
        time.sleep(1.5)
        assert udp_ask(udp, b"1000 4\n", timeout=30).startswith(b"672 tasks=4 ")
    print("kvm: x2apic, timer %s, 4 cores, jobs answered" % timer)
    assert timer == "tsc-deadline", timer
