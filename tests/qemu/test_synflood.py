"""test_synflood.py - TCP under a spoofed SYN flood, and unpredictable
initial sequence numbers (issue 17), through a tap device in a network
namespace the test makes (tests/qemu/synflood.py does the raw frames)."""

import json
import os
import re
import sys

from net import TapNamespace
from vm import Vm

HERE = os.path.dirname(os.path.abspath(__file__))
GUEST = "10.77.0.2"
FLOOD_RATE = 200        # spoofed SYNs a second
TRIES = 20
ANSWER_S = 3.0          # a fresh client's answer within this...
ANSWERED_SHARE = 0.95   # ...in at least this share of the tries


def _backlog():
    """The listen backlog, which bounds the half-open connections."""
    with open(os.path.join(HERE, "..", "..", "lwip_port", "lwipopts.h")) as f:
        return int(re.search(r"#define TCP_DEFAULT_LISTEN_BACKLOG\s+(\d+)", f.read()).group(1))


def _synflood(ns, *args, timeout=120):
    r = ns.run(sys.executable, os.path.join(HERE, "synflood.py"), args[0], "tap0", GUEST,
               *[str(a) for a in args[1:]], timeout=timeout)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def _guest(ns, smp=2):
    return ns.vm_inside(Vm(smp=smp, cmdline="ip=%s/24,10.77.0.1" % GUEST, net=ns.net_args()))


def test_spoofed_syn_flood_leaves_http_answering():
    """200 spoofed SYNs a second to port 80 (random addresses and ports of
    the subnet, their SYN-ACKs never answered): a fresh client's
    GET /api/status is answered within 3 s in 95 % of 20 tries, the
    connections opened before the flood keep being answered, the
    half-open connections given up are counted, and the pcbs in use stay
    bounded. Before the fix every pcb was held by the flood and a fresh
    client got nothing (not even a SYN-ACK) for 20 s."""
    with TapNamespace(Skip) as ns:  # noqa: F821 - the runner's Skip
        with _guest(ns) as vm:
            vm.wait_for(r"appliance: ready", 60)
            res = _synflood(ns, "flood", FLOOD_RATE, 16, TRIES, 6.0)
            assert vm.alive() and "PANIC" not in vm.out, vm.tail()
    drops = res["after"]["tcp_half_open_drops"] - res["before"]["tcp_half_open_drops"]
    print("syn-flood: %d spoofed SYNs in %.1f s; %d/%d fresh clients answered within %.0f s "
          "(median %s s, max %s s); pcbs in use %s..%s; kept connections %d answers, %d "
          "failures; %d SYN-ACKs to %d spoofed tuples, %d ARP requests for them; "
          "%d half-open connections given up, pcbs %d %.1f s after the flood"
          % (res["spoofed_syns"], res["flood_s"], res["answered_within_3s"], res["tries"],
             ANSWER_S, res["wait_s_median"], res["wait_s_max"], res["pcbs_seen_min"],
             res["pcbs_seen_max"], res["kept_answers"], res["kept_failures"],
             res["synacks_to_spoofed"], res["spoofed_tuples_answered"],
             res["arp_requests_for_spoofed"], drops, res["after"]["tcp_pcbs"], res["settle_s"]))
    assert res["spoofed_syns"] >= FLOOD_RATE * 10, res     # the flood really ran
    assert res["answered_within_3s"] >= ANSWERED_SHARE * res["tries"], res
    assert res["kept_failures"] == 0 and res["kept_answers"] == 4 * res["tries"], res
    # The flood reached the guest, and every half-open connection it made
    # was given up and counted: recycled for a newer SYN or, once the
    # flood stopped, past its lifetime (the pcbs are back to the kept
    # connections, and the one asking).
    assert res["spoofed_tuples_answered"] >= res["spoofed_syns"] // 2, res
    assert drops >= res["spoofed_tuples_answered"], (drops, res)
    assert res["after"]["tcp_pcbs"] <= 4 + 1, res
    # Half-open connections are bounded: the flood holds no more pcbs than
    # the backlog (besides: the 4 kept connections, the asking one, and
    # one or two of the last tries' closing).
    assert res["pcbs_seen_max"] <= _backlog() + 4 + 1 + 2, res
    # One SYN-ACK per spoofed SYN, no retransmissions to the fake hosts.
    assert res["synacks_to_spoofed"] <= res["spoofed_tuples_answered"] * 1.05 + 5, res


def test_initial_sequence_numbers_are_unpredictable():
    """The ISNs of 64 connections (from one address, consecutive source
    ports) are all different and not a counter: consecutive ones differ by
    anything (RFC 6528: a keyed hash of the addresses and ports plus a
    4 us clock). The same 4-tuple again half a second later gets an ISN
    about 125,000 higher (the clock part). Before the fix every ISN was
    6510."""
    with TapNamespace(Skip) as ns:  # noqa: F821 - the runner's Skip
        with _guest(ns, smp=1) as vm:
            vm.wait_for(r"appliance: ready", 60)
            res = _synflood(ns, "isn", 64)
    isns = res["isns"]
    assert None not in isns, res
    steps = [(b - a) % (1 << 32) for a, b in zip(isns, isns[1:])]
    small = sum(s < (1 << 24) for s in steps)       # 1/256 of the space each
    print("isn: %d distinct of %d; %d of %d steps forward by less than 2^24; "
          "first ones %s; same tuple 0.5 s apart: %s"
          % (len(set(isns)), len(isns), small, len(steps),
             ", ".join("%08x" % i for i in isns[:4]), res["same_tuple_isns"]))
    assert len(set(isns)) == len(isns), isns
    # A counter, a clock or a constant steps forward by a little each time;
    # 63 random steps land in the first 2^24 about 0.25 times.
    assert small <= 8, steps
    a, b = res["same_tuple_isns"]
    assert a is not None and b is not None, res
    assert 0 < (b - a) % (1 << 32) < 10 * 250000, (a, b)
