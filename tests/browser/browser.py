"""browser.py - a real browser for the tests: Debian's chromium, headless,
driven over the DevTools protocol by tests/browser/driver.js
(puppeteer-core from the npm registry, installed by `npm ci` into
build/browser/node_modules; never a browser download).

    with Browser() as b:
        b.call("open", url="http://127.0.0.1:8080/")
        b.call("wait", expr="document.title")

setup() installs puppeteer-core when package.json or package-lock.json
changed and raises Unavailable (tests turn it into Skip) when chromium,
node or npm is missing or npm cannot install."""

import hashlib
import json
import os
import queue
import shutil
import signal
import subprocess
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
WORK = os.path.join(TOP, "build", "browser")
DRIVER = os.path.join(HERE, "driver.js")
CHROMIUM = "/usr/bin/chromium"


class Unavailable(Exception):
    """The browser cannot run here; the message says why."""


class BrowserError(AssertionError):
    """A driver command failed (a wait timed out, a selector matched nothing)."""


def setup():
    if not os.access(CHROMIUM, os.X_OK):
        raise Unavailable("no %s (tools/deps.sh installs Debian's chromium)" % CHROMIUM)
    for tool in ("node", "npm"):
        if not shutil.which(tool):
            raise Unavailable("no %s on the PATH (tools/deps.sh installs Debian's nodejs and npm)"
                              % tool)
    files = ("package.json", "package-lock.json")
    h = hashlib.sha256()
    for f in files:
        with open(os.path.join(HERE, f), "rb") as fh:
            h.update(fh.read())
    stamp = os.path.join(WORK, ".installed")
    mod = os.path.join(WORK, "node_modules", "puppeteer-core", "package.json")
    try:
        with open(stamp) as fh:
            if fh.read() == h.hexdigest() and os.path.exists(mod):
                return
    except OSError:
        pass
    os.makedirs(WORK, exist_ok=True)
    for f in files:
        shutil.copy(os.path.join(HERE, f), os.path.join(WORK, f))
    env = dict(os.environ, PUPPETEER_SKIP_DOWNLOAD="1", npm_config_update_notifier="false")
    try:
        r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=WORK,
                           env=env, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        raise Unavailable("npm ci of tests/browser/package.json took over 600 s")
    if r.returncode != 0 or not os.path.exists(mod):
        raise Unavailable("npm ci of tests/browser/package.json failed (registry unreachable?): "
                          + (r.stderr.strip().splitlines() or ["exit %d" % r.returncode])[-1])
    with open(stamp, "w") as fh:
        fh.write(h.hexdigest())


class Browser:
    """One chromium under driver.js. call(cmd, **args) -> the command's value;
    raises BrowserError with the driver's message when it fails."""

    def __init__(self, timeout=60):
        setup()
        env = dict(os.environ, NODE_PATH=os.path.join(WORK, "node_modules"), CHROMIUM=CHROMIUM,
                   PUPPETEER_SKIP_DOWNLOAD="1")
        self.log = open(os.path.join(WORK, "driver.log"), "w")
        self.proc = subprocess.Popen(["node", DRIVER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     env=env, start_new_session=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._reader, daemon=True).start()
        first = self._answer(timeout)
        if not first.get("ok"):
            self.close()
            raise Unavailable("chromium did not start: %s" % first.get("error"))
        self.version = first.get("value")

    def _reader(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _answer(self, timeout):
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise BrowserError("the browser driver gave no answer within %ss" % timeout)
        if line is None:
            raise BrowserError("the browser driver exited; see build/browser/driver.log")
        return json.loads(line)

    def call(self, cmd, timeout=None, **args):
        args["cmd"] = cmd
        if timeout is not None:
            args["timeout"] = int(timeout * 1000)
        self.proc.stdin.write(json.dumps(args) + "\n")
        self.proc.stdin.flush()
        a = self._answer((timeout or 30) + 30)
        if not a.get("ok"):
            raise BrowserError("%s %s: %s" % (cmd, json.dumps({k: v for k, v in args.items()
                                                               if k != "cmd"})[:300], a.get("error")))
        return a.get("value")

    def wait(self, expr, timeout=30):
        return self.call("wait", expr=expr, timeout=timeout)

    def eval(self, expr):
        return self.call("eval", expr=expr)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write('{"cmd":"quit"}\n')
                self.proc.stdin.flush()
                self.proc.wait(timeout=15)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
