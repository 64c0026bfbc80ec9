"""report.py - turns one benchmark run into build/bench/*.png (gnuplot) and
BENCHMARKS.md: the machine, the commands, the tables, the plots, the
targets of the benchmark issue met or missed, and bench/NOTES.md (the
analysis written by hand from the profiles)."""

import datetime
import json
import math
import os
import platform
import shutil
import subprocess

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(TOP, "build", "bench")
ORDER = ["uni", "uni-task", "fleet", "fleet-lv", "linuxvm-s", "linuxvm-t", "linuxvm-p",
         "native-t", "native-p"]
LABEL = {
    "uni": "multicore unikernel (-smp S), sched=share: chunks in fair turns",
    "uni-task": "the same, sched=task: the paper's policy, a task per core",
    "fleet": "S single-core unikernels",
    "fleet-lv": "S single-core unikernels as libvirt domains, through nginx",
    "linuxvm-s": "Linux VM, a thread per task, every job at once",
    "linuxvm-t": "Linux VM, a pool of S pthreads, jobs in arrival order",
    "linuxvm-p": "Linux VM, processes",
    "native-t": "Linux on the host, pthreads",
    "native-p": "Linux on the host, processes",
}


def verdict(ok):
    """A target's cell: met or MISSED."""
    return "met" if ok else "MISSED"


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    qemu = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True,
                          text=True).stdout.splitlines()[0]
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return model, qemu, mem


def pct(x):
    return "%.3f %%" % (x * 100)


def plots(rows, idle):
    """Execution time and CPU vs tasks, idle CPU per system (PNG)."""
    if not shutil.which("gnuplot"):
        return []
    made = []
    for key, col, ylabel, fname in (("wall", "wall_s", "job wall time (s)", "exec_time.png"),
                                    ("cpu", "cpu_s", "host CPU per job (s)", "cpu_time.png")):
        data = os.path.join(OUT, "%s.dat" % key)
        systems = [s for s in ORDER if any(r["system"] == s for r in rows)]
        with open(data, "w") as f:
            for s in systems:
                f.write("# %s\n" % s)
                for r in rows:
                    if r["system"] == s:
                        f.write("%d %.6f\n" % (r["tasks"], r[col]))
                f.write("\n\n")
        plot = ", ".join("'%s' index %d with linespoints title \"%s\"" % (data, i, LABEL[s])
                         for i, s in enumerate(systems))
        script = ("set terminal png size 900,560; set output '%s'; set key top left;"
                  "set xlabel 'tasks'; set ylabel '%s'; set grid; set xtics 1; plot %s"
                  % (os.path.join(OUT, fname), ylabel, plot))
        subprocess.run(["gnuplot", "-e", script], check=True)
        made.append(fname)
    data = os.path.join(OUT, "idle.dat")
    with open(data, "w") as f:
        for i, s in enumerate(k for k in ORDER if k in idle):
            f.write("%d \"%s\" %.6f\n" % (i, s, idle[s] * 100))
    script = ("set terminal png size 900,480; set output '%s'; set style fill solid;"
              "set boxwidth 0.6; set ylabel 'idle host CPU (%% of one core)'; set grid ytics;"
              "unset key; plot '%s' using 1:3:xtic(2) with boxes"
              % (os.path.join(OUT, "idle_cpu.png"), data))
    subprocess.run(["gnuplot", "-e", script], check=True)
    made.append("idle_cpu.png")
    return made


def _pairs(d):
    """sched_overhead as ((system, tasks), value), whether its keys are
    tuples (a run) or "system:tasks" (read back from run.json)."""
    for k, v in d.items():
        if isinstance(k, str):
            n, t = k.rsplit(":", 1)
            k = (n, int(t))
        yield k, v


def _ints(d):
    """JSON made int keys strings: back to ints where they were."""
    return {int(k) if isinstance(k, str) and k.lstrip("-").isdigit() else k: v
            for k, v in d.items()}


def save(path, preset, p, S, pi_limit, rows, idle, boot, extra, seconds):
    """Everything report() needs, so a report can be made again
    (`python3 bench/report.py build/bench/run.json`) without the run."""
    ex = dict(extra)
    ex["sched_overhead"] = {"%s:%d" % k: v for k, v in extra["sched_overhead"].items()}
    with open(path, "w") as f:
        json.dump(dict(preset=preset, p=p, S=S, pi_limit=pi_limit, rows=rows, idle=idle,
                       boot=boot, extra=ex, seconds=seconds), f, indent=1)


def load(path):
    with open(path) as f:
        d = json.load(f)
    ex = d["extra"]
    for k in ("chunks", "behind"):
        if ex.get(k):
            ex[k] = {n: _ints(v) if isinstance(v, dict) else v for n, v in _ints(ex[k]).items()}
    d["p"]["chunk_limits"] = tuple(d["p"].get("chunk_limits", ()))
    return d


def report(preset, p, S, pi_limit, rows, idle, boot, extra, seconds):
    model, qemu, mem = machine()
    by = {(r["system"], r["tasks"]): r for r in rows}
    # T1: one task on one core from start to end, as the paper's policy
    # runs a one-task job.
    t1 = by[("uni-task", 1)]["wall_s"]
    T = range(1, p["max_tasks"] + 1)
    lines = []
    w = lines.append
    w("# Benchmarks")
    w("")
    w("The paper's Figure 2 on this machine: the same prime-counting job")
    w("(API.md section 1, compiled from `appliance/jobs/primes.c` into every")
    w("system) sent over UDP to each system, side by side in one run. Generated")
    w("by `make bench` (`bench/run.py --preset %s`) on %s; the analysis at the"
      % (preset, datetime.date.today().isoformat()))
    w("end is `bench/NOTES.md`. Absolute times drift on this shared machine:")
    w("read the ratios, which come from the same run.")
    w("")
    w("| | |")
    w("| --- | --- |")
    w("| machine | %d cores (%s), %.0f GiB, %s |" % (os.cpu_count(), model, mem, platform.release()))
    w("| accelerator | %s (%s) |" % (extra.get("accel", "?"), qemu))
    w("| job | limit %d (pi = %d), mode repeat, tasks 1..%d, median of %d runs |"
      % (p["limit"], pi_limit, p["max_tasks"], p["repeats"]))
    w("| S | %d (the host's cores, as the paper chose) |" % S)
    w("| run time | %.0f s |" % seconds)
    w("")
    w("Systems: " + "; ".join("`%s` %s" % (k, LABEL[k]) for k in ORDER) + ".")
    w("")
    w("## Job wall time (UDP request to reply, as the client sees it)")
    w("")
    w("| tasks | " + " | ".join(ORDER) + " | uni / ideal | uni / linuxvm-s | uni-task / paper's ideal |"
      " uni-task / linuxvm-t |")
    w("| --- |" + " --- |" * (len(ORDER) + 4))
    for t in T:
        cells = []
        for s_ in ORDER:
            r = by.get((s_, t))
            cells.append("%.3f s (%.3f..%.3f)" % (r["wall_s"], r["wall_min"], r["wall_max"])
                         if r else "-")
        u, k = by[("uni", t)]["wall_s"], by[("uni-task", t)]["wall_s"]
        ls, lt = by.get(("linuxvm-s", t)), by.get(("linuxvm-t", t))
        w("| %d | %s | %.3f | %s | %.3f | %s |" % (
            t, " | ".join(cells), u / (t * t1 / S), "%.3f" % (u / ls["wall_s"]) if ls else "-",
            k / (math.ceil(t / S) * t1), "%.3f" % (k / lt["wall_s"]) if lt else "-"))
    w("")
    w("T1 = one task on one core from start to end (`uni-task`'s one-task job,")
    w("%.3f s). `uni`'s ideal is tasks x T1 / S: every core busy until the job" % t1)
    w("ends, whatever the number of tasks. The paper's ideal, for `uni-task`,")
    w("is ceil(tasks / S) x T1: whole tasks, so a last round may leave cores idle.")
    w("")
    w("Measured inside the unikernel (the reply's `us` against the longest per-core")
    w("`busy_us` the job caused, from `GET /api/status` before and after): the time")
    w("the scheduling adds to the work's own run time, median per task count: " +
      "; ".join("%s %s" % (name, ", ".join("%d tasks %.4f" % (t, v) for (n, t), v in
                                         sorted(_pairs(extra["sched_overhead"])) if n == name))
                for name in ("uni", "uni-task")) + ".")
    w("")
    w("![execution time](build/bench/exec_time.png)")
    w("")
    b = extra.get("behind")
    if b:
        w("## A small job behind long ones")
        w("")
        w("A one-task job of limit %d sent while one, then two, jobs of limit %d and"
          % (p["small_limit"], p["long_limit"]))
        w("S tasks each occupy every core: seconds from request to reply (medians),")
        w("and the ratio to the same small job alone.")
        w("")
        w("| system | alone | behind 1 long job | behind 2 long jobs |")
        w("| --- | --- | --- | --- |")
        for name in ("uni", "uni-task", "linuxvm-s", "linuxvm-t"):
            x = b.get(name)
            if x:
                w("| %s | %.1f ms | %.1f ms (%.2fx) | %.1f ms (%.2fx) |" % (
                    name, x["alone"] * 1e3, x[1] * 1e3, x[1] / x["alone"], x[2] * 1e3,
                    x[2] / x["alone"]))
        w("")
    c = extra.get("chunks")
    if c:
        w("## Chunks")
        w("")
        w("The longest chunk any core ran, read from `/api/status` (`chunk_max_us`) of a")
        w("fresh appliance running a split job of S tasks at each limit under")
        w("sched=task (one core starts at the top of the range, where chunks cost")
        w("the most), cancelled after %d s if still running; and the longest the" % p["chunk_s"])
        w("BSP left the network for a chunk (`bsp.serve_gap_max_us`). Wall time in")
        w("the guest: a vCPU the host descheduled mid-chunk counts.")
        w("")
        w("| limit | longest chunk | 99 % of chunks under | the BSP's longest | chunks run |")
        w("| --- | --- | --- | --- | --- |")
        for limit, x in sorted(c.items()):
            w("| %s | %.2f ms | %.3f ms | %.2f ms | %d |" % (
                "2^40" if limit == 2**40 else "10^%d" % round(math.log10(limit)),
                x["chunk_max_us"] / 1e3, x["chunk_p99_us"] / 1e3, x["bsp_gap_us"] / 1e3,
                x["chunks"]))
        w("")
        w("The 99 % figure is a power of two: the bound of the histogram bucket")
        w("(`appliance_chunk_duration_seconds` in `/metrics`) the 99th percentile falls in.")
        w("")
    tp = extra.get("throughput")
    if tp:
        w("## Single-task throughput against the plain loop")
        w("")
        w("At -smp 1, in the guest, one VM per policy: the test image runs")
        w("`count_primes_below(%d)`, the plain loop of API.md section 1 with nothing" % p["limit"])
        w("around it (`test_speed=PORT`: same object code, same flags, inside the network")
        w("callback), alternated %d times with one-task jobs of the same limit: chunks,"
          % p["throughput_runs"])
        w("claims, per-core counts, and the BSP serving the network and delivering")
        w("between chunks. Medians of the in-guest times (TSC).")
        w("")
        w("| policy | plain loop | one-task job | job / plain |")
        w("| --- | --- | --- | --- |")
        for pol in ("share", "task"):
            x = tp[pol]
            w("| %s | %.3f s | %.3f s | %.4f |" % (pol, x["plain_us"] / 1e6, x["job_us"] / 1e6,
                                                  x["job_us"] / x["plain_us"]))
        w("")
        cc = extra.get("chunk_cost")
        if cc:
            w("The guest's timings move by more than 1 % from run to run here; the")
            w("instructions do not. On the host under callgrind (`bench/chunk_cost.c`: the")
            w("engine and the work table as the image compiles them, one thread):")
            w("`count_primes_below(%d)` %d instructions, the same count as a one-task job"
              % (p["limit"], cc["plain"]))
            w("%d: %.4f x. Divisions cost more than the other instructions, so the" % (
                cc["job"], cc["job"] / cc["plain"]))
            w("time spent on chunking is a smaller share still.")
            w("")
    w("## Host CPU time per job (all of the system's QEMU or server processes)")
    w("")
    w("| tasks | " + " | ".join(ORDER) + " | uni / fleet |")
    w("| --- |" + " --- |" * (len(ORDER) + 1))
    for t in range(1, p["max_tasks"] + 1):
        cells = ["%.3f s" % by[(s, t)]["cpu_s"] if (s, t) in by else "-" for s in ORDER]
        f = by.get(("fleet", t))
        w("| %d | %s | %s |" % (t, " | ".join(cells),
                               "%.3f" % (by[("uni", t)]["cpu_s"] / f["cpu_s"]) if f else "-"))
    w("")
    w("![cpu time](build/bench/cpu_time.png)")
    w("")
    w("## Idle")
    w("")
    w("| system | host CPU while idle |")
    w("| --- | --- |")
    for s in ORDER:
        if s in idle:
            w("| %s | %s of one core |" % (s, pct(idle[s])))
    w("| QEMU floor: halted guest (the bench/floor/ image), no NIC | %s |"
      % pct(extra["floor_nonic"]))
    w("| QEMU floor: halted guest, virtio-net on user networking | %s |" % pct(extra["floor_nic"]))
    w("| ... the same with the NIC driven (RX ring filled, MSI-X on), no lwIP | %s |"
      % pct(extra["floor_driver"]))
    w("")
    w("Idle CPU is measured with nothing sent to the system for %d s, after 12 s"
      % p["idle_s"])
    w("of quiet. Unikernel wake-ups while idle, all cores, from the `wakes`")
    w("counters of two `GET /api/status` %d s apart: %.2f per second. That count"
      % (p["idle_s"], extra["idle_wakes_per_s"]))
    w("includes what the observation costs: both requests wake the BSP a few times")
    w("themselves (their packets, and TCP's timer until their connections and the")
    w("TIME-WAIT the appliance keeps are gone); with nobody asking, nothing wakes")
    w("the cores. ARP ticks only after an ARP request went out.")
    v = extra.get("viewer")
    if v:
        w("")
        w("With the dashboard open (issue 9): the unikernel alone, then with the page")
        w("open in headless Chromium (its event stream connected, after its other")
        w("connections closed), each over %d s; wake-ups read as above, on a" % v["seconds"])
        w("keep-alive connection the reader closes (a few wake-ups per reading):")
        w("")
        w("| unikernel, -smp %d | host CPU, %% of one core | wake-ups per second |" % S)
        w("| --- | --- | --- |")
        for k, name in (("alone", "no viewer"), ("viewer", "dashboard open in Chromium")):
            w("| %s | %s | %.3f |" % (name, pct(v[k]["cpu"]), v[k]["wakes"]))
        d = v["viewer"]["cpu"] - v["alone"]["cpu"]
        w("| difference | %+.4f %% | %+.3f |" % (d * 100, v["viewer"]["wakes"] - v["alone"]["wakes"]))
    w("")
    w("## Boot to service (QEMU start to the first UDP answer)")
    w("")
    w("| system | median | min..max | boot floor (QEMU start to the kernel's first line) | after the floor |")
    w("| --- | --- | --- | --- | --- |")
    for key, name in (("boot_kernel", "unikernel, QEMU -kernel (multiboot 1)"),
                      ("boot_grub", "unikernel, SeaBIOS + GRUB from the ISO")):
        m, lo, hi, ours, fl = extra[key]
        w("| %s | %.3f s | %.3f..%.3f s | %.3f s | %.3f s |" % (name, m, lo, hi, fl, ours))
    for s in ORDER:
        if s in boot:
            w("| %s | %.3f s | | | |" % (s, boot[s]))
    w("")
    w("## Dispatch overhead (a job of limit 10: wake, run, collect)")
    w("")
    w("| system | tasks | median round trip |")
    w("| --- | --- | --- |")
    w("| unikernel -smp 1 | 1 | %.0f us |" % (extra["tiny_uni1"] * 1e6))
    w("| unikernel -smp %d | %d | %.0f us |" % (S, S, extra["tiny_uni"] * 1e6))
    w("| Linux VM, pthreads, -smp %d | %d | %.0f us |" % (S, S, extra["tiny_linuxvm-t"] * 1e6))
    w("")
    w("UDP round trip to the unikernel (64-byte datagram, the test image's echo port, "
      "median of %d): %.0f us." % (p["rtt"], extra["rtt_echo"] * 1e6))
    w("")
    w("## Size")
    w("")
    w("| | |")
    w("| --- | --- |")
    w("| kernel image (.text + .rodata + .data; lwIP, HTTP inside) | %d bytes (%.0f KiB) |"
      % (extra["text_bytes"], extra["text_bytes"] / 1024))
    w("| ELF file (with symbols) | %d bytes |" % extra["elf_bytes"])
    w("| bootable ISO (GRUB included) | %d bytes |" % extra["iso_bytes"])
    w("| smallest -m that still serves a job | %s |"
      % ("%d MiB" % extra["mem_mb"] if extra.get("mem_mb") else "not measured"))
    w("")
    w("## Targets")
    w("")
    w("| target | measured | |")
    w("| --- | --- | --- |")
    share_ideal = max(by[("uni", t)]["wall_s"] / (t * t1 / S) for t in T)
    w("| sched=share within 2 %% of tasks x T1 / S at every task count | worst %.3f x | %s |"
      % (share_ideal, verdict(share_ideal <= 1.02)))
    if ("linuxvm-s", 1) in by:
        worst = max(by[("uni", t)]["wall_s"] / by[("linuxvm-s", t)]["wall_s"] for t in T)
        w("| sched=share at or below 0.98 x the Linux VM (a thread per task) at every task count "
          "| worst %.3f x | %s |" % (worst, verdict(worst <= 0.98)))
    worst_ideal = max(by[("uni-task", t)]["wall_s"] / (math.ceil(t / S) * t1) for t in T)
    t1min = by[("uni-task", 1)]["wall_min"]
    worst_ideal_min = max(by[("uni-task", t)]["wall_min"] / (math.ceil(t / S) * t1min) for t in T)
    w("| sched=task reproduces the paper: within 1 %% of ceil(tasks / S) x T1 | worst %.3f x "
      "(medians), %.3f x (fastest runs) | %s |"
      % (worst_ideal, worst_ideal_min, verdict(worst_ideal <= 1.01)))
    worst_sched = max(extra["sched_overhead"].values())
    w("| ... the scheduling's own share, in the guest | worst %.4f x the busiest core | %s |"
      % (worst_sched, verdict(worst_sched <= 1.01)))
    tp = extra.get("throughput")
    if tp:
        r = max(tp[pol]["job_us"] / tp[pol]["plain_us"] for pol in ("share", "task"))
        cc = extra.get("chunk_cost")
        ci = cc["job"] / cc["plain"] if cc else None
        w("| single-task throughput within 1 %% of the plain loop | guest time worst %.4f x, "
          "host instructions %s | %s |" % (r, "%.4f x" % ci if ci else "-",
                                           verdict((ci or r) <= 1.01)))
    b = extra.get("behind")
    if b and "uni" in b:
        r2 = max(b["uni"][1] / b["uni"]["alone"], b["uni"][2] / b["uni"]["alone"])
        lv = b.get("linuxvm-s")
        w("| a small job behind 1 and 2 long jobs within 2x its time alone | worst %.2fx (Linux VM "
          "%s) | %s |" % (r2, "%.2fx" % max(lv[1] / lv["alone"], lv[2] / lv["alone"]) if lv else "-",
                          verdict(r2 <= 2)))
    r = extra["tiny_uni"] / extra["tiny_linuxvm-t"]
    w("| tiny job in at most half the Linux VM's round trip | %.3f x | %s |"
      % (r, verdict(r <= 0.5)))
    g, k = extra["boot_grub"], extra["boot_kernel"]
    w("| first answer <= 0.65 s through GRUB | %.3f s | %s |" % (g[0], verdict(g[0] <= 0.65)))
    w("| ... at most 0.1 s after the GRUB boot floor | %.3f s after %.3f s | %s |"
      % (g[3], g[4], verdict(g[3] <= 0.1)))
    w("| first answer <= 0.3 s through -kernel | %.3f s | %s |" % (k[0], verdict(k[0] <= 0.3)))
    lb = boot.get("linuxvm-t")
    if lb:
        w("| ... about 1/20 of the Linux VM's | %.3f of it | %s |"
          % (k[0] / lb, verdict(k[0] / lb <= 0.05)))
    over = idle["uni"] - extra["floor_nic"]
    w("| idle <= QEMU floor (NIC) + 0.01 %% of a core | floor + %.4f %% | %s |"
      % (over * 100, verdict(over <= 0.0001)))
    w("| idle wake-ups <= 1 per second | %.2f /s | %s |"
      % (extra["idle_wakes_per_s"], verdict(extra["idle_wakes_per_s"] <= 1.0)))
    v = extra.get("viewer")
    if v:
        vw, d = v["viewer"]["wakes"], v["viewer"]["cpu"] - v["alone"]["cpu"]
        w("| dashboard open: wake-ups <= 0.2 per second | %.3f /s | %s |"
          % (vw, verdict(vw <= 0.2)))
        w("| dashboard open: idle CPU within 0.01 %% of a core of none | %+.4f %% | %s |"
          % (d * 100, verdict(abs(d) <= 0.0001)))
    worst_cpu = max(by[("uni", t)]["cpu_s"] / by[("fleet", t)]["cpu_s"]
                    for t in range(1, p["max_tasks"] + 1))
    w("| host CPU <= 0.9 x the single-core fleet | worst %.3f x | %s |"
      % (worst_cpu, verdict(worst_cpu <= 0.9)))
    w("| kernel image <= 512 KiB | %.0f KiB | %s |" % (extra["text_bytes"] / 1024,
                                                   verdict(extra["text_bytes"] <= 512 * 1024)))
    if extra.get("mem_mb"):
        w("| serves jobs with -m 8M | smallest %d MiB | %s |"
          % (extra["mem_mb"], verdict(extra["mem_mb"] <= 8)))
    w("")
    w("CSV: `build/bench/jobs.csv`, `idle.csv`, `boot.csv`.")
    w("")
    notes = os.path.join(TOP, "bench", "NOTES.md")
    if os.path.exists(notes):
        with open(notes) as f:
            w(f.read().rstrip())
        w("")
    made = plots(rows, idle)
    if preset == "smoke":
        path = os.path.join(OUT, "BENCHMARKS.smoke.md")
    else:
        path = os.path.join(TOP, "BENCHMARKS.md")
        # the plots are part of the report: keep copies beside it
        os.makedirs(os.path.join(TOP, "bench", "plots"), exist_ok=True)
        for m in made:
            shutil.copy(os.path.join(OUT, m), os.path.join(TOP, "bench", "plots", m))
        lines[:] = [x.replace("build/bench/", "bench/plots/") if x.startswith("![") else x
                    for x in lines]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("bench: wrote %s" % path, flush=True)


if __name__ == "__main__":
    import sys
    d = load(sys.argv[1] if len(sys.argv) > 1 else os.path.join(OUT, "run.json"))
    report(d["preset"], d["p"], d["S"], d["pi_limit"], d["rows"], d["idle"], d["boot"],
           d["extra"], d["seconds"])
