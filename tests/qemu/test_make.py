"""A fresh clone's bare `make` builds (issue 19): lwIP's sources and the
packages' files come from one run of tools/deps.sh, started by make itself,
before anything compiles; `make -j2` too.

What the test reuses, and how it checks that it did: the Debian packages
already installed (deps.sh finds them with dpkg-query and installs
nothing), and the lwIP this tree already unpacked, given to the clone
through APPLIANCE_CACHE (deps.sh copies it, as it would for a user with
several clones). A stand-in apt-get first on the PATH records any call
and fails: the build must not have needed it, so nothing was fetched."""

import os
import shutil
import subprocess
import tempfile
import time

from vm import TOP

BUILD_TIMEOUT = 900     # s for one build of the whole tree on a loaded 2-core host
FAKE_APT = """#!/bin/sh
# test_make.py: the clone's build must not need apt-get
echo "apt-get $*" >>"%s"
echo "test_make: apt-get called: $*" >&2
exit 1
"""


def _make(clone, env, *args):
    t0 = time.monotonic()
    r = subprocess.run(["make"] + list(args), cwd=clone, env=env, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    return r, time.monotonic() - t0


def _check_built(clone, r, what, apt_log):
    out = r.stdout + r.stderr
    assert r.returncode == 0, "%s failed:\n%s" % (what, out[-3000:])
    assert not os.path.exists(apt_log), "%s ran apt-get: %s" % (what, open(apt_log).read())
    iso = os.path.join(clone, "build", "appliance.iso")
    assert os.path.getsize(iso) > 1 << 20, "%s: %s is %d bytes" % (what, iso, os.path.getsize(iso))
    assert os.path.exists(os.path.join(clone, "build", "iso", "boot", "appliance.elf"))
    # deps.sh ran once, for all of what the build takes from it
    copied = out.count("copied from APPLIANCE_CACHE")
    assert copied == 1, "%s: deps.sh copied lwIP %d times:\n%s" % (what, copied, out[-3000:])
    lwip = os.path.join(clone, "build", "third_party", "lwip")
    assert os.path.isdir(lwip) and not os.path.islink(lwip), "lwIP must be the clone's own copy"


def test_fresh_clone_bare_make_builds_the_iso():
    cache = os.path.realpath(os.path.join(TOP, "build", "third_party"))
    if not os.path.isfile(os.path.join(cache, "lwip", "src", "core", "init.c")):
        raise AssertionError("no unpacked lwIP in %s to reuse: make deps first" % cache)
    head = subprocess.run(["git", "-C", TOP, "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="fresh-clone-") as tmp:
        clone = os.path.join(tmp, "appliance")
        subprocess.run(["git", "clone", "-q", "--no-hardlinks", TOP, clone], check=True,
                       timeout=120, stdin=subprocess.DEVNULL)
        assert not os.path.exists(os.path.join(clone, "build")), "a clone has no build/"
        shim = os.path.join(tmp, "shim")
        os.mkdir(shim)
        apt_log = os.path.join(tmp, "apt-get.log")
        with open(os.path.join(shim, "apt-get"), "w") as f:
            f.write(FAKE_APT % apt_log)
        os.chmod(os.path.join(shim, "apt-get"), 0o755)
        env = dict(os.environ, PATH=shim + ":" + os.environ["PATH"], APPLIANCE_CACHE=cache)
        for var in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):     # make test's own
            env.pop(var, None)

        r, t_bare = _make(clone, env)
        _check_built(clone, r, "bare make", apt_log)

        # again from nothing, in parallel: deps.sh still runs once, first
        shutil.rmtree(os.path.join(clone, "build"))
        r, t_j2 = _make(clone, env, "-j2")
        _check_built(clone, r, "make -j2", apt_log)
        out = r.stdout
        for first in ("  CC lwip/", "  CC kernel/"):
            assert 0 <= out.find("copied from APPLIANCE_CACHE") < out.find(first), out[:2000]
    return "clone of %s: bare make %.0f s, make -j2 %.0f s, lwIP copied once each, no apt-get" % (
        head, t_bare, t_j2)
