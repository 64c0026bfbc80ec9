#!/usr/bin/env python3
"""fuzzrun.py - runs the libFuzzer targets of tests/fuzz (built by fuzz.mk
into build/fuzz/fuzz_<name>) for `make fuzz` and for tests/run.py.

A target's committed seeds are tests/fuzz/corpus/<name>/; they are only
ever read. Fuzzing starts from a scratch copy of them (libFuzzer adds what
it finds to the copy), crash inputs go to <work>/artifacts/<name>/ and the
full libFuzzer output to <work>/logs/<name>.log.

  tests/fuzz/fuzzrun.py [--seconds S] [--work DIR] build/fuzz/fuzz_<name>...
prints one line per target and exits non-zero if any target crashed."""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(TOP, "tests", "fuzz", "corpus")
ENV = dict(os.environ, UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1",
           ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "detect_leaks=1"))
# Per input: a slow input is a hang (a driver loop that never ends) and a
# crash like any other.
TIMEOUT_S = 10


def target_name(binary):
    return os.path.basename(binary)[len("fuzz_"):]


def seeds(name):
    d = os.path.join(CORPUS, name)
    return sorted(p for p in glob.glob(os.path.join(d, "*")) if os.path.isfile(p))


def _artifacts(adir):
    return sorted(glob.glob(os.path.join(adir, "*")))


def _why(log):
    """The line saying what went wrong, from libFuzzer/ASan/UBSan/ours."""
    for pat in (r"invariant broken.*", r"ERROR: AddressSanitizer: .*", r"runtime error: .*",
                r"ERROR: libFuzzer: .*", r"ERROR: LeakSanitizer: .*", r"SUMMARY: .*"):
        m = re.search(pat, log)
        if m:
            return m.group(0).strip()
    return "exit status non-zero"


class Result:
    def __init__(self, name):
        self.name = name
        self.seeds = 0
        self.runs = 0
        self.execs_per_sec = 0
        self.corpus_before = self.corpus_after = 0
        self.seconds = 0.0
        self.crash = None      # (why, artifact or None)

    def line(self):
        if self.crash:
            why, art = self.crash
            return "fuzz_%s: CRASH after %d runs: %s%s" % (
                self.name, self.runs, why, " (input: %s)" % art if art else "")
        return ("fuzz_%s: %d seeds ok + %d runs in %.0f s (%d exec/s), corpus %d -> %d, "
                "0 crashes" % (self.name, self.seeds, self.runs, self.seconds,
                               self.execs_per_sec, self.corpus_before, self.corpus_after))


def run_seeds(binary, res, work):
    """Every committed seed once, as a regression test."""
    files = seeds(res.name)
    res.seeds = len(files)
    if not files:
        return True
    adir = os.path.join(work, "artifacts", res.name)
    os.makedirs(adir, exist_ok=True)
    r = subprocess.run([binary, "-timeout=%d" % TIMEOUT_S, "-artifact_prefix=%s/" % adir] + files,
                       capture_output=True, text=True, errors="replace", env=ENV)
    log = os.path.join(work, "logs", res.name + ".seeds.log")
    os.makedirs(os.path.dirname(log), exist_ok=True)
    with open(log, "w") as f:
        f.write(r.stdout + r.stderr)
    if r.returncode != 0:
        m = re.findall(r"Running: (.*)", r.stderr)
        res.crash = (_why(r.stderr), m[-1] if m else None)
        return False
    return True


def fuzz(binary, res, work, seconds, scratch):
    """libFuzzer for `seconds` from a copy of the seeds in `scratch`."""
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    for s in seeds(res.name):
        shutil.copy(s, scratch)
    res.corpus_before = len(os.listdir(scratch))
    adir = os.path.join(work, "artifacts", res.name)
    os.makedirs(adir, exist_ok=True)
    before = set(_artifacts(adir))
    t0 = time.monotonic()
    r = subprocess.run([binary, "-max_total_time=%d" % seconds, "-timeout=%d" % TIMEOUT_S,
                        "-print_final_stats=1", "-artifact_prefix=%s/" % adir, scratch],
                       capture_output=True, text=True, errors="replace", env=ENV)
    res.seconds = time.monotonic() - t0
    log = os.path.join(work, "logs", res.name + ".log")
    os.makedirs(os.path.dirname(log), exist_ok=True)
    with open(log, "w") as f:
        f.write(r.stdout + r.stderr)
    m = re.search(r"stat::number_of_executed_units:\s*(\d+)", r.stderr)
    if m:
        res.runs = int(m.group(1))
    else:
        runs = re.findall(r"^#(\d+)\s", r.stderr, re.M)
        res.runs = int(runs[-1]) if runs else 0
    m = re.search(r"stat::average_exec_per_sec:\s*(\d+)", r.stderr)
    res.execs_per_sec = int(m.group(1)) if m else int(res.runs / max(res.seconds, 1e-3))
    res.corpus_after = len(os.listdir(scratch))
    if r.returncode != 0:
        new = [a for a in _artifacts(adir) if a not in before]
        res.crash = (_why(r.stderr), os.path.relpath(new[-1], TOP) if new else None)
        return False
    return True


def run_target(binary, work, seconds, scratch=None):
    res = Result(target_name(binary))
    if run_seeds(binary, res, work) and seconds > 0:
        fuzz(binary, res, work, seconds,
             scratch or os.path.join(work, "corpus", res.name))
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--work", default=os.path.join(TOP, "build", "fuzz"))
    ap.add_argument("binaries", nargs="+")
    a = ap.parse_args()
    failed = 0
    print("fuzz: %d targets, %d s each" % (len(a.binaries), a.seconds), flush=True)
    for b in a.binaries:
        res = run_target(os.path.abspath(b), os.path.abspath(a.work), a.seconds)
        print(res.line(), flush=True)
        failed += res.crash is not None
    print("fuzz: %d of %d targets crashed%s" % (
        failed, len(a.binaries), "; inputs in %s/artifacts/" % a.work if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
