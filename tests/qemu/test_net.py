"""Networking (issue: virtio-net driver and lwIP port): DHCP, UDP and TCP
through QEMU user networking on loopback, the INTx and modern-only device
variants, static and fallback addresses, a tap device in a network
namespace the test makes, and idle cost with the network up."""

import os
import shutil
import socket
import subprocess
import time

from net import free_port, tcp_exchange, udp_ask, user_net, wait_udp_ready
from vm import TEST_ELF, Vm

ADDR_RX = r"net: address (\d+\.\d+\.\d+\.\d+)/(\d+) gw (\d+\.\d+\.\d+\.\d+) \((\w+)\)"


def _echo_vm(smp=1, cmdline="", devopts="", **kw):
    port = free_port()
    vm = Vm(smp=smp, cmdline="test_udp_echo=7 " + cmdline,
            net=user_net(udp=[(port, 7)], devopts=devopts), elf=TEST_ELF, **kw)
    return vm, port


def test_dhcp_lease_and_udp_echo():
    vm, port = _echo_vm(smp=2)
    with vm:
        m = vm.wait_for(ADDR_RX, 60)
        assert m.groups() == ("10.0.2.15", "24", "10.0.2.2", "dhcp"), m.group(0)
        assert wait_udp_ready(port, b"hello") == b"hello"
        for n in (1, 64, 512, 1400):
            payload = os.urandom(n)
            assert udp_ask(port, payload) == payload


def test_tcp_port_80_accepts():
    port = free_port(socket.SOCK_STREAM)
    with Vm(smp=1, net=user_net(tcp=[(port, 80)])) as vm:
        vm.wait_for(ADDR_RX, 60)
        data = tcp_exchange(port, b"GET /api/status HTTP/1.1\r\nHost: x\r\n"
                                  b"Connection: close\r\n\r\n")
        assert data.startswith(b"HTTP/1.1 200 OK\r\n"), data[:100]
        assert b"Content-Type: application/json" in data


def test_intx_without_msix():
    vm, port = _echo_vm(devopts="vectors=0")
    with vm:
        vm.wait_for(r"vnet: .* irq intx", 60)
        vm.wait_for(ADDR_RX, 60)
        assert wait_udp_ready(port, b"intx") == b"intx"


def test_modern_only_device():
    vm, port = _echo_vm(devopts="disable-legacy=on")
    with vm:
        vm.wait_for(r"vnet: .* irq msi-x", 60)
        assert wait_udp_ready(port, b"modern") == b"modern"


def test_static_address():
    vm, port = _echo_vm(cmdline="ip=10.0.2.15/24,10.0.2.2")
    with vm:
        m = vm.wait_for(ADDR_RX, 60)
        assert m.groups() == ("10.0.2.15", "24", "10.0.2.2", "static")
        assert "dhcp started" not in vm.out
        assert wait_udp_ready(port, b"static") == b"static"


def test_malformed_ip_option_falls_back_to_dhcp():
    vm, port = _echo_vm(cmdline="ip=10.0.2.300/24")
    with vm:
        vm.wait_for(r"net: ip=10\.0\.2\.300/24 is malformed", 60)
        m = vm.wait_for(ADDR_RX, 60)
        assert m.group(4) == "dhcp"


def test_no_dhcp_server_falls_back():
    """A NIC on a socket backend has no DHCP server behind it."""
    p1, p2 = free_port(), free_port()
    net = ["-netdev", "socket,id=n0,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d" % (p1, p2),
           "-device", "virtio-net-pci,netdev=n0"]
    with Vm(smp=1, net=net) as vm:
        vm.wait_for(r"net: no DHCP lease after \d+ ms", 60)
        m = vm.wait_for(ADDR_RX, 10)
        assert m.groups() == ("10.0.2.15", "24", "10.0.2.2", "fallback")


def test_idle_with_network_up():
    with Vm(smp=4, net=user_net()) as vm:
        vm.wait_for(ADDR_RX, 60)
        time.sleep(1.0)
        a = vm.cpu_ns()
        time.sleep(5.0)
        used = vm.cpu_ns() - a
        pct = used / 5e9 * 100
        print("idle with network: %.3f%% of one host core" % pct)
        assert pct < 2.0, "idle QEMU with network used %.2f%% of a core" % pct


def _sh(*cmd, check=True):
    return subprocess.run(list(cmd), capture_output=True, text=True, check=check, timeout=30)


def test_tap_in_namespace():
    """ping, ARP and UDP against a static address on a tap device inside a
    network namespace this test creates and removes."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        raise Skip("needs root and iproute2 to create a network namespace")  # noqa: F821
    ns = "appl-test-%d" % os.getpid()
    try:
        r = _sh("ip", "netns", "add", ns, check=False)
        if r.returncode != 0:
            raise Skip("cannot create a network namespace: " + r.stderr.strip())  # noqa: F821
        r = _sh("ip", "netns", "exec", ns, "ip", "tuntap", "add", "tap0", "mode", "tap",
                check=False)
        if r.returncode != 0:
            raise Skip("cannot create a tap device: " + r.stderr.strip())  # noqa: F821
        _sh("ip", "netns", "exec", ns, "ip", "addr", "add", "10.77.0.1/24", "dev", "tap0")
        _sh("ip", "netns", "exec", ns, "ip", "link", "set", "tap0", "up")
        _sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
        net = ["-netdev", "tap,id=n0,ifname=tap0,script=no,downscript=no",
               "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:77:00:02"]
        vm = Vm(smp=2, cmdline="ip=10.77.0.2/24,10.77.0.1 test_udp_echo=7", net=net,
                elf=TEST_ELF)
        vm.args = ["ip", "netns", "exec", ns] + vm.args
        with vm:
            m = vm.wait_for(ADDR_RX, 60)
            assert m.groups() == ("10.77.0.2", "24", "10.77.0.1", "static")
            vm.wait_for(r"appliance: ready", 30)
            r = _sh("ip", "netns", "exec", ns, "ping", "-c", "3", "-W", "5", "10.77.0.2",
                    check=False)
            assert r.returncode == 0, r.stdout + r.stderr
            neigh = _sh("ip", "netns", "exec", ns, "ip", "neigh", "show", "10.77.0.2").stdout
            assert "52:54:00:77:00:02" in neigh, "ARP did not resolve: " + neigh
            code = ("import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                    "s.settimeout(5); s.sendto(b'tap', ('10.77.0.2', 7)); "
                    "print(s.recvfrom(100)[0].decode())")
            r = _sh("ip", "netns", "exec", ns, "python3", "-c", code, check=False)
            assert r.stdout.strip() == "tap", r.stdout + r.stderr
            # and the guest resolved the host side by ARP too, or it could
            # not have answered
    finally:
        _sh("ip", "netns", "del", ns, check=False)
