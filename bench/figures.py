#!/usr/bin/env python3
"""figures.py - the few figures the issues ask for beside make bench:
boot time to "cores online" (GRUB ISO and -kernel, -smp 1 and 8), and the
speedup of 4 tasks on -smp 4 over 4 tasks on -smp 1 for a limit where one
task takes about a second here.

  bench/figures.py [--limit N] [--boots N]"""

import argparse
import os
import statistics
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "qemu"))
sys.path.insert(0, os.path.join(TOP, "bench"))
import run  # noqa: E402
from net import user_net  # noqa: E402
from vm import Vm, accel  # noqa: E402


def cores_online(smp, iso, boots):
    out = []
    for _ in range(boots):
        with Vm(smp=smp, iso=iso, net=user_net()) as vm:
            m = vm.wait_for(r"cores online: (\d+)", 120)
            assert int(m.group(1)) == smp
            out.append(vm.seconds_to(m))
    return statistics.median(out), min(out), max(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=2000000)
    ap.add_argument("--boots", type=int, default=3)
    a = ap.parse_args()
    print("accelerator: %s, host cores: %d" % (accel(), os.cpu_count()))
    for smp in (1, 8):
        for iso in (False, True):
            m, lo, hi = cores_online(smp, iso, a.boots)
            print("cores online, -smp %d, %s: median %.3f s (%.3f..%.3f)" %
                  (smp, "GRUB ISO" if iso else "-kernel", m, lo, hi))
    res = {}
    for smp in (1, 4):
        ep = run.start_uni(smp)
        try:
            run.job(ep.port, a.limit, 1)                      # warm up
            t1 = statistics.median(run.job(ep.port, a.limit, 1)[2] for _ in range(3)) / 1e6
            t4 = statistics.median(run.job(ep.port, a.limit, 4)[2] for _ in range(3)) / 1e6
        finally:
            ep.stop()
        res[smp] = (t1, t4)
        print("-smp %d: limit %d, 1 task %.3f s, 4 tasks %.3f s (reply us=, median of 3)" %
              (smp, a.limit, t1, t4))
    print("speedup of 4 tasks on -smp 4 over -smp 1: %.2fx" % (res[1][1] / res[4][1]))


if __name__ == "__main__":
    main()
