#!/usr/bin/env python3
"""rawpeer.py - a made-up host on a tap device, speaking Ethernet frames
through an AF_PACKET socket: its own MAC and IPv4 address, which the host
kernel does not own, so the test alone answers ARP and drives TCP. Run as
root inside the network namespace that holds the tap (tests run it with
`ip netns exec`). Prints one JSON object with what it measured.

  rawpeer.py ooseq  IFACE GUEST_IP   out-of-order TCP segment flood, then UDP and TCP
  rawpeer.py arpq   IFACE GUEST_IP   a burst of requests whose replies wait for ARP
  rawpeer.py zerowin IFACE GUEST_IP PORT SECONDS   a closed answer held by a shut window
  rawpeer.py zerowin-open IFACE GUEST_IP PORT SECONDS   the same, the connection kept open
"""

import json
import random
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
MY_MAC = bytes.fromhex("020000000009")
MY_IP = "10.77.0.9"


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ip4(src, dst, proto, payload, ident=0):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0, 64, proto, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + payload


def pseudo(src, dst, proto, seg):
    return struct.pack("!4s4sBBH", socket.inet_aton(src), socket.inet_aton(dst), 0, proto, len(seg))


def tcp(src, dst, sport, dport, seq, ack, flags, payload=b"", win=65535, opts=b""):
    """A TCP segment in an IPv4 packet; opts: options, a multiple of 4 bytes."""
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xffffffff, ack & 0xffffffff,
                      (5 + len(opts) // 4) << 4, flags, win, 0, 0) + opts
    c = csum(pseudo(src, dst, 6, hdr + payload) + hdr + payload)
    return ip4(src, dst, 6, hdr[:16] + struct.pack("!H", c) + hdr[18:] + payload)


def udp(src, dst, sport, dport, payload):
    hdr = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
    c = csum(pseudo(src, dst, 17, hdr + payload) + hdr + payload) or 0xffff
    return ip4(src, dst, 17, hdr[:6] + struct.pack("!H", c) + payload)


FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16


class Peer:
    def __init__(self, iface, guest_ip):
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.s.bind((iface, 0))
        self.guest_ip = guest_ip
        self.guest_mac = None
        self.answer_arp = True
        self.arp_requests = 0

    def send_ip(self, packet):
        mac = self.guest_mac or b"\xff" * 6
        self.s.send(mac + MY_MAC + b"\x08\x00" + packet)

    def resolve_guest(self, timeout=5):
        """ARP for the guest's MAC (the guest learns ours from it, too)."""
        req = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, MY_MAC, socket.inet_aton(MY_IP),
                          b"\0" * 6, socket.inet_aton(self.guest_ip))
        deadline = time.monotonic() + timeout
        while not self.guest_mac and time.monotonic() < deadline:
            self.s.send(b"\xff" * 6 + MY_MAC + b"\x08\x06" + req)
            self.recv(0.3)
        assert self.guest_mac, "the guest did not answer ARP"

    def recv(self, timeout):
        """The next IPv4 frame for us (ARP handled here), or None."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.s], [], [], left)[0]:
                return None
            f = self.s.recv(65535)
            if len(f) < 14 or f[6:12] == MY_MAC:
                continue
            etype = struct.unpack("!H", f[12:14])[0]
            if etype == 0x0806 and len(f) >= 42:
                op = struct.unpack("!H", f[20:22])[0]
                sha, spa, tpa = f[22:28], f[28:32], f[38:42]
                if socket.inet_ntoa(spa) == self.guest_ip:
                    self.guest_mac = sha
                if op == 1 and socket.inet_ntoa(tpa) == MY_IP:
                    self.arp_requests += 1
                    if self.answer_arp:
                        self.reply_arp(sha, spa)
                continue
            if etype == 0x0800 and f[0:6] == MY_MAC and socket.inet_ntoa(f[30:34]) == MY_IP:
                return f[14:]

    def reply_arp(self, mac, ip):
        rep = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, MY_MAC, socket.inet_aton(MY_IP),
                          mac, ip)
        self.s.send(mac + MY_MAC + b"\x08\x06" + rep)


def tcp_fields(p):
    ihl = (p[0] & 15) * 4
    t = p[ihl:]
    sport, dport, seq, ack, off, flags = struct.unpack("!HHIIBB", t[:14])
    return sport, dport, seq, ack, flags, t[(off >> 4) * 4:]


def udp_roundtrip(peer, port, payload, timeout):
    """Seconds until the guest answered a datagram from us, or None."""
    t0 = time.monotonic()
    sport = random.randint(20000, 30000)
    peer.send_ip(udp(MY_IP, peer.guest_ip, sport, port, payload))
    while time.monotonic() - t0 < timeout:
        p = peer.recv(timeout - (time.monotonic() - t0))
        if p and p[9] == 17 and struct.unpack("!H", p[22:24])[0] == sport:
            return time.monotonic() - t0
    return None


def connect(iface, guest_ip, win=65535):
    """A SYN to the guest's port 80 and its SYN-ACK (the handshake's last
    ACK is the caller's): (peer, our port, our ISN, the guest's ISN)."""
    peer = Peer(iface, guest_ip)
    peer.resolve_guest()
    sport = random.randint(40000, 50000)
    isn = random.randint(0, 1 << 31)
    peer.send_ip(tcp(MY_IP, guest_ip, sport, 80, isn, 0, SYN, win=win))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        p = peer.recv(1)
        if p and p[9] == 6:
            sp, dp, seq, ack, flags, _ = tcp_fields(p)
            if dp == sport and flags & SYN and flags & ACK:
                return peer, sport, isn, seq
    raise AssertionError("no SYN-ACK")


def ooseq(iface, guest_ip, udp_port, segments):
    peer, sport, isn, gseq = connect(iface, guest_ip)
    peer.send_ip(tcp(MY_IP, guest_ip, sport, 80, isn + 1, gseq + 1, ACK))
    # Tiny segments beyond a gap: none can be delivered, each is kept.
    for k in range(segments):
        peer.send_ip(tcp(MY_IP, guest_ip, sport, 80, isn + 1 + 1000 + 2 * k, gseq + 1,
                         ACK | PSH, b"x"))
    time.sleep(0.2)
    rtt = udp_roundtrip(peer, udp_port, b"1000 1\n", 3.0)
    peer.send_ip(tcp(MY_IP, guest_ip, sport, 80, isn + 1, gseq + 1, RST))
    return {"segments": segments, "udp_answer_s": rtt}


def arpq(iface, guest_ip, udp_port, burst):
    """Requests from a peer the guest has no ARP entry for: every reply
    waits for ARP, which we answer only after the whole burst."""
    peer = Peer(iface, guest_ip)
    peer.resolve_guest()        # we learn the guest's MAC; it learns ours...
    # ...so wait for that entry to be forgotten? No: use a second address.
    global MY_IP
    MY_IP = "10.77.0.%d" % random.randint(100, 200)
    peer.answer_arp = False
    # One random base, distinct ports: two requests from one port would be
    # counted as one reply (the CI run that saw 19 of 20 had, by chance,
    # two equal ports when each was drawn on its own).
    base = random.randint(20000, 30000)
    ports = [base + 10 * i for i in range(burst)]
    for sp in ports:
        peer.send_ip(udp(MY_IP, guest_ip, sp, udp_port, b"1000 1\n"))
    t0 = time.monotonic()
    while time.monotonic() - t0 < 0.5:
        peer.recv(0.1)
    peer.answer_arp = True
    got = set()
    t0 = time.monotonic()
    while time.monotonic() - t0 < 6 and len(got) < burst:
        if peer.arp_requests and not got:
            # answer the guest's pending query at once (it retries every second)
            peer.reply_arp(peer.guest_mac, socket.inet_aton(guest_ip))
        p = peer.recv(0.5)
        if p and p[9] == 17:
            got.add(struct.unpack("!H", p[22:24])[0])
    return {"burst": burst, "replies": len(got), "arp_requests": peer.arp_requests}


def zerowin(iface, guest_ip, udp_port, seconds, close=True):
    """A client that asks for an answer (with Connection: close: the
    appliance closes once its answer is all with TCP, and lwIP waits in
    FIN-WAIT-1; without: a long one, GET /app.js, that the HTTP layer
    keeps sending), takes its first 200 bytes, then shuts its window and
    answers every window probe with window 0, for seconds. Returns when
    the guest reset the connection (seconds after the request) or the
    time ran out, and where the reset lands against the
    right edge of the window we gave (rst_past_edge: 0 at the edge, where
    a TCP with its window shut takes it; 1 one byte past, where it drops
    it as out of window)."""
    peer, sport, isn, gseq = connect(iface, guest_ip, win=200)
    if close:
        req = b"GET /api/status HTTP/1.1\r\nConnection: close\r\n\r\n"
    else:
        req = b"GET /app.js HTTP/1.1\r\nHost: x\r\n\r\n"
    peer.send_ip(tcp(MY_IP, guest_ip, sport, 80, isn + 1, gseq + 1, ACK | PSH, req, win=200))
    got, probes, rst, past, t0 = 0, 0, None, None, time.monotonic()
    my_seq = isn + 1 + len(req)
    while time.monotonic() - t0 < seconds and rst is None:
        p = peer.recv(0.5)
        if not p or p[9] != 6:
            continue
        sp, dp, seq, ack, flags, data = tcp_fields(p)
        if dp != sport:
            continue
        if flags & RST:
            rst = time.monotonic() - t0
            past = (seq - (gseq + 1 + got)) & 0xffffffff
            past = past - (1 << 32) if past >= 1 << 31 else past
            break
        if data and seq == gseq + 1 + got and got < 200:
            got += len(data)
        else:
            probes += 1         # a window probe, or data beyond the window
        # Acknowledge what we took, window shut.
        peer.send_ip(tcp(MY_IP, guest_ip, sport, 80, my_seq, gseq + 1 + got, ACK, win=0))
    peer.send_ip(tcp(MY_IP, guest_ip, sport, 80, my_seq, gseq + 1 + got, RST))
    return {"taken": got, "probes": probes, "reset_after_s": rst, "rst_past_edge": past}


def main():
    what, iface, guest_ip, udp_port, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), \
        int(sys.argv[5])
    out = {"ooseq": ooseq, "arpq": arpq, "zerowin": zerowin,
           "zerowin-open": lambda *a: zerowin(*a, close=False)}[what](iface, guest_ip, udp_port, n)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
