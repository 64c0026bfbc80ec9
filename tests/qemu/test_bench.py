"""The benchmark harness stays runnable: one tiny point of every system
(make bench's smoke preset), including the Linux VM built from Debian's
kernel package."""

import os
import subprocess

from vm import TOP


def test_bench_smoke():
    r = subprocess.run(["bash", os.path.join(TOP, "bench", "linux_vm.sh")],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    r = subprocess.run(["python3", os.path.join(TOP, "bench", "run.py"), "--preset", "smoke"],
                       capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    path = os.path.join(TOP, "build", "bench", "BENCHMARKS.smoke.md")
    with open(path) as f:
        text = f.read()
    for system in ("uni", "uni-task", "fleet", "fleet-lv", "linuxvm-s", "linuxvm-t", "linuxvm-p",
                   "native-t", "native-p"):
        assert "bench: %-10s tasks=2 wall" % system in r.stdout, system
    assert "## Targets" in text and "| 2 |" in text
    assert "## A small job behind long ones" in text and "## Chunks" in text
    for name in ("jobs.csv", "idle.csv", "boot.csv"):
        assert os.path.getsize(os.path.join(TOP, "build", "bench", name)) > 0
