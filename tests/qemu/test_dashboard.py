"""test_dashboard.py - the dashboard (web/, issue 9) in a real browser:
Debian's chromium, headless with a fresh profile, driven over the DevTools
protocol by tests/browser/driver.js (puppeteer-core; tests/browser/browser.py
installs it with npm ci into build/browser). Against the appliance in QEMU:
the page loads without console errors, shows the cores, runs a job from its
form, cancels one, shows API errors in words, asks for the bearer token on a
401 and recovers when the appliance is rebooted under it. The charts (issue
19) draw points after a job runs, their totals match the appliance's own
counters (busy_us, the jobs' elapsed_us) and they keep their history across
a reconnect; tests/browser/agree.js watches every change of the page for a
summary card, tile or table that disagrees with another, or a count of 1
with a plural. The 1024-core heat map and the 1-core page are rendered from
tests/browser/mock.py (QEMU takes minutes to boot that many). Screenshots:
build/dashboard-smp4.png, build/dashboard-smp64.png,
build/dashboard-mock1024.png, build/dashboard-mock1.png."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

from net import free_port, http_request, status, tcp_exchange, user_net, wait_udp_ready
from vm import Vm

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests", "browser"))
import browser as br  # noqa: E402
import mock  # noqa: E402

SHOTS = os.path.join(TOP, "build")
LIVE = "document.getElementById('conn').textContent === 'live'"
MSG = "document.getElementById('msg').textContent"
TOKEN = "s3cret-Tok"
with open(os.path.join(TOP, "tests", "browser", "agree.js")) as _f:
    AGREE = _f.read()
CHARTS = ("Object.fromEntries(['busy', 'queue', 'jobs', 'lat'].map(c => {"
          " const d = document.getElementById('ch-' + c).dataset;"
          " return [c, {points: JSON.parse(d.points || '{}'), peak: JSON.parse(d.peak || '{}'),"
          " ticks: JSON.parse(d.ticks || '[]'), total: d.total == null ? null : +d.total}]; }))")


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


def _watch(b):
    """Starts tests/browser/agree.js in the page: from now on every change
    of the page is checked for cards and tables that disagree."""
    b.eval(AGREE)


def _agree(b, when):
    """Checks the page now as well (a moment the test chose)."""
    bad = b.eval("window.__agree.check()")
    assert not bad, "the page disagrees with itself %s: %s" % (when, bad)


def _agreed(b):
    """What the watcher saw since _watch: {checks, states}; fails on any
    disagreement it caught."""
    a = b.eval("({checks: window.__agree.checks, bad: window.__agree.bad,"
               " states: window.__agree.states})")
    assert not a["bad"], "the page disagreed with itself: %s" % a["bad"]
    assert a["checks"] >= 5, a
    return a


def _charts(b):
    """Per chart what the page says it drew: {points, peak} per series,
    the y tick labels and the total (busy: core-seconds; jobs: jobs)."""
    return b.eval(CHARTS)


def _busy_s(status):
    """All cores' busy time in seconds, from a status document."""
    return sum(c["busy_us"] for c in status["cores"]) / 1e6


def _elapsed(http, jid):
    code, _, body = http_request("127.0.0.1", http, "GET", "/api/jobs/%d" % jid)
    assert code == 200, code
    return json.loads(body)["elapsed_us"]


def _check_charts(ch, ncores, busy_s, jobs, lat_max):
    """The charts after work the test knows: busy_s core-seconds of it
    (the appliance's busy_us), jobs ended while the page was open, the
    longest of them lat_max us. Answers a line for the log."""
    busy, lat = ch["busy"], ch["lat"]
    assert busy["points"]["busy"] >= 3 and 0 < busy["peak"]["busy"] <= ncores, busy
    assert abs(busy["total"] - busy_s) <= 0.02 * busy_s + 0.05, \
        "busy chart has %.3f core-s, the cores' busy_us say %.3f" % (busy["total"], busy_s)
    assert busy["ticks"][0] == "0" and busy["ticks"][-1] == "{:,}".format(ncores), busy["ticks"]
    assert ch["queue"]["points"]["queue"] >= 3, ch["queue"]
    assert ch["jobs"]["total"] == jobs and ch["jobs"]["peak"]["jobs"] >= 1, (ch["jobs"], jobs)
    assert ch["jobs"]["points"]["jobs"] >= 3, ch["jobs"]
    assert lat["points"]["max"] >= 1 and lat["points"]["median"] == lat["points"]["max"], lat
    assert lat["peak"]["max"] == lat_max, "latency chart's max %s us, the jobs' %s us" % (
        lat["peak"]["max"], lat_max)
    return "busy %d points, %.2f core-s (busy_us %.2f), jobs ended %d, max latency %.3f s" % (
        busy["points"]["busy"], busy["total"], busy_s, jobs, lat_max / 1e6)


def _no_foreign(b):
    foreign = b.call("log")["foreign"]
    assert not foreign, "the page asked for something off the appliance: %s" % foreign


def test_dashboard_smp4_jobs_cancel_token_reboot():
    udp, http = free_port(), free_port(socket.SOCK_STREAM)
    url = "http://127.0.0.1:%d/" % http
    vm = _vm(4, udp, http)
    try:
        _served(http)
        busy0 = _busy_s(status(http))
        with _browser() as b:
            b.call("open", url=url)
            b.wait(LIVE + " && document.querySelectorAll('#cores .tile').length === 4", 30)
            _watch(b)
            errs = _errors(b)
            assert not errs, "console errors on load: %s" % errs
            assert b.eval("document.getElementById('s-cores').textContent") == "4 cores"

            # A job from the form turns the cores busy; its result appears.
            _submit(b, 2000000, 8)
            jid = _job_id(b)
            _agree(b, "as job %d was accepted" % jid)
            busy = b.wait("(n => n >= 3 && n)(document.querySelectorAll('#cores .tile.busy')"
                          ".length)", 20)
            _agree(b, "while job %d runs" % jid)
            state, result = b.wait(_row("t-done", jid) + " || false", 60)
            assert (state, result) == ("done", "1,191,464"), (state, result)
            _agree(b, "once job %d is done" % jid)
            util = b.wait("(u => u > 0 && u)(parseInt(document.getElementById('s-util')"
                          ".textContent))", 10)
            assert "done: result 1,191,464" in b.eval(MSG)

            # The charts drew the job: its busy time as busy_us counts it,
            # one job ended, its latency as the appliance measured it.
            b.wait("document.querySelectorAll('#cores .tile.busy').length === 0", 20)
            busy1 = _busy_s(status(http))
            b.wait("+document.getElementById('ch-jobs').dataset.total >= 1", 10)
            time.sleep(1.5)     # the last status document and a redraw
            charted = _check_charts(_charts(b), 4, busy1 - busy0, 1, _elapsed(http, jid))

            # An API error is shown in words (the browser itself logs the 400).
            _submit(b, 1000, 0)
            err = b.wait("document.getElementById('msg').className === 'err' && " + MSG, 10)
            assert "400" in err and "tasks must be" in err, err

            # A long job is cancelled from the page (the screenshot shows it
            # running, with the first job in the charts).
            _submit(b, 100000000, 4)
            long_id = _job_id(b)
            # Its cores busy, the job in flight: its 'running' event comes
            # from the BSP's loop (jobs_poll), late by a whole task if the
            # BSP took one of them first, so 'queued' may still show.
            b.wait("(" + _row("t-fly", long_id) + " || [])[0] && document.querySelectorAll("
                   "'#cores .tile.busy').length >= 3", 20)
            _agree(b, "while job %d runs" % long_id)
            time.sleep(2)       # samples: the bars and the charts show the load
            b.call("shot", path=os.path.join(SHOTS, "dashboard-smp4.png"), full=True)
            b.call("click", sel="#t-fly tr[data-id=\"%d\"] button" % long_id)
            state, _ = b.wait(_row("t-done", long_id) + " || false", 20)
            assert state == "cancelled", state
            b.wait("document.querySelectorAll('#cores .tile.busy').length === 0", 20)
            ch = b.wait("(c => c.jobs.total >= 2 && c)(%s)" % CHARTS, 10)
            # The cancel's event has the job's elapsed time at the cancel; the
            # API's, read later, runs on until its tasks have drained.
            lat = ch["lat"]["peak"]["max"]
            assert ch["jobs"]["total"] == 2 and \
                _elapsed(http, jid) <= lat <= max(_elapsed(http, jid), _elapsed(http, long_id)), ch
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
            # The charts kept the old appliance's history (and shade the gap).
            after = _charts(b)
            assert after["lat"]["points"]["max"] >= ch["lat"]["points"]["max"] and \
                after["jobs"]["total"] >= 2 and \
                after["busy"]["points"]["busy"] >= ch["busy"]["points"]["busy"], (ch, after)
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
            b.wait("+document.getElementById('ch-jobs').dataset.total >= 4", 10)
            seen = _agreed(b)

            # Assets are revalidated (ETag, Cache-Control: no-cache): 304.
            loads = {l["url"].rsplit("/", 1)[1]: l["status"] for l in b.call("reload")}
            b.wait(LIVE, 20)
            assert all(loads.get(f) == 304 for f in ("app.js", "style.css")), loads
            _no_foreign(b)
            errs = _errors(b)
            assert not errs, "console errors after a reload: %s" % errs
        print("dashboard-smp4: %s; 4 tiles, job %d busy %d cores -> 1,191,464, util %d%%, "
              "charts: %s; 400 shown (%s), job %d cancelled, reboot: back in %.1fs (uptime "
              "%.1fs -> %.1fs), history kept, token asked once, assets 304; %d checks of cards "
              "against tables (in-flight rows seen %s), none disagreed"
              % (b.version, jid, busy, util, charted, err[:40], long_id, back, old_up / 1e6,
                 new_up / 1e6, seen["checks"], seen["states"]))
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
            _watch(b)
            _submit(b, 600000, 64)
            jid = _job_id(b)
            busy = b.wait("(n => n >= 32 && n)(document.querySelectorAll('#cores .tile.busy')"
                          ".length)", 30)
            time.sleep(1)
            b.call("shot", path=os.path.join(SHOTS, "dashboard-smp64.png"), full=True)
            state, result = b.wait(_row("t-done", jid) + " || false", 90)
            assert (state, result) == ("done", "3,142,272"), (state, result)
            _agreed(b)
            _no_foreign(b)
            errs = _errors(b)
            assert not errs, "console errors: %s" % errs
        print("dashboard-smp64: 64 tiles, job %d had %d cores busy -> 3,142,272" % (jid, busy))
    finally:
        vm.stop()


def _mock_busy_s(sim):
    return _busy_s(sim.status())


def _mock_elapsed(sim, jid):
    with sim.lock:
        return sim.job_obj(sim.jobs[jid])["elapsed_us"]


def test_dashboard_heatmap_1024_mock():
    """Beyond 64 cores the page draws a heat map; 1024 cores from the mock.
    A job on every core, a second one queued behind it: the cards and the
    tables agree while it is queued, running and done; the charts draw
    both and keep their history when the stream is lost and comes back."""
    srv, sim = mock.serve(cores=1024, speed=0.25)     # 8 s tasks: time to queue another job
    try:
        busy0 = _mock_busy_s(sim)
        with _browser() as b:
            b.call("open", url="http://127.0.0.1:%d/" % srv.server_address[1])
            b.wait(LIVE + " && document.querySelectorAll('#cores.hm i').length === 1024", 30)
            _watch(b)
            assert b.eval("document.getElementById('s-sched').textContent") == "share"
            _submit(b, 5000000, 1024)
            first = _job_id(b)
            busy = b.wait("(n => n >= 1000 && n)(document.querySelectorAll('#cores.hm i.busy')"
                          ".length)", 20)
            title = b.eval("document.querySelectorAll('#cores.hm i')[5].title")
            assert title.startswith("core 5 (ap, APIC 5): busy"), title
            _submit(b, 1000000, 300)
            second = _job_id(b)
            b.wait("(" + _row("t-fly", second) + " || [])[0] === 'queued'", 10)
            _agree(b, "while job %d is queued" % second)
            b.wait("(" + _row("t-fly", second) + " || [])[0] === 'running'", 20)
            _agree(b, "while job %d runs" % second)
            time.sleep(0.5)
            b.call("shot", path=os.path.join(SHOTS, "dashboard-mock1024.png"), full=True)
            b.wait(_row("t-done", second) + " || false", 20)
            b.wait("document.querySelectorAll('#cores.hm i.busy').length === 0", 20)
            _agree(b, "once job %d is done" % second)
            b.wait("+document.getElementById('ch-jobs').dataset.total >= 2", 10)
            time.sleep(1.5)
            ch = _charts(b)
            charted = _check_charts(ch, 1024, _mock_busy_s(sim) - busy0, 2,
                                    max(_mock_elapsed(sim, first), _mock_elapsed(sim, second)))
            assert ch["queue"]["peak"]["queue"] >= 300, ch["queue"]

            # The stream is lost and comes back: the history stays.
            sim.cut_streams()
            b.wait("document.getElementById('conn').textContent !== 'live'", 10)
            b.wait(LIVE, 20)
            time.sleep(1.5)
            after = _charts(b)
            for c, k in (("busy", "busy"), ("queue", "queue"), ("lat", "max")):
                assert after[c]["points"][k] >= ch[c]["points"][k], (c, ch[c], after[c])
            assert after["jobs"]["total"] == 2 and \
                abs(after["busy"]["total"] - ch["busy"]["total"]) < 0.05, (ch, after)
            seen = _agreed(b)
            assert seen["states"].get("queued") and seen["states"].get("running"), seen
            tiles = b.eval("document.querySelectorAll('.tile').length")
            assert tiles == 0, tiles
            errs = _errors(b, r"^log/network: .*/api/events")
            assert not errs, "console errors: %s" % errs
        print("dashboard-heatmap: 1024 squares, %d busy, no tiles; charts: %s; history kept "
              "across a reconnect; %d checks of cards against tables, none disagreed"
              % (busy, charted, seen["checks"]))
    finally:
        srv.stop()


def test_dashboard_1core_mock():
    """One core, and a status document without "sched" (an appliance from
    before the policy): singular counts, the busy axis 0..1, no policy
    card; a job queued behind another on the one core; idle, the page
    sends no request while its charts move on with time."""
    srv, sim = mock.serve(cores=1, speed=0.25, sched="")     # 4.8 s: time to queue a job
    try:
        busy0 = _mock_busy_s(sim)
        with _browser() as b:
            b.call("open", url="http://127.0.0.1:%d/" % srv.server_address[1])
            b.wait(LIVE + " && document.querySelectorAll('#cores .tile').length === 1", 30)
            _watch(b)
            assert b.eval("document.getElementById('c-sched').hidden") is True
            assert b.eval("document.getElementById('s-cores').textContent") == "1 core"
            _submit(b, 3000000, 1)
            first = _job_id(b)
            _submit(b, 2000000, 1)
            second = _job_id(b)
            b.wait("(" + _row("t-fly", second) + " || [])[0] === 'queued'", 10)
            _agree(b, "while job %d is queued" % second)
            b.wait(_row("t-done", first) + " || false", 20)
            b.wait("document.querySelector('#cores .tile .t').textContent === '1 task'", 10)
            _agree(b, "while job %d runs" % second)
            b.wait(_row("t-done", second) + " || false", 20)
            b.wait("document.querySelectorAll('#cores .tile.busy').length === 0", 10)
            assert b.eval("document.querySelector('#cores .tile .t').textContent") == "2 tasks"
            _agree(b, "once job %d is done" % second)
            b.wait("+document.getElementById('ch-jobs').dataset.total >= 2", 10)
            time.sleep(1.5)
            ch = _charts(b)
            charted = _check_charts(ch, 1, _mock_busy_s(sim) - busy0, 2,
                                    max(_mock_elapsed(sim, first), _mock_elapsed(sim, second)))
            assert ch["busy"]["ticks"] == ["0", "0.2", "0.4", "0.6", "0.8", "1"], ch["busy"]

            # Idle: no event comes, the page asks nothing (the mock counts
            # every GET in rx), yet its charts move on with time.
            with sim.lock:
                asked = sim.rx
            time.sleep(4)
            with sim.lock:
                asked = sim.rx - asked
            later = _charts(b)
            assert asked == 0, "an idle page sent %d requests" % asked
            assert later["busy"]["points"]["busy"] >= ch["busy"]["points"]["busy"] + 3 and \
                later["jobs"]["points"]["jobs"] >= ch["jobs"]["points"]["jobs"] + 3, (ch, later)
            b.call("shot", path=os.path.join(SHOTS, "dashboard-mock1.png"), full=True)
            seen = _agreed(b)
            assert seen["states"].get("queued") and seen["states"].get("running"), seen
            errs = _errors(b)
            assert not errs, "console errors: %s" % errs
        print("dashboard-1core: charts: %s; %d checks, none disagreed" % (charted, seen["checks"]))
    finally:
        srv.stop()


def test_dashboard_history_model():
    """The charts' bookkeeping (web/charts.js History) under a fake clock in
    node: busy time exact over the window and never above every core,
    corrections spilled back, a disconnect's busy time spread over it, a
    restart keeping the history, latencies bounded per bucket, the axes
    (tests/browser/test_history.js)."""
    if not shutil.which("node"):
        raise Skip("no node on the PATH (tools/deps.sh installs Debian's nodejs)")  # noqa: F821
    r = subprocess.run(["node", os.path.join(TOP, "tests", "browser", "test_history.js")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "checks passed" in r.stdout, r.stdout + r.stderr
    return r.stdout.strip()
