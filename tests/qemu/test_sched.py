"""test_sched.py - how the cores share the work (API.md section 1, issue
16): chunks in fair turns under sched=share, whole tasks under sched=task,
a small job answered promptly while long ones run, cancels that take
effect within a chunk, and a flood of many-task jobs that neither panics
the appliance nor loses a reply."""

import json
import socket
import threading
import time

from net import appliance, http_request, read_answer, status, udp_ask, wait_udp_ready

PI = {100000: 9592, 200000: 17984, 1000000: 78498}


def _per_core(st, key):
    return [c[key] for c in st["cores"]]


def _per_core_delta(st0, st1, key):
    """What each core's counter key gained from status st0 to st1."""
    return [b - a for a, b in zip(_per_core(st0, key), _per_core(st1, key))]


def _us(reply):
    return int(reply.split(b"us=")[1])


def test_share_one_task_uses_every_core():
    """A job of one task runs on every idle core, the BSP too."""
    vm, udp, http = appliance(4)
    with vm:
        wait_udp_ready(udp, b"10\n")
        st0 = status(http)
        r = udp_ask(udp, b"1000000 1\n", timeout=60)
        time.sleep(0.3)
        st1 = status(http)
    d = _per_core_delta(st0, st1, "chunks_done")
    print("share: one task of 10^6 ran as chunks %s on the 4 cores" % d)
    assert r.startswith(b"78498 tasks=1 "), r
    assert st1["sched"] == "share", st1["sched"]
    assert all(n > 0 for n in d), d
    assert sum(_per_core_delta(st0, st1, "tasks_done")) == 1


def test_task_policy_runs_one_task_per_core():
    """sched=task: the paper's policy, each task on one core from start to
    end: four tasks on four cores, each core one task and all its chunks."""
    vm, udp, http = appliance(4, cmdline="sched=task")
    with vm:
        wait_udp_ready(udp, b"10\n")
        st0 = status(http)
        r = udp_ask(udp, b"1000000 4\n", timeout=120)
        time.sleep(0.3)
        st1 = status(http)
    tasks = _per_core_delta(st0, st1, "tasks_done")
    chunks = _per_core_delta(st0, st1, "chunks_done")
    print("task: 4 tasks of 10^6 -> tasks %s, chunks %s per core" % (tasks, chunks))
    assert r.startswith(b"313992 tasks=4 "), r
    assert st1["sched"] == "task", st1["sched"]
    assert tasks == [1, 1, 1, 1], tasks
    assert len(set(chunks)) == 1 and chunks[0] > 1, chunks     # whole tasks, same size


def _long_udp(udp, payload, results):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(120)
    s.sendto(payload, ("127.0.0.1", udp))
    try:
        results.append((s.recv(200), time.monotonic()))
    except socket.timeout:
        results.append((None, time.monotonic()))
    s.close()


def _median_small(udp):
    """Seconds to the answer of a small one-task job: the median of 5."""
    lat = []
    for _ in range(5):
        t0 = time.monotonic()
        r = udp_ask(udp, b"200000 1\n", timeout=30)
        lat.append(time.monotonic() - t0)
        assert r.startswith(b"17984 tasks=1 "), r
    return sorted(lat)[2]


def test_small_job_is_answered_while_long_jobs_run_and_cancels_are_prompt():
    """Two long jobs occupy every core; a small job sent meanwhile is
    answered within 20x its time alone (the benchmark has the precise
    figure), then both long jobs are cancelled and answered `ERR cancelled`
    within a second."""
    vm, udp, http = appliance(2)
    with vm:
        wait_udp_ready(udp, b"10\n")
        t_alone = _median_small(udp)
        results = []
        threads = [threading.Thread(target=_long_udp, args=(udp, p, results))
                   for p in (b"10000000000 2\n", b"10000000000 2 split\n")]
        for t in threads:
            t.start()
        time.sleep(1.0)
        st = status(http)
        assert st["jobs"]["running"] == 2 and all(c["state"] == "busy" or c["role"] == "bsp"
                                                  for c in st["cores"]), st
        t_behind = _median_small(udp)
        ids = [j["id"] for j in json.loads(http_request("127.0.0.1", http, "GET",
                                                        "/api/jobs?limit=20")[2])["jobs"]
               if j["state"] in ("queued", "running")]
        assert len(ids) == 2, ids
        t_cancel = time.monotonic()
        for i in ids:
            st_code, _, body = http_request("127.0.0.1", http, "DELETE", "/api/jobs/%d" % i)
            assert st_code == 200 and json.loads(body)["state"] == "cancelled", (st_code, body)
        for t in threads:
            t.join(30)
        st = status(http)
    waits = [when - t_cancel for _, when in results]
    print("small 200000x1: alone %.1f ms, behind 2 long jobs %.1f ms (%.1fx); cancel answered "
          "after %s s; longest chunk %d us" % (t_alone * 1e3, t_behind * 1e3, t_behind / t_alone,
                                               ["%.3f" % w for w in waits], st["chunk_max_us"]))
    assert [r for r, _ in results] == [b"ERR cancelled\n"] * 2, results
    assert max(waits) < 1.0, waits
    assert t_behind < 20 * t_alone, (t_alone, t_behind)
    assert st["jobs"]["cancelled"] == 2 and st["jobs"]["running"] == 0, st["jobs"]


def _flooder(udp, payloads, seconds, window, out):
    """Keeps up to window datagrams of its own in flight for seconds, then
    waits for the rest: every datagram must get exactly one reply."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.05)
    sent = got = busy = 0
    bad = []
    end = time.monotonic() + seconds
    last = time.monotonic()
    k = 0
    while True:
        now = time.monotonic()
        if now < end:
            while sent - got < window:
                s.sendto(payloads[k % len(payloads)][0], ("127.0.0.1", udp))
                k += 1
                sent += 1
        elif got >= sent or now - last > 60:
            break
        try:
            data = s.recv(200)
        except socket.timeout:
            continue
        last = time.monotonic()
        got += 1
        if data == b"ERR busy\n":
            busy += 1
        elif not any(data.startswith(p[1]) for p in payloads):
            bad.append(data)
    s.settimeout(2.0)
    extra = 0
    try:                        # nothing more may come: one reply each
        while True:
            s.recv(200)
            extra += 1
    except socket.timeout:
        pass
    s.close()
    out.append({"sent": sent, "got": got, "busy": busy, "bad": bad, "extra": extra})


def test_flood_of_many_task_jobs():
    """Several sockets flood 1000-task jobs for 60 s at -smp 4 (the old
    task queue panicked within 3 to 30 s under '0 1000'): no panic, every
    datagram exactly one reply, and the counters add up."""
    vm, udp, http = appliance(4)
    payloads = [(b"0 1000\n", b"0 tasks=1000 mode=repeat"),
                (b"1000 1000\n", b"168000 tasks=1000 mode=repeat"),
                (b"100000 1000 split\n", b"9592 tasks=1000 mode=split")]
    with vm:
        wait_udp_ready(udp, b"10\n")
        st0 = status(http)
        out = []
        threads = [threading.Thread(target=_flooder, args=(udp, payloads, 60, 24, out))
                   for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(200)
        st = status(http)
        alive = udp_ask(udp, b"100000 2\n", timeout=30)
        panicked = "PANIC" in vm.out
    sent = sum(o["sent"] for o in out)
    got = sum(o["got"] for o in out)
    busy = sum(o["busy"] for o in out)
    jobs = {k: st["jobs"][k] - st0["jobs"][k] for k in ("accepted", "done", "rejected")}
    print("flood: %d datagrams from 4 sockets, %d replies (%d ERR busy), extra %d; jobs %s; "
          "queue %s" % (sent, got, busy, sum(o["extra"] for o in out), jobs, st["queue"]))
    assert not panicked
    assert len(out) == 4 and sent > 100, out
    assert all(not o["bad"] for o in out), [o["bad"][:3] for o in out]
    assert got == sent and all(o["extra"] == 0 for o in out), out
    assert jobs["accepted"] + jobs["rejected"] == sent, (jobs, sent)
    assert jobs["done"] == jobs["accepted"] and jobs["rejected"] == busy, (jobs, busy)
    assert st["jobs"]["running"] == 0 and st["queue"]["depth"] == 0, st
    assert alive.startswith(b"19184 tasks=2 "), alive


def test_bsp_serves_the_network_between_chunks_at_large_limits():
    """The BSP runs chunks too, one at a time, and serves the network
    between two: near 2^40 a chunk is one candidate (at most 5.2 x 10^5
    divisions, a few ms under TCG), so requests sent while a split job
    of 2^40 occupies both cores are answered within a chunk; a DELETE
    cancels the job at once and the UDP client gets `ERR cancelled`.
    (Before chunks, issue 10's defect 7: the BSP left the network unserved
    for tens of ms while it computed.)"""
    vm, udp, http = appliance(2)
    with vm:
        wait_udp_ready(udp, b"10\n")
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.sendto(b"1099511627776 2 split\n", ("127.0.0.1", udp))
        time.sleep(1.0)
        st0 = status(http)
        s = socket.create_connection(("127.0.0.1", http), timeout=30)
        lat = []
        for _ in range(40):
            t0 = time.monotonic()
            s.sendall(b"GET /api/jobs/2 HTTP/1.1\r\n\r\n")
            code, _, body = read_answer(s, t0 + 30)
            assert code == 200, body[:100]
            lat.append(time.monotonic() - t0)
        s.close()
        st = status(http)
        code, _, _ = http_request("127.0.0.1", http, "DELETE", "/api/jobs/2")
        u.settimeout(30)
        cancelled = u.recv(100)
    lat.sort()
    gap_us = st["bsp"]["serve_gap_max_us"]
    print("bsp-serve: 40 requests during a 2^40 split job, p50 %.1f ms, max %.1f ms; longest "
          "BSP chunk %d us, longest chunk %d us; cores %s" % (
              lat[20] * 1e3, lat[-1] * 1e3, gap_us, st["chunk_max_us"],
              [c["state"] for c in st["cores"]]))
    assert code == 200 and cancelled == b"ERR cancelled\n", (code, cancelled)
    # Both cores computed meanwhile (a core's state is a sample: at the
    # bottom of the range a chunk lasts about a microsecond, and an AP
    # between two reads "idle").
    assert all(d > 0 for d in _per_core_delta(st0, st, "chunks_done")), (st0["cores"], st["cores"])
    # A few ms of work; TCG on a loaded host stretches it (descheduled vCPUs).
    assert 0 < gap_us < 50000, gap_us
    assert lat[20] < 0.05, lat


def test_task_policy_one_task_job_runs_on_an_ap_not_the_bsp():
    """sched=task: a one-task job submitted while the APs sleep runs on an
    AP, not on the BSP, the core that serves the network (issue 10's
    defect 7, second half)."""
    vm, udp, http = appliance(2, cmdline="sched=task")
    with vm:
        wait_udp_ready(udp, b"10\n")
        time.sleep(0.5)
        before = _per_core(status(http), "tasks_done")
        for _ in range(5):
            time.sleep(0.2)         # the AP is back in HLT
            assert udp_ask(udp, b"200000 1\n").startswith(b"17984 tasks=1 ")
        time.sleep(0.5)
        after = _per_core(status(http), "tasks_done")
    print("prefer-ap: 5 one-task jobs, tasks_done [bsp, ap] %s -> %s" % (before, after))
    assert after[0] == before[0], (before, after)      # the BSP ran none
    assert after[1] - before[1] == 5, (before, after)
