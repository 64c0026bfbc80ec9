"""net.py - host-side helpers for the network tests: free loopback ports,
QEMU user networking with forwarded ports, UDP round trips."""

import json
import re
import socket
import time

from vm import Vm


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


def http_head(raw):
    """(status, headers with lower-case names) of an answer's head, the
    bytes before its blank line."""
    lines = raw.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return int(lines[0].split(" ")[1]), headers


def first_answer(data):
    """(status, headers with lower-case names, body) of the first answer
    in data, the body cut at its Content-Length; (None, {}, data) when
    data holds no whole head."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep or not re.match(rb"HTTP/1\.1 \d{3} ", head):
        return None, {}, data
    status, hdrs = http_head(head)
    if "content-length" in hdrs:
        body = body[:int(hdrs["content-length"])]
    return status, hdrs, body


def http_request(host, port, method, path, body=b"", timeout=30, token=None):
    """One request on a new connection; reads the answer by its
    Content-Length (no waiting for the server's FIN, which loss can
    delay) and closes from this side: the appliance is then not the one
    to close, keeps no TIME-WAIT (2 s of TCP timer), and the request costs
    it only a few wake-ups. Returns (status, headers dict, body
    bytes). Raises OSError/socket.timeout/ValueError when it cannot."""
    deadline = time.monotonic() + timeout
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        head = "%s %s HTTP/1.1\r\nHost: %s\r\n" % (method, path, host)
        if token:
            head += "Authorization: Bearer %s\r\n" % token
        if body or method == "POST":
            head += "Content-Length: %d\r\n" % len(body)
        s.sendall(head.encode() + b"\r\n" + body)
        return read_answer(s, deadline)
    finally:
        s.close()


def read_answer(s, deadline):
    """One answer from socket s, its head and its Content-Length body, by
    the monotonic deadline: (status, headers dict, body bytes). Raises
    OSError/socket.timeout/ValueError when it cannot."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        chunk = s.recv(65536)
        if not chunk:
            raise ValueError("connection closed before the answer's head: %r" % buf[:200])
        buf += chunk
    raw, _, rest = buf.partition(b"\r\n\r\n")
    status, headers = http_head(raw)
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        chunk = s.recv(65536)
        if not chunk:
            raise ValueError("connection closed inside the body")
        rest += chunk
    return status, headers, rest[:length]


class TapNamespace:
    """A network namespace with a tap device (host side 10.77.0.1/24) that
    this test creates and removes; QEMU runs inside it. Raises the runner's
    Skip (given as skip) where namespaces or taps cannot be made."""

    def __init__(self, skip):
        import os
        self.ns = "appl-test-%d" % os.getpid()
        self.skip = skip

    def sh(self, *cmd, check=True):
        import subprocess
        return subprocess.run(list(cmd), capture_output=True, text=True, check=check, timeout=60)

    def run(self, *cmd, check=False, timeout=60):
        import subprocess
        return subprocess.run(["ip", "netns", "exec", self.ns] + list(cmd), capture_output=True,
                              text=True, check=check, timeout=timeout)

    def __enter__(self):
        import os
        import shutil
        if os.geteuid() != 0 or not shutil.which("ip"):
            raise self.skip("needs root and iproute2 to create a network namespace")
        r = self.sh("ip", "netns", "add", self.ns, check=False)
        if r.returncode != 0:
            raise self.skip("cannot create a network namespace: " + r.stderr.strip())
        try:
            r = self.run("ip", "tuntap", "add", "tap0", "mode", "tap")
            if r.returncode != 0:
                raise self.skip("cannot create a tap device: " + r.stderr.strip())
            self.run("ip", "addr", "add", "10.77.0.1/24", "dev", "tap0", check=True)
            self.run("ip", "link", "set", "tap0", "up", check=True)
            self.run("ip", "link", "set", "lo", "up", check=True)
        except BaseException:
            self.sh("ip", "netns", "del", self.ns, check=False)
            raise
        return self

    def net_args(self, mac="52:54:00:77:00:02"):
        return ["-netdev", "tap,id=n0,ifname=tap0,script=no,downscript=no",
                "-device", "virtio-net-pci,netdev=n0,romfile=,mac=" + mac]

    def status(self, guest):
        """GET /api/status of the guest from inside the namespace: the
        document (dict)."""
        r = self.run("python3", "-c", (
            "import socket,sys;s=socket.create_connection(('%s',80),timeout=10);"
            "s.sendall(b'GET /api/status HTTP/1.1\\r\\nConnection: close\\r\\n\\r\\n');"
            "d=b''\n"
            "while True:\n c=s.recv(65536)\n if not c: break\n d+=c\n"
            "sys.stdout.write(d.split(b'\\r\\n\\r\\n',1)[1].decode())" % guest))
        assert r.returncode == 0, r.stdout + r.stderr
        return json.loads(r.stdout)

    def vm_inside(self, vm):
        vm.args = ["ip", "netns", "exec", self.ns] + vm.args
        return vm

    def __exit__(self, *exc):
        self.sh("ip", "netns", "del", self.ns, check=False)


def appliance(smp=1, *, mem="64M", cmdline=""):
    """The product image's Vm (not started) with its UDP 5555 and HTTP 80
    forwarded from free host ports: (vm, udp port, http port)."""
    udp, http = free_port(), free_port(socket.SOCK_STREAM)
    vm = Vm(smp=smp, mem=mem, cmdline=cmdline,
            net=user_net(udp=[(udp, 5555)], tcp=[(http, 80)]))
    return vm, udp, http


def status(http):
    """GET /api/status through host port http, parsed (asserts a 200)."""
    code, _, body = http_request("127.0.0.1", http, "GET", "/api/status")
    assert code == 200, (code, body[:200])
    return json.loads(body)
