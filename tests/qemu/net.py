"""net.py - host-side helpers for the network tests: free loopback ports,
QEMU user networking with forwarded ports, UDP round trips."""

import socket
import time


def free_port(kind=socket.SOCK_DGRAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def user_net(udp=(), tcp=(), device="virtio-net-pci", devopts=""):
    """QEMU args for user networking; udp/tcp: [(host_port, guest_port)]."""
    fwd = "".join(",hostfwd=udp:127.0.0.1:%d-:%d" % p for p in udp)
    fwd += "".join(",hostfwd=tcp:127.0.0.1:%d-:%d" % p for p in tcp)
    # romfile= : no iPXE option ROM for SeaBIOS to run at every boot
    dev = "%s,netdev=n0,romfile=" % device + ("," + devopts if devopts else "")
    return ["-netdev", "user,id=n0" + fwd, "-device", dev]


def udp_ask(port, payload, timeout=5.0, tries=3, host="127.0.0.1"):
    """Sends payload to host:port and returns the first reply (bytes);
    retries on timeout. Raises AssertionError when nothing comes back."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        for _ in range(tries):
            s.sendto(payload, (host, port))
            try:
                data, _ = s.recvfrom(65536)
                return data
            except socket.timeout:
                continue
    finally:
        s.close()
    raise AssertionError("no UDP answer from %s:%d to %r" % (host, port, payload[:60]))


def wait_udp_ready(port, payload=b"ping", timeout=30):
    """QEMU's user stack drops datagrams until the guest has an address;
    ask until one is answered."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return udp_ask(port, payload, timeout=0.5, tries=1)
        except AssertionError:
            pass
    raise AssertionError("UDP port %d never answered" % port)


def tcp_exchange(port, data, timeout=20, host="127.0.0.1"):
    """Sends data on a new TCP connection and returns every byte that comes
    back until the server closes (or the timeout passes)."""
    s = socket.create_connection((host, port), timeout=timeout)
    s.sendall(data)
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except socket.timeout:
        pass
    s.close()
    return out
