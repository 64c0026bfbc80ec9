#!/usr/bin/env python3
"""run.py - runs every test: the host unit tests (build/unit/test_*), the
fuzz targets briefly (build/fuzz/fuzz_*: every committed seed, then a few
seconds of fuzzing), then the QEMU tests (tests/qemu/test_*.py, each
function test_*). Prints one line per test and ends with "N passed, M
failed[, K skipped]". Exit code non-zero on any failure.

  tests/run.py [PATTERN...]   run only tests whose name contains a pattern"""

import glob
import importlib
import inspect
import os
import subprocess
import sys
import tempfile
import time
import traceback

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "qemu"))
sys.path.insert(0, os.path.join(TOP, "tests", "fuzz"))

FUZZ_SECONDS = 5        # of fuzzing per target, after its seeds


class Skip(Exception):
    """Raised by a test that cannot run here; the message says why."""


def unit_tests():
    for b in sorted(glob.glob(os.path.join(TOP, "build", "unit", "test_*"))):
        name = "unit/" + os.path.basename(b)

        def run(b=b):
            r = subprocess.run([b], capture_output=True, text=True, timeout=600)
            if r.returncode != 0:
                raise AssertionError(r.stdout + r.stderr)
            return r.stdout.strip()
        yield name, run


def fuzz_tests():
    """Each libFuzzer target over its committed seeds, then FUZZ_SECONDS
    from a scratch copy of them (tests/fuzz/fuzzrun.py; `make fuzz` runs
    longer). Crash inputs are left in build/fuzz/artifacts/<name>/."""
    import fuzzrun
    for b in sorted(glob.glob(os.path.join(TOP, "build", "fuzz", "fuzz_*"))):
        if not (os.path.isfile(b) and os.access(b, os.X_OK)):
            continue
        name = "fuzz/" + os.path.basename(b)

        def run(b=b):
            work = os.path.join(TOP, "build", "fuzz")
            with tempfile.TemporaryDirectory(prefix="fuzz-corpus-") as scratch:
                res = fuzzrun.run_target(b, work, FUZZ_SECONDS, scratch)
            if res.crash:
                raise AssertionError(res.line())
            return "%s: %d seeds + %d runs, 0 crashes" % (
                os.path.basename(b), res.seeds, res.runs)
        yield name, run


def qemu_tests():
    for path in sorted(glob.glob(os.path.join(TOP, "tests", "qemu", "test_*.py"))):
        mod = importlib.import_module(os.path.basename(path)[:-3])
        mod.Skip = Skip
        for name, fn in inspect.getmembers(mod, inspect.isfunction):
            if name.startswith("test_") and fn.__module__ == mod.__name__:
                yield "%s/%s" % (mod.__name__, name), fn


def summary(passed, failed, skipped, t_all):
    """The last lines every runner prints ("N passed, M failed[, K
    skipped]", as make test and make soak end); the exit code."""
    print("\ntotal %.0fs" % (time.monotonic() - t_all))
    line = "%d passed, %d failed" % (passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    print(line)
    return 1 if failed else 0


def main():
    pats = sys.argv[1:]
    passed = failed = skipped = 0
    failures = []
    t_all = time.monotonic()
    for name, fn in list(unit_tests()) + list(fuzz_tests()) + list(qemu_tests()):
        if pats and not any(p in name for p in pats):
            continue
        t0 = time.monotonic()
        try:
            note = fn()
            passed += 1
            status = "PASS"
        except Skip as e:
            skipped += 1
            status = "SKIP"
            note = str(e)
        except Exception as e:  # noqa: BLE001 - a test failure of any kind
            failed += 1
            status = "FAIL"
            note = "".join(traceback.format_exception_only(type(e), e)).strip()
            failures.append((name, traceback.format_exc()))
        dt = time.monotonic() - t0
        line = "%s %-45s %6.1fs" % (status, name, dt)
        if note and (status != "PASS" or name.startswith("fuzz/")):
            line += "  " + note.splitlines()[0][:200]
        print(line, flush=True)
    for name, tb in failures:
        print("\n==== %s\n%s" % (name, tb), flush=True)
    return summary(passed, failed, skipped, t_all)


if __name__ == "__main__":
    sys.exit(main())
