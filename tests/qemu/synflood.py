#!/usr/bin/env python3
"""synflood.py - a spoofed SYN flood through a tap device, with a
legitimate client beside it, and a look at the guest's initial sequence
numbers. Run as root inside the network namespace that holds the tap
(tests run it with `ip netns exec`); the namespace's own address is the
legitimate client, the spoofed sources are other addresses of its subnet
(the ARP requests for them are answered with a made-up MAC, so the
SYN-ACKs go out on the wire where they are counted, and nothing answers
them). Prints one JSON object with what it measured.

  synflood.py flood IFACE GUEST_IP RATE SECONDS TRIES TRY_TIMEOUT
      RATE spoofed SYNs a second to port 80 for SECONDS (or until the
      tries are done); meanwhile TRIES fresh connections GET /api/status
      (each may wait TRY_TIMEOUT s), and 4 connections opened before the
      flood ask on every try.
  synflood.py isn IFACE GUEST_IP N
      N SYNs from N source ports, each reset after its SYN-ACK; then one
      source port twice, half a second apart.
"""

import json
import random
import select
import socket
import struct
import sys
import threading
import time

import rawpeer
from net import read_answer
from rawpeer import ACK, RST, SYN, tcp, tcp_fields

FAKE_MAC = bytes.fromhex("02000000fe01")
LEGIT_IP = "10.77.0.1"          # the namespace's own address (TapNamespace)
PORT = 80
SETTLE_S = 3.5          # after the flood, before the last look


def syn_with_mss(src, dst, sport, dport, seq):
    """A SYN carrying an MSS option, as a real client's would."""
    return tcp(src, dst, sport, dport, seq, 0, SYN, win=64240,
               opts=struct.pack("!BBH", 2, 4, 1460))


def fake_source(guest_ip):
    """A random address of the /24 other than the client, the guest and
    rawpeer's, and a random port."""
    net = guest_ip.rsplit(".", 1)[0]
    while True:
        host = random.randint(3, 254)
        if host not in (1, 2, 9) and "%s.%d" % (net, host) != guest_ip:
            return "%s.%d" % (net, host), random.randint(1024, 65535)


class Wire:
    """The tap seen from the made-up hosts: answers ARP for every address
    but the namespace's own and the guest's, and counts what the guest
    sends to them."""

    def __init__(self, iface, guest_ip):
        self.peer = rawpeer.Peer(iface, guest_ip)
        self.s = self.peer.s
        self.guest_ip = guest_ip
        self.lock = threading.Lock()
        self.synacks = 0            # SYN-ACKs to spoofed addresses
        self.synack_tuples = set()  # (addr, port) that got one
        self.rsts = 0               # RSTs to spoofed addresses
        self.arp_requests = 0       # ARP requests for spoofed addresses
        self.isns = {}              # (addr, port) -> ISN of its first SYN-ACK
        self.stop = threading.Event()

    def resolve(self):
        self.peer.resolve_guest()
        self.guest_mac = self.peer.guest_mac

    def send_ip(self, packet, dst_mac=None):
        self.s.send((dst_mac or self.guest_mac) + FAKE_MAC + b"\x08\x00" + packet)

    def run(self):
        while not self.stop.is_set():
            if not select.select([self.s], [], [], 0.1)[0]:
                continue
            f = self.s.recv(65535)
            if len(f) < 14 or f[6:12] == FAKE_MAC or f[6:12] == rawpeer.MY_MAC:
                continue
            etype = struct.unpack("!H", f[12:14])[0]
            if etype == 0x0806 and len(f) >= 42:
                op = struct.unpack("!H", f[20:22])[0]
                sha, spa, tpa = f[22:28], f[28:32], f[38:42]
                target = socket.inet_ntoa(tpa)
                if op == 1 and socket.inet_ntoa(spa) == self.guest_ip and \
                        target not in (LEGIT_IP, self.guest_ip, rawpeer.MY_IP):
                    with self.lock:
                        self.arp_requests += 1
                    rep = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, FAKE_MAC, tpa,
                                      sha, spa)
                    self.s.send(sha + FAKE_MAC + b"\x08\x06" + rep)
                continue
            if etype != 0x0800 or f[0:6] != FAKE_MAC or len(f) < 14 + 40:
                continue
            p = f[14:]
            if p[9] != 6:
                continue
            dst = socket.inet_ntoa(p[16:20])
            sport, dport, seq, ack, flags, _ = tcp_fields(p)
            with self.lock:
                if flags & SYN and flags & ACK:
                    self.synacks += 1
                    self.synack_tuples.add((dst, dport))
                    self.isns.setdefault((dst, dport), seq)
                elif flags & RST:
                    self.rsts += 1


def status_on(sock, timeout):
    """GET /api/status on an open keep-alive connection: the lwip object."""
    sock.sendall(b"GET /api/status HTTP/1.1\r\nHost: a\r\n\r\n")
    status, _, body = read_answer(sock, time.monotonic() + timeout)
    assert status == 200, status
    return json.loads(body)["lwip"]


def fresh_status(guest_ip, timeout):
    """(seconds until a new connection's GET /api/status was answered, its
    lwip object), or (None, why). The answer is read by its length and the
    connection closed from here, so the guest keeps no TIME-WAIT for it
    and its pcbs in use are the flood's and the kept connections'."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    try:
        s = socket.create_connection((guest_ip, PORT), timeout=timeout)
    except OSError as e:
        return None, "connect: %s" % e
    try:
        s.sendall(b"GET /api/status HTTP/1.1\r\nHost: a\r\n\r\n")
        status, _, body = read_answer(s, deadline)
        if status != 200:
            return None, "status %d" % status
        return time.monotonic() - t0, json.loads(body)["lwip"]
    except (OSError, ValueError) as e:
        return None, "%s: %s" % (type(e).__name__, e)
    finally:
        s.close()


def flood(iface, guest_ip, rate, seconds, tries, try_timeout):
    wire = Wire(iface, guest_ip)
    wire.resolve()
    reader = threading.Thread(target=wire.run, daemon=True)
    reader.start()
    kept = [socket.create_connection((guest_ip, PORT), timeout=10) for _ in range(4)]
    before = status_on(kept[0], 10)
    sent = [0]
    flooding, tries_done = threading.Event(), threading.Event()

    def sender():
        # Until the tries are done, and at least SECONDS.
        t0 = time.monotonic()
        flooding.set()
        while not wire.stop.is_set() and not (tries_done.is_set() and
                                               time.monotonic() - t0 >= seconds):
            src, sport = fake_source(guest_ip)
            wire.send_ip(syn_with_mss(src, guest_ip, sport, PORT, random.getrandbits(32)))
            sent[0] += 1
            nxt = t0 + sent[0] / rate
            delay = nxt - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    t_flood = time.monotonic()
    flooder = threading.Thread(target=sender, daemon=True)
    flooder.start()
    flooding.wait()
    time.sleep(min(3.0, seconds / 4))   # the half-open ones pile up first
    waits, failures, pcbs, kept_ok, kept_failed = [], [], [], 0, 0
    for _ in range(tries):
        w, lw = fresh_status(guest_ip, try_timeout)
        if w is None:
            failures.append(lw)
        else:
            waits.append(w)
            pcbs.append(lw["tcp_pcbs"])
        for s in kept:
            try:
                pcbs.append(status_on(s, 3.0)["tcp_pcbs"])
                kept_ok += 1
            except (OSError, ValueError, AssertionError):
                kept_failed += 1
        time.sleep(0.2)
    tries_done.set()
    flooder.join(seconds + 5)
    flood_s = time.monotonic() - t_flood
    # Past the half-open lifetime (2.5 s) the flood's pcbs are all given
    # up, which needs TCP's timer to have run while they were there.
    time.sleep(SETTLE_S)
    after = None
    for s in kept:
        try:
            after = status_on(s, 5.0)
            break
        except (OSError, ValueError, AssertionError):
            continue
    if after is None:
        _, after = fresh_status(guest_ip, 10)
    wire.stop.set()
    reader.join(2)
    for s in kept:
        s.close()
    with wire.lock:
        return {
            "rate": rate, "spoofed_syns": sent[0], "flood_s": round(flood_s, 2),
            "tries": tries, "answered": len(waits),
            "answered_within_3s": sum(w < 3.0 for w in waits),
            "wait_s_max": round(max(waits), 3) if waits else None,
            "wait_s_median": round(sorted(waits)[len(waits) // 2], 3) if waits else None,
            "failures": failures[:5],
            "pcbs_seen_max": max(pcbs) if pcbs else None,
            "pcbs_seen_min": min(pcbs) if pcbs else None,
            "kept_answers": kept_ok, "kept_failures": kept_failed,
            "synacks_to_spoofed": wire.synacks,
            "spoofed_tuples_answered": len(wire.synack_tuples),
            "rsts_to_spoofed": wire.rsts, "arp_requests_for_spoofed": wire.arp_requests,
            "before": before, "after": after, "settle_s": SETTLE_S,
        }


def isn(iface, guest_ip, n):
    wire = Wire(iface, guest_ip)
    wire.resolve()
    reader = threading.Thread(target=wire.run, daemon=True)
    reader.start()
    src = "%s.77" % guest_ip.rsplit(".", 1)[0]
    base = random.randint(20000, 40000)
    order = []

    def ask(sport, timeout=3.0):
        seq = random.getrandbits(32)
        wire.send_ip(syn_with_mss(src, guest_ip, sport, PORT, seq))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with wire.lock:
                got = wire.isns.pop((src, sport), None)
            if got is not None:
                # RST frees the half-open connection (its sequence number is
                # the one the guest expects next).
                wire.send_ip(tcp(src, guest_ip, sport, PORT, seq + 1, 0, RST))
                return got
            time.sleep(0.002)
        return None

    for k in range(n):
        order.append(ask(base + k))
    again = [ask(base + n)]
    time.sleep(0.5)
    again.append(ask(base + n))
    wire.stop.set()
    reader.join(2)
    return {"isns": order, "same_tuple_isns": again}


def main():
    what, iface, guest_ip = sys.argv[1], sys.argv[2], sys.argv[3]
    if what == "flood":
        rate, seconds, tries, try_timeout = (float(sys.argv[4]), float(sys.argv[5]),
                                             int(sys.argv[6]), float(sys.argv[7]))
        out = flood(iface, guest_ip, rate, seconds, tries, try_timeout)
    elif what == "isn":
        out = isn(iface, guest_ip, int(sys.argv[4]))
    else:
        raise SystemExit(__doc__)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
