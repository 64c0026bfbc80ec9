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


def test_calls_through_lwip_headers_are_arrows():
    # sys_now() defined by one port file and declared only by lwIP's
    # sys.h: a file that calls it depends on the definer (the old circle
    # between net.c and timeouts.c went through such calls); a prototype
    # or a comment that names it is no call, and a function the definer's
    # own header declares is an include arrow already.
    texts = {
        "lwip_port/a": {".c": "u32_t sys_now(void)\n{\n\treturn 0;\n}\n"
                              "void a_run(void)\n{\n\tsys_timeout(1, 0, 0);\n}\n",
                        ".h": "void a_run(void);\n"},
        "lwip_port/b": {".c": "void sys_timeout(u32_t ms, void *h, void *arg)\n{\n"
                              "\t(void)sys_now();\n}\n"},
        "lwip_port/c": {".c": "/* sys_timeout() is b's */\nu32_t sys_now(void);\n"
                              "static void f(void)\n{\n\ta_run();\n}\n"},
    }
    edges = layers.port_call_edges(texts)
    assert edges == {"lwip_port/a": {"lwip_port/b"}, "lwip_port/b": {"lwip_port/a"}}, edges
    assert any(p.startswith("cycle: lwip_port/a <-> lwip_port/b")
               for p in layers.check({m: set(d) for m, d in edges.items()})), edges
