"""test_dashboard.py - the dashboard (web/, issue 9) in a real browser:
Debian's chromium, headless with a fresh profile, driven over the DevTools
protocol by tests/browser/driver.js (puppeteer-core; tests/browser/browser.py
installs it with npm ci into build/browser). Against the appliance in QEMU:
the page loads without console errors, shows the cores, runs a job from its
form, cancels one, shows API errors in words, asks for the bearer token on a
401 and recovers when the appliance is rebooted under it. The 1024-core heat
map is rendered from tests/browser/mock.py (QEMU takes minutes to boot that
many). Screenshots: build/dashboard-smp4.png, build/dashboard-smp64.png,
build/dashboard-mock1024.png."""

import os
import re
import socket
import sys
import time

from net import free_port, tcp_exchange, user_net, wait_udp_ready
from vm import Vm

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests", "browser"))
import browser as br  # noqa: E402
import mock  # noqa: E402

SHOTS = os.path.join(TOP, "build")
LIVE = "document.getElementById('conn').textContent === 'live'"
MSG = "document.getElementById('msg').textContent"
TOKEN = "s3cret-Tok"


def _browser():
    try:
        return br.Browser()
    except br.Unavailable as e:
        raise Skip(str(e))      # noqa: F821 - the runner sets Skip


def _vm(smp, udp, http, cmdline=""):
    vm = Vm(smp=smp, cmdline=cmdline, net=user_net(udp=[(udp, 5555)], tcp=[(http, 80)]))
    vm.start()
    try:
        wait_udp_ready(udp, b"10\n", timeout=120)
    except BaseException:
        vm.stop()
        raise
    return vm


def _served(http):
    out = tcp_exchange(http, b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", timeout=20)
    head = out.partition(b"\r\n\r\n")[0].decode("latin-1")
    assert head.startswith("HTTP/1.1 200") and "text/html" in head, \
        "GET / does not serve the dashboard: %r" % head[:200]


def _row(table, jid):
    """[state, result] of job jid's row in #table, or null."""
    return ("(r => r ? [r.children[1].textContent, r.children[5].textContent] : null)"
            "(document.querySelector('#%s tr[data-id=\"%d\"]'))" % (table, jid))


def _submit(b, limit, tasks, mode="repeat"):
    """Fills the form and submits it; the message line's text after."""
    b.eval("document.getElementById('msg').textContent = ''")
    b.call("type", sel="#f-limit", text=str(limit))
    b.call("type", sel="#f-tasks", text=str(tasks))
    b.call("select", sel="#f-mode", value=mode)
    b.call("click", sel="#f-go")


def _job_id(b, timeout=20):
    return b.wait("(m => m && +m[1])(%s.match(/^Job (\\d+) (accepted|done)/))" % MSG, timeout)


def _errors(b, allowed=None):
    """The page's console errors since the last call, but those matching
    allowed (a regex: failed loads the browser reports for an expected
    HTTP status or a refused connection)."""
    errs = b.call("log", clear=True)["errors"]
    return [e for e in errs if not (allowed and re.search(allowed, e))]


def _no_foreign(b):
    foreign = b.call("log")["foreign"]
    assert not foreign, "the page asked for something off the appliance: %s" % foreign


def test_dashboard_smp4_jobs_cancel_token_reboot():
    udp, http = free_port(), free_port(socket.SOCK_STREAM)
    url = "http://127.0.0.1:%d/" % http
    vm = _vm(4, udp, http)
    try:
        _served(http)
        with _browser() as b:
            b.call("open", url=url)
            b.wait(LIVE + " && document.querySelectorAll('#cores .tile').length === 4", 30)
            errs = _errors(b)
            assert not errs, "console errors on load: %s" % errs
            assert b.eval("document.getElementById('s-cores').textContent").startswith("4 ")

            # A job from the form turns the cores busy; its result appears.
            _submit(b, 2000000, 8)
            jid = _job_id(b)
            busy = b.wait("(n => n >= 3 && n)(document.querySelectorAll('#cores .tile.busy')"
                          ".length)", 20)
            time.sleep(1)       # a second of samples: the bars show the load
            b.call("shot", path=os.path.join(SHOTS, "dashboard-smp4.png"), full=True)
            state, result = b.wait(_row("t-done", jid) + " || false", 60)
            assert (state, result) == ("done", "1,191,464"), (state, result)
            util = b.wait("(u => u > 0 && u)(parseInt(document.getElementById('s-util')"
                          ".textContent))", 10)
            assert "done: result 1,191,464" in b.eval(MSG)

            # An API error is shown in words (the browser itself logs the 400).
            _submit(b, 1000, 0)
            err = b.wait("document.getElementById('msg').className === 'err' && " + MSG, 10)
            assert "400" in err and "tasks must be" in err, err

            # A long job is cancelled from the page.
            _submit(b, 100000000, 4)
            long_id = _job_id(b)
            b.wait("(" + _row("t-fly", long_id) + " || [])[0] === 'running'", 20)
            b.call("click", sel="#t-fly tr[data-id=\"%d\"] button" % long_id)
            state, _ = b.wait(_row("t-done", long_id) + " || false", 20)
            assert state == "cancelled", state
            b.wait("document.querySelectorAll('#cores .tile.busy').length === 0", 20)
            errs = _errors(b, r"^log/network: .*status of 400 .*/api/jobs$")
            assert not errs, "console errors while working: %s" % errs

            # The appliance reboots under the page (same host port), now
            # with a token: the page shows it is down, reconnects, shows
            # the new uptime and drops the old appliance's jobs.
            time.sleep(max(0.0, 10 - b.eval("+document.getElementById('s-up').dataset.us") / 1e6))
            old_up = b.eval("+document.getElementById('s-up').dataset.us")
            vm.stop()
            b.wait("!document.getElementById('banner').hidden", 20)
            t_down = time.monotonic()
            vm = _vm(4, udp, http, cmdline="token=" + TOKEN)
            new_up = b.wait(LIVE + " && document.getElementById('banner').hidden && "
                            "(u => u < %d && u)(+document.getElementById('s-up').dataset.us)"
                            % old_up, 60)
            back = time.monotonic() - t_down
            b.wait("![...document.querySelectorAll('tr[data-id]')].some(r => "
                   "r.children[2].textContent === '100,000,000')", 10)
            errs = _errors(b, r"^log/network: .*/api/(events|jobs|status)")
            assert not errs, "console errors across the reboot: %s" % errs

            # POST answers 401: the page asks for the token once, retries,
            # keeps it in sessionStorage (not in the URL) and uses it again.
            _submit(b, 1000000, 4)
            b.wait("document.getElementById('tok').open", 10)
            b.call("type", sel="#tok-in", text=TOKEN)
            b.call("click", sel="#tok-ok")
            tok_id = _job_id(b)
            state, result = b.wait(_row("t-done", tok_id) + " || false", 60)
            assert (state, result) == ("done", "313,992"), (state, result)
            assert b.eval("sessionStorage.getItem('applianceToken')") == TOKEN
            assert TOKEN not in b.eval("location.href")
            _submit(b, 1000, 1)
            again = _job_id(b)
            assert again > tok_id and not b.eval("document.getElementById('tok').open")
            errs = _errors(b, r"^log/network: .*status of 401 .*/api/jobs$")
            assert not errs, "console errors in the token exchange: %s" % errs

            # Assets are revalidated (ETag, Cache-Control: no-cache): 304.
            loads = {l["url"].rsplit("/", 1)[1]: l["status"] for l in b.call("reload")}
            b.wait(LIVE, 20)
            assert all(loads.get(f) == 304 for f in ("app.js", "style.css")), loads
            _no_foreign(b)
            errs = _errors(b)
            assert not errs, "console errors after a reload: %s" % errs
        print("dashboard-smp4: %s; 4 tiles, job %d busy %d cores -> 1,191,464, util %d%%, "
              "400 shown (%s), job %d cancelled, reboot: back in %.1fs (uptime %.1fs -> %.1fs), "
              "token asked once, assets 304"
              % (b.version, jid, busy, util, err[:40], long_id, back, old_up / 1e6, new_up / 1e6))
    finally:
        vm.stop()


def test_dashboard_smp64():
    udp, http = free_port(), free_port(socket.SOCK_STREAM)
    vm = _vm(64, udp, http)
    try:
        _served(http)
        with _browser() as b:
            b.call("open", url="http://127.0.0.1:%d/" % http)
            b.wait(LIVE + " && document.querySelectorAll('#cores .tile').length === 64", 30)
            _submit(b, 600000, 64)
            jid = _job_id(b)
            busy = b.wait("(n => n >= 32 && n)(document.querySelectorAll('#cores .tile.busy')"
                          ".length)", 30)
            time.sleep(1)
            b.call("shot", path=os.path.join(SHOTS, "dashboard-smp64.png"), full=True)
            state, result = b.wait(_row("t-done", jid) + " || false", 90)
            assert (state, result) == ("done", "3,142,272"), (state, result)
            _no_foreign(b)
            errs = _errors(b)
            assert not errs, "console errors: %s" % errs
        print("dashboard-smp64: 64 tiles, job %d had %d cores busy -> 3,142,272" % (jid, busy))
    finally:
        vm.stop()


def test_dashboard_heatmap_1024_mock():
    """Beyond 64 cores the page draws a heat map; 1024 cores from the mock."""
    srv, _ = mock.serve(cores=1024, speed=0.5)
    try:
        with _browser() as b:
            b.call("open", url="http://127.0.0.1:%d/" % srv.server_address[1])
            b.wait(LIVE + " && document.querySelectorAll('#cores.hm i').length === 1024", 30)
            _submit(b, 2000000, 900)
            busy = b.wait("(n => n >= 800 && n)(document.querySelectorAll('#cores.hm i.busy')"
                          ".length)", 20)
            title = b.eval("document.querySelectorAll('#cores.hm i')[5].title")
            assert title.startswith("core 5 (ap, APIC 5): busy"), title
            b.call("shot", path=os.path.join(SHOTS, "dashboard-mock1024.png"), full=True)
            tiles = b.eval("document.querySelectorAll('.tile').length")
            assert tiles == 0, tiles
            errs = _errors(b)
            assert not errs, "console errors: %s" % errs
        print("dashboard-heatmap: 1024 squares, %d busy, no tiles" % busy)
    finally:
        srv.stop()
