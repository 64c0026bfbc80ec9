"""test_admission.py - who may submit work, and how much (issue 17, API.md
sections 2 to 4): udp_allow= drops other sources unanswered and counts
them, max_job_s= refuses a job over the cap on both endpoints and runs one
under it, and the token never reaches the console."""

import json
import textwrap

from net import TapNamespace, appliance, http_request, udp_ask, wait_udp_ready
from vm import Vm

GUEST = "10.77.0.2"


# Runs inside the namespace: one datagram from each of two source
# addresses of the tap; prints JSON.
_PEERS = textwrap.dedent("""
    import json, socket, sys
    guest, sources = sys.argv[1], sys.argv[2:]
    out = {}
    for src in sources:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((src, 0))
        s.settimeout(1.0)
        got = None
        for _ in range(3):                      # the first may wait for ARP
            s.sendto(b"1000 2\\n", (guest, 5555))
            try:
                got = s.recv(200).decode()
                break
            except socket.timeout:
                pass
        out[src] = got
        s.close()
    print(json.dumps(out))
""")


def test_udp_allow_drops_other_sources_unanswered():
    """Through a tap in a namespace the test makes (QEMU's user networking
    shows every host client as one address): 10.77.0.1 is allowed and
    answered, 10.77.0.3 gets nothing, three times, and the counter says 3."""
    with TapNamespace(Skip) as ns:  # noqa: F821 - the runner's Skip
        ns.run("ip", "addr", "add", "10.77.0.3/24", "dev", "tap0", check=True)
        vm = ns.vm_inside(Vm(smp=1, net=ns.net_args(),
                             cmdline="ip=%s/24,10.77.0.1 udp_allow=10.77.0.1/32" % GUEST))
        with vm:
            vm.wait_for(r"udp: compute endpoint on port 5555, from udp_allow= sources only", 60)
            r = ns.run("python3", "-c", _PEERS, GUEST, "10.77.0.1", "10.77.0.3", timeout=60)
            assert r.returncode == 0, r.stderr
            out = json.loads(r.stdout)
            udp = ns.status(GUEST)["udp"]
    print("udp_allow: allowed %r, other %r, denied %d" % (out["10.77.0.1"], out["10.77.0.3"],
                                                           udp["denied"]))
    assert out["10.77.0.1"] == "336 tasks=2 mode=repeat cores=1 us=%s" % \
        out["10.77.0.1"].split("us=")[1], out
    assert out["10.77.0.3"] is None, out
    assert udp["denied"] == 3, udp


def test_udp_allow_malformed_allows_nobody():
    """A malformed udp_allow= must not fall open."""
    vm, udp, _ = appliance(cmdline="udp_allow=10.0.2.0/33")
    with vm:
        vm.wait_for(r"config: udp_allow=10.0.2.0/33 is not .* no UDP source is allowed", 60)
        vm.wait_for(r"appliance: ready", 60)
        try:
            got = udp_ask(udp, b"10\n", timeout=1.0, tries=3)
        except AssertionError:          # udp_ask's "no UDP answer"
            got = None
    assert got is None, got


def test_max_job_s_refuses_on_both_endpoints():
    """A job over the cap gets `ERR too much work` over UDP and a 400 over
    HTTP that gives the estimate and the cap; one under it runs."""
    vm, udp, http = appliance(cmdline="max_job_s=5")
    with vm:
        m = vm.wait_for(r"jobs: max_job_s=5; one core counts the primes below 10\^7 in about "
                        r"(\d+) ms", 60)
        per_1e7 = int(m.group(1))
        wait_udp_ready(udp, b"10\n")
        big = udp_ask(udp, b"1099511627776 1\n", timeout=10)
        many = udp_ask(udp, b"100000000 1024\n", timeout=10)
        small = udp_ask(udp, b"100000 2\n", timeout=30)
        st, _, body = http_request("127.0.0.1", http, "POST", "/api/jobs",
                                   b'{"limit":1099511627776}')
        err = json.loads(body)["error"]
        st2, _, body2 = http_request("127.0.0.1", http, "POST", "/api/jobs?wait=1",
                                     b'{"limit":100000,"tasks":2}')
        _, _, sbody = http_request("127.0.0.1", http, "GET", "/api/status")
        status = json.loads(sbody)
    print("max_job_s: 10^7 in %d ms; udp %r %r; http %d %r" % (per_1e7, big, many, st, err))
    assert per_1e7 > 0
    assert big == b"ERR too much work\n", big
    assert many == b"ERR too much work\n", many
    assert small.startswith(b"19184 tasks=2 mode=repeat"), small
    assert st == 400 and "max_job_s=5" in err and "too much work: about " in err, (st, err)
    est = float(err.split("about ")[1].split(" s")[0])
    assert est > 5, err
    assert st2 == 200 and json.loads(body2)["result"] == 19184, body2
    assert status["jobs"]["too_big"] == 3, status["jobs"]
    assert status["udp"]["too_big"] == 2, status["udp"]


def test_token_never_reaches_the_console():
    """The boot line shows token=*** in place of the value; a wrong token
    is 401, the right one is accepted."""
    vm, udp, http = appliance(cmdline="token=s3cretvalue42 udp_port=5555")
    with vm:
        vm.wait_for(r"appliance: ready", 60)
        wait_udp_ready(udp, b"10\n")
        wrong, _, _ = http_request("127.0.0.1", http, "POST", "/api/jobs", b'{"limit":10}',
                                   token="s3cretvalue4")
        longer, _, _ = http_request("127.0.0.1", http, "POST", "/api/jobs", b'{"limit":10}',
                                    token="s3cretvalue421")
        right, _, _ = http_request("127.0.0.1", http, "POST", "/api/jobs", b'{"limit":10}',
                                   token="s3cretvalue42")
        console = vm.out
    assert "s3cretvalue42" not in console and "s3cretvalue" not in console
    assert 'cmdline "token=*** udp_port=5555"' in console, console[:2000]
    assert (wrong, longer, right) == (401, 401, 202), (wrong, longer, right)
