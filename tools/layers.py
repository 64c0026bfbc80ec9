#!/usr/bin/env python3
"""layers.py - the include graph of the appliance, checked against its
layers (README "Architecture"). Reads every #include "..." of the C and
assembly sources, groups files into modules (a .c and its .h are one
module), and fails when a module includes one of a higher layer or when
modules include each other in a cycle. A port file that defines a
function lwIP's headers declare (sys_now, sys_timeout, ...) is depended on
by every module that calls it, though the caller includes only lwIP's
header: those calls are arrows too.

  tools/layers.py            print the graph by layer, exit 1 on a violation
  tools/layers.py --dot      the module graph in Graphviz dot
"""

import os
import re
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Lowest first: each may include its own layer and those below it.
LAYERS = [
    ("platform", ["boot/", "kernel/"]),
    ("smp", ["smp/"]),
    ("driver", ["drivers/"]),
    ("lwip_port", ["lwip_port/", "<lwip>"]),
    ("jobs", ["appliance/jobs/"]),
    ("services", ["appliance/udp_compute/", "appliance/http/", "web/"]),
    ("main", ["appliance/"]),
    # Other composition roots over the same phases: nothing of the product
    # may include them.
    ("test images", ["tests/image/", "bench/floor/"]),
]
SOURCE = re.compile(r"\.(c|h|S)$")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
# Headers of lwIP itself (unpacked at build time): the stack sits with its port.
LWIP_HEADER = re.compile(r"^(lwip|netif|arch)/|^lwipopts\.h$")
COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
# A function defined at the start of a line, not static: "u32_t sys_now(void)\n{".
DEFINITION = re.compile(r"^(?!static\b)[A-Za-z_][\w \t*]*?\b([A-Za-z_]\w*)\s*\([^;{}()]*\)\s*\{",
                        re.M)
# A prototype, "u32_t sys_now(void);": declares, does not call.
PROTOTYPE = re.compile(r"^[A-Za-z_][\w \t*]*?\b[A-Za-z_]\w*\s*\([^;{}()]*\)\s*;", re.M)


def layer_of(path):
    best = None
    for rank, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if path.startswith(p) and (best is None or len(p) > best[1]):
                best = (rank, len(p))
    return None if best is None else best[0]


def module_of(path):
    return SOURCE.sub("", path)


def sources():
    for folder in ("boot", "kernel", "smp", "drivers", "lwip_port", "appliance", "web",
                   "tests/image", "bench/floor"):
        for root, _, files in os.walk(os.path.join(TOP, folder)):
            for f in sorted(files):
                if SOURCE.search(f):
                    yield os.path.relpath(os.path.join(root, f), TOP)


def port_call_edges(texts):
    """The arrows through lwIP's headers: texts maps module -> {".c": text,
    ".h": text} (either may be missing). A function a lwip_port module's .c
    defines and its own .h does not declare is reached through lwIP's (or
    arch/cc.h's) declaration; a module calling it depends on the definer."""
    def code(t):
        return PROTOTYPE.sub(" ", COMMENT.sub(" ", t))
    defined = {}
    for mod, t in texts.items():
        if layer_of(mod) != layer_of("lwip_port/"):
            continue
        own = COMMENT.sub(" ", t.get(".h", ""))
        for name in DEFINITION.findall(COMMENT.sub(" ", t.get(".c", ""))):
            if not re.search(r"\b%s\s*\(" % name, own):
                defined[name] = mod
    edges = {}
    for mod, t in texts.items():
        body = code("\n".join(t.values()))
        for name, definer in defined.items():
            if definer != mod and re.search(r"\b%s\s*\(" % name, body):
                edges.setdefault(mod, set()).add(definer)
    return edges


def graph():
    """module -> set of modules it includes ("<lwip>" for lwIP's headers),
    or calls through lwIP's headers (port_call_edges)."""
    edges, texts = {}, {}
    for path in sources():
        mod = module_of(path)
        edges.setdefault(mod, set())
        text = open(os.path.join(TOP, path), encoding="utf-8", errors="replace").read()
        texts.setdefault(mod, {})[os.path.splitext(path)[1]] = text
        for inc in INCLUDE.findall(text):
            target = os.path.normpath(os.path.join(os.path.dirname(path), inc))
            if os.path.exists(os.path.join(TOP, target)):
                dep = module_of(target)
            elif LWIP_HEADER.search(inc):
                dep = "<lwip>"
            else:
                dep = module_of(inc)    # unresolved: reported below
            if dep != mod:
                edges[mod].add(dep)
    for mod, deps in port_call_edges(texts).items():
        edges[mod] |= deps
    return edges


def cycles(edges):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def check(edges):
    problems = []
    for mod, deps in sorted(edges.items()):
        lm = layer_of(mod)
        if lm is None:
            problems.append("%s: in no layer" % mod)
            continue
        for d in sorted(deps):
            ld = layer_of(d)
            if ld is None:
                problems.append("%s includes %s: not a project file" % (mod, d))
            elif ld > lm:
                problems.append("upward: %s (%s) includes %s (%s)" %
                                (mod, LAYERS[lm][0], d, LAYERS[ld][0]))
    for comp in cycles(edges):
        problems.append("cycle: " + " <-> ".join(comp))
    return problems


def main():
    edges = graph()
    if "--dot" in sys.argv[1:]:
        print("digraph include {\n  rankdir=BT;")
        for mod, deps in sorted(edges.items()):
            for d in sorted(deps):
                print('  "%s" -> "%s";' % (mod, d))
        print("}")
        return 0
    for rank, (name, _) in reversed(list(enumerate(LAYERS))):
        mods = sorted(m for m in edges if layer_of(m) == rank)
        if not mods:
            continue
        print("%d %s" % (rank, name))
        for m in mods:
            print("    %-32s -> %s" % (m, ", ".join(sorted(edges[m])) or "-"))
    problems = check(edges)
    narrows = sum(len(d) for d in edges.values())
    for p in problems:
        print("LAYERS: " + p)
    print("layers: %d modules, %d arrows, %d upward, %d in cycles" % (
        len(edges), narrows, sum(p.startswith("upward") for p in problems),
        sum(p.startswith("cycle") for p in problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
