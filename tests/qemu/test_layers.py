"""test_layers.py - the include graph has no upward arrow and no cycle
(tools/layers.py; README "Architecture"). Runs on the host, no QEMU."""

import os
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tools"))
import layers  # noqa: E402


def test_include_graph_points_down_without_cycles():
    r = subprocess.run([sys.executable, os.path.join(TOP, "tools", "layers.py")],
                       capture_output=True, text=True, timeout=60)
    last = r.stdout.strip().splitlines()[-1]
    assert r.returncode == 0, r.stdout[-3000:]
    assert ", 0 upward, 0 in cycles" in last, last
    return last


def test_layer_check_catches_an_upward_arrow_and_a_cycle():
    # The checker itself: a planted upward include and a planted cycle fail.
    edges = {"kernel/a": {"smp/b"}, "smp/b": set(),
             "kernel/c": {"kernel/d"}, "kernel/d": {"kernel/c"}}
    problems = layers.check(edges)
    assert any(p.startswith("upward: kernel/a") for p in problems), problems
    assert any(p.startswith("cycle: kernel/c <-> kernel/d") for p in problems), problems
    assert layers.check({"appliance/main": {"kernel/a"}, "kernel/a": set()}) == []
