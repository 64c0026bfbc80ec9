#!/usr/bin/env python3
"""fleet.py - many appliances under libvirt, with nginx in front (make fleet).

  fleet.py up [--n 3] [--cpus 1] [--mem 64M] [--name appliance-fleet]
              [--udp-base 15551] [--http-base 18081]
              [--front-udp 5555] [--front-http 8080]
              [--disk build/appliance.qcow2] [--cmdline "..."] [--timeout 180]
              [--replace]
  fleet.py status [--name appliance-fleet]
  fleet.py replace --member I [--name appliance-fleet] [--timeout 180]
  fleet.py down   [--name appliance-fleet]
  fleet.py xml    [--n 1 ...]          print member 1's domain XML and exit

up defines and starts N libvirt domains <name>-1 .. <name>-N on
qemu:///system (starting virtlogd and libvirtd when none answers), each
with -smp CPUS, virtio-net on QEMU's user networking and host ports
127.0.0.1:UDP_BASE+i-1 -> guest 5555/udp and HTTP_BASE+i-1 -> guest 80;
waits until each answers UDP; then writes an nginx configuration and
starts Debian's nginx balancing front UDP and HTTP ports over them. All
it makes lives in build/fleet/<name>/ (domain XMLs, console logs, the
nginx configuration, its pid and logs, fleet.json). replace destroys
member I (1..N) if it still runs and boots a new one from the same domain
XML, on the same ports, so nginx needs no change. down destroys and
undefines the domains, stops that nginx, stops the libvirt daemons this
command started once no domain is left, and checks that no port of the
fleet is still in use. Only 127.0.0.1 is used.

make monitor's Prometheus finds the members in
build/monitor/targets/fleet-NAME.json (file_sd: each member's HTTP port,
labels appliance=<domain> and fleet=NAME), which up writes as it defines
each member, replace rewrites and down removes.

Domains boot the kernel directly (libvirt <kernel> + <cmdline>: QEMU's
multiboot-1 loader; the image carries that header), or the GRUB disk
(--disk build/appliance.qcow2, make image) through a per-domain qcow2
overlay, with the command line that disk's grub.cfg holds.

Exit: 0 done, 1 failed (the reason on stderr), 3 usage."""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from xml.sax.saxutils import escape, quoteattr

from procs import pid_alive, read_pid, stop_pid

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
URI = "qemu:///system"
LIBVIRT_SOCK = "/run/libvirt/libvirt-sock"
VIRTLOGD_SOCK = "/run/libvirt/virtlogd-sock"
DAEMON_PIDFILE = {"virtlogd": "/run/virtlogd.pid", "libvirtd": "/run/libvirtd.pid"}
DAEMON_STOP_S = 15      # s after SIGTERM before SIGKILL
NGINX_STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"


class FleetError(Exception):
    pass


def log(msg):
    print("fleet: " + msg, flush=True)


def state_dir(name):
    return os.path.join(TOP, "build", "fleet", name)


def state_file(name):
    return os.path.join(state_dir(name), "fleet.json")


def targets_file(name):
    """The fleet's members for make monitor (tools/monitor.py)."""
    return os.path.join(TOP, "build", "monitor", "targets", "fleet-%s.json" % name)


def write_targets(st):
    """Every member defined now, as Prometheus file_sd target groups;
    written whole and renamed into place, so Prometheus never reads half
    a file."""
    groups = [dict(targets=["127.0.0.1:%d" % m["http"]],
                   labels=dict(appliance=m["domain"], fleet=st["name"], source="make fleet"))
              for m in st["members"] if m.get("defined")]
    path = targets_file(st["name"])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(groups, f, indent=1)
    os.replace(path + ".tmp", path)


def remove_targets(name):
    if os.path.exists(targets_file(name)):
        os.unlink(targets_file(name))


def virsh(*args, check=True, timeout=60):
    r = subprocess.run(["virsh", "-q", "-c", URI] + list(args), capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    if check and r.returncode != 0:
        raise FleetError("virsh %s: %s" % (" ".join(args), (r.stderr or r.stdout).strip()))
    return r


# ---- the libvirt daemons -------------------------------------------------

def sock_answers(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def ensure_daemons():
    """Starts virtlogd and libvirtd when their sockets do not answer (no
    systemd here to socket-activate them). Returns [(name, pid)] of the
    ones started."""
    started = []
    if os.geteuid() != 0:
        raise FleetError("needs root (qemu:///system)")
    for name, sock in (("virtlogd", VIRTLOGD_SOCK), ("libvirtd", LIBVIRT_SOCK)):
        if sock_answers(sock):
            continue
        os.makedirs("/var/log/libvirt/qemu", exist_ok=True)
        log("starting %s -d (none answers on %s)" % (name, sock))
        r = subprocess.run([name, "-d"], capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise FleetError("%s -d failed: %s" % (name, (r.stderr or r.stdout).strip()))
        deadline = time.monotonic() + 30
        while not sock_answers(sock):
            if time.monotonic() > deadline:
                raise FleetError("%s started but %s never answered; see /var/log/libvirt/%s.log"
                                 % (name, sock, name))
            time.sleep(0.1)
        started.append((name, read_pid(DAEMON_PIDFILE[name])))
    # libvirtd answers its socket before its QEMU driver is ready
    deadline = time.monotonic() + 30
    while virsh("version", check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise FleetError("libvirtd does not serve %s: %s" %
                             (URI, virsh("version", check=False).stderr.strip()))
        time.sleep(0.2)
    return started


# ---- domains ---------------------------------------------------------------

def accel():
    r = subprocess.run(["bash", os.path.join(TOP, "tools", "accel.sh")], capture_output=True,
                       text=True, timeout=120)
    if r.returncode != 0:
        raise FleetError("tools/accel.sh: " + r.stderr.strip())
    if r.stderr.strip():
        sys.stderr.write(r.stderr)
    return r.stdout.strip()


def mem_mib(mem):
    m = mem.strip().upper()
    mult = 1
    if m.endswith("G"):
        mult, m = 1024, m[:-1]
    elif m.endswith("M"):
        m = m[:-1]
    if not m.isdigit() or int(m) * mult < 2:
        raise FleetError("bad memory size %r (like 64M or 1G)" % mem)
    return int(m) * mult


def domain_xml(name, cpus, mem, kvm, udp_port, http_port, console, kernel=None, cmdline="",
               disk=None):
    """One appliance as a libvirt domain. The NIC is QEMU's own user
    networking with two host port forwards, passed as qemu:commandline:
    libvirt 9.0's <interface type='user'> only does port forwards with the
    passt backend, which Debian 12's libvirt refuses. Its PCI address is
    given (slot 2 of pcie.0, which nothing else takes: no balloon, no
    USB, no video)."""
    if kvm:
        dtype, cpu = "kvm", ("<cpu mode='host-passthrough' check='none'>"
                             "<feature policy='disable' name='arch-capabilities'/></cpu>")
    else:
        dtype, cpu = "qemu", ""
    if disk:
        boot = "<boot dev='hd'/>"
        disk_xml = ("<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
                    "<source file=%s/><target dev='sda' bus='sata'/></disk>" % quoteattr(disk))
    else:
        boot = "<kernel>%s</kernel>\n    <cmdline>%s</cmdline>" % (escape(kernel), escape(cmdline))
        disk_xml = ""
    netdev = ("user,id=fleetnet,hostfwd=udp:127.0.0.1:%d-:5555,hostfwd=tcp:127.0.0.1:%d-:80"
              % (udp_port, http_port))
    return """<domain type='{dtype}' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>{name}</name>
  <description>appliance fleet member (tools/fleet.py)</description>
  <memory unit='MiB'>{mem}</memory>
  <vcpu>{cpus}</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    {boot}
  </os>
  <features><acpi/><apic/></features>
  {cpu}
  <clock offset='utc'><timer name='hpet' present='no'/></clock>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    {disk}
    <serial type='file'><source path={console}/><target port='0'/></serial>
    <controller type='usb' model='none'/>
    <video><model type='none'/></video>
    <memballoon model='none'/>
  </devices>
  <qemu:commandline>
    <qemu:arg value='-netdev'/>
    <qemu:arg value={netdev}/>
    <qemu:arg value='-device'/>
    <qemu:arg value='virtio-net-pci,netdev=fleetnet,romfile=,bus=pcie.0,addr=0x2'/>
  </qemu:commandline>
</domain>
""".format(dtype=dtype, name=escape(name), mem=mem, cpus=cpus, boot=boot, cpu=cpu,
           disk=disk_xml, console=quoteattr(console), netdev=quoteattr(netdev))


def qemu_pid(domain):
    """The QEMU process libvirt started for a running domain."""
    return read_pid("/run/libvirt/qemu/%s.pid" % domain)


# ---- probes ------------------------------------------------------------------

def port_free(port, kind):
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def listening(ports_udp, ports_tcp):
    """Which of these ports something on the host still holds (ss)."""
    out = []
    for flag, ports, label in (("-uan", ports_udp, "udp"), ("-tln", ports_tcp, "tcp")):
        r = subprocess.run(["ss", "-H", flag], capture_output=True, text=True, timeout=10)
        for line in r.stdout.splitlines():
            f = line.split()
            if len(f) >= 4:
                local = f[3]
                try:
                    port = int(local.rsplit(":", 1)[1])
                except (ValueError, IndexError):
                    continue
                if port in ports:
                    out.append("%s/%d" % (label, port))
    return sorted(set(out))


def udp_answers(port, timeout=0.5):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(b"0 1", ("127.0.0.1", port))
        return s.recvfrom(512)[0]
    except OSError:
        return None
    finally:
        s.close()


def http_status(port, timeout=5):
    with urllib.request.urlopen("http://127.0.0.1:%d/api/status" % port, timeout=timeout) as r:
        return json.loads(r.read())


# ---- nginx ---------------------------------------------------------------------

def nginx_conf(d, members, front_udp, front_http):
    udp = "".join("        server 127.0.0.1:%d max_fails=1 fail_timeout=10s;\n" % m["udp"]
                  for m in members)
    http = "".join("        server 127.0.0.1:%d max_fails=1 fail_timeout=10s;\n" % m["http"]
                   for m in members)
    load = ""
    if os.path.exists(NGINX_STREAM_MODULE):
        load = "load_module %s;\n" % NGINX_STREAM_MODULE
    return """# written by tools/fleet.py: nginx in front of the fleet {d}
{load}worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log warn;
events {{ worker_connections 1024; }}

stream {{
    # one datagram, one session, one answer: each request is balanced
    # on its own, and a member that refuses (ICMP port unreachable, its
    # QEMU gone) is counted as failed and skipped for fail_timeout
    upstream fleet_udp {{
{udp}    }}
    server {{
        listen 127.0.0.1:{front_udp} udp;
        proxy_pass fleet_udp;
        proxy_requests 1;
        proxy_responses 1;
        proxy_timeout 120s;
    }}
}}

http {{
    access_log {d}/nginx-access.log;
    client_body_temp_path {d}/nginx-tmp/body;
    proxy_temp_path {d}/nginx-tmp/proxy;
    fastcgi_temp_path {d}/nginx-tmp/fastcgi;
    uwsgi_temp_path {d}/nginx-tmp/uwsgi;
    scgi_temp_path {d}/nginx-tmp/scgi;
    upstream fleet_http {{
{http}        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{front_http};
        location / {{
            proxy_pass http://fleet_http;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # passive health: a refused connect or a timeout moves the
            # request to the next member (a POST too, as it was not sent)
            proxy_next_upstream error timeout http_502 http_503;
            proxy_next_upstream_tries 0;
            proxy_connect_timeout 2s;
            # ?wait=1 holds the answer for up to 60 s (API.md)
            proxy_read_timeout 90s;
            proxy_buffering off;
        }}
    }}
}}
""".format(d=d, load=load, udp=udp, http=http, front_udp=front_udp, front_http=front_http)


def nginx_pids(d):
    """The master from the pid file, and its workers."""
    master = read_pid(os.path.join(d, "nginx.pid"))
    if not pid_alive(master):
        return []
    pids = [master]
    try:
        with open("/proc/%d/task/%d/children" % (master, master)) as f:
            pids += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return pids


# ---- commands ---------------------------------------------------------------

def cmd_up(a):
    d = state_dir(a.name)
    if os.path.exists(state_file(a.name)):
        raise FleetError("%s is already up (%s); `fleet.py down --name %s` first"
                         % (a.name, state_file(a.name), a.name))
    if not 1 <= a.n <= 64:
        raise FleetError("--n takes 1..64")
    mem = mem_mib(a.mem)
    kernel_src = os.path.join(TOP, "build", "appliance.elf")
    if not a.disk and not os.path.exists(kernel_src):
        raise FleetError("no %s: make all first" % kernel_src)
    if a.disk and not os.path.exists(a.disk):
        raise FleetError("no %s: make image first" % a.disk)
    members = [dict(domain="%s-%d" % (a.name, i + 1), udp=a.udp_base + i, http=a.http_base + i)
               for i in range(a.n)]
    if not shutil.which("nginx"):
        raise FleetError("no nginx: make fleet-deps")

    os.makedirs(d, exist_ok=True)
    st = dict(name=a.name, members=members, front_udp=a.front_udp, front_http=a.front_http,
              cpus=a.cpus, mem=mem, started_daemons=[], dir=d, disk=a.disk)
    # written first, so that a failed up can be taken down
    with open(state_file(a.name), "w") as f:
        json.dump(st, f, indent=1)
    st["started_daemons"] = ensure_daemons()
    save(st)
    for m in members:
        if virsh("domstate", m["domain"], check=False).returncode == 0:
            if not a.replace:
                raise FleetError("a domain %s exists already (not this fleet's): virsh "
                                 "undefine it, choose another --name, or --replace"
                                 % m["domain"])
            log("replacing the domain %s left from before" % m["domain"])
            pid = qemu_pid(m["domain"])
            virsh("destroy", m["domain"], check=False)
            virsh("undefine", m["domain"])
            deadline = time.monotonic() + 10
            while pid and pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
    busy = [p for p in [m["udp"] for m in members] + [a.front_udp]
            if not port_free(p, socket.SOCK_DGRAM)]
    busy += [p for p in [m["http"] for m in members] + [a.front_http]
             if not port_free(p, socket.SOCK_STREAM)]
    if busy:
        raise FleetError("ports in use on 127.0.0.1: %s (choose other bases/front ports)"
                         % ", ".join(map(str, busy)))
    kvm = accel() == "kvm"
    log("%d x -smp %d -m %dM, %s, %s" % (a.n, a.cpus, mem, "kvm" if kvm else "qemu (TCG)",
                                         ("disk " + a.disk) if a.disk else "direct kernel boot"))
    kernel = None
    if not a.disk:
        # the domains' own copy: libvirt relabels (chowns) what a domain
        # boots from while it runs, and build/appliance.elf stays ours
        kernel = os.path.join(d, "appliance.elf")
        shutil.copyfile(kernel_src, kernel)
    for m in members:
        disk = overlay(st, m)
        console = os.path.join(d, m["domain"] + ".console.log")
        xml = domain_xml(m["domain"], a.cpus, mem, kvm, m["udp"], m["http"], console,
                         kernel=kernel, cmdline=a.cmdline, disk=disk)
        with open(os.path.join(d, m["domain"] + ".xml"), "w") as f:
            f.write(xml)
        start_member(st, m)
    deadline = time.monotonic() + a.timeout
    for m in members:
        wait_member(st, m, deadline, a.timeout)

    os.makedirs(os.path.join(d, "nginx-tmp"), exist_ok=True)
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(nginx_conf(d, members, a.front_udp, a.front_http))
    for args in (["-t", "-q"], []):
        r = subprocess.run(["nginx", "-e", os.path.join(d, "nginx-error.log"), "-c", conf,
                            "-p", d + "/"] + args, capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise FleetError("nginx %s: %s" % (" ".join(args), (r.stderr or r.stdout).strip()))
    deadline = time.monotonic() + 10
    while not nginx_pids(d):
        if time.monotonic() > deadline:
            raise FleetError("nginx did not write %s/nginx.pid" % d)
        time.sleep(0.1)
    st["nginx_pid"] = nginx_pids(d)[0]
    save(st)
    log("nginx (pid %d): udp 127.0.0.1:%d and http 127.0.0.1:%d over %d appliances"
        % (st["nginx_pid"], a.front_udp, a.front_http, len(members)))
    log("try: curl -s -d '{\"limit\":1000000,\"tasks\":%d}' 'localhost:%d/api/jobs?wait=1'"
        % (len(members), a.front_http))
    return 0


def overlay(st, m):
    """A fresh qcow2 overlay over the fleet's disk for member m, or None
    when the fleet boots the kernel."""
    if not st.get("disk"):
        return None
    disk = os.path.join(st["dir"], m["domain"] + ".qcow2")
    if os.path.exists(disk):
        os.unlink(disk)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b",
                    st["disk"], disk], check=True, timeout=60)
    return disk


def start_member(st, m):
    """Defines and starts m from its domain XML in the fleet's folder."""
    virsh("define", os.path.join(st["dir"], m["domain"] + ".xml"))
    m["defined"] = True
    save(st)
    write_targets(st)
    virsh("start", m["domain"])
    log("started %s: udp 127.0.0.1:%d, http 127.0.0.1:%d, console %s"
        % (m["domain"], m["udp"], m["http"],
           os.path.join(st["dir"], m["domain"] + ".console.log")))


def wait_member(st, m, deadline, timeout):
    console = os.path.join(st["dir"], m["domain"] + ".console.log")
    while udp_answers(m["udp"]) is None:
        if time.monotonic() > deadline:
            raise FleetError("%s never answered UDP on %d within %d s; console %s"
                             % (m["domain"], m["udp"], timeout, console))
        if virsh("domstate", m["domain"], check=False).stdout.strip() != "running":
            raise FleetError("%s stopped; console %s" % (m["domain"], console))
        time.sleep(0.2)
    log("%s answers UDP" % m["domain"])


def destroy_member(m):
    """Destroys (if running) and undefines m's domain; waits for its QEMU
    to go, so that its ports are free again."""
    pid = qemu_pid(m["domain"])
    virsh("destroy", m["domain"], check=False)
    r = virsh("undefine", m["domain"], check=False)
    if pid:
        deadline = time.monotonic() + 10
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
    return r


def cmd_replace(a):
    st = load(a.name)
    if not st:
        raise FleetError("%s is not up (no %s)" % (a.name, state_file(a.name)))
    if not 1 <= a.member <= len(st["members"]):
        raise FleetError("--member takes 1..%d" % len(st["members"]))
    m = st["members"][a.member - 1]
    st["started_daemons"] = st.get("started_daemons", []) + ensure_daemons()
    save(st)
    if virsh("domstate", m["domain"], check=False).returncode == 0:
        log("replacing %s (%s)" % (m["domain"], virsh("domstate", m["domain"]).stdout.strip()))
        r = destroy_member(m)
        if r.returncode != 0:
            raise FleetError("undefine %s: %s" % (m["domain"], r.stderr.strip()))
    m["defined"] = False
    save(st)
    write_targets(st)
    busy = [p for p, kind in ((m["udp"], socket.SOCK_DGRAM), (m["http"], socket.SOCK_STREAM))
            if not port_free(p, kind)]
    if busy:
        raise FleetError("the member's ports are held by something else: %s"
                         % ", ".join(map(str, busy)))
    overlay(st, m)
    t0 = time.monotonic()
    start_member(st, m)
    wait_member(st, m, t0 + a.timeout, a.timeout)
    log("%s replaced in %.1f s; nginx balances over it again once its fail_timeout "
        "(10 s) has passed" % (m["domain"], time.monotonic() - t0))
    return 0


def save(st):
    with open(state_file(st["name"]), "w") as f:
        json.dump(st, f, indent=1)


def load(name):
    try:
        with open(state_file(name)) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def cmd_status(a):
    st = load(a.name)
    if not st:
        log("%s is not up (no %s)" % (a.name, state_file(a.name)))
        return 1
    bad = 0
    pids = nginx_pids(st["dir"])
    log("nginx: %s; front udp 127.0.0.1:%d, http 127.0.0.1:%d" % (
        ("pid %d" % pids[0]) if pids else "NOT RUNNING", st["front_udp"], st["front_http"]))
    bad += not pids
    for m in st["members"]:
        state = virsh("domstate", m["domain"], check=False).stdout.strip() or "undefined"
        ans = udp_answers(m["udp"], 2) if state == "running" else None
        log("%-24s %-10s pid %-7s udp %d %-9s http %d" % (
            m["domain"], state, qemu_pid(m["domain"]) if state == "running" else "-", m["udp"],
            "answers" if ans else "SILENT", m["http"]))
        bad += ans is None
    primectl = os.path.join(TOP, "build", "primectl")
    if os.path.exists(primectl):
        subprocess.run([primectl, "status"] + ["127.0.0.1:%d" % m["http"] for m in st["members"]],
                       timeout=60)
    return 1 if bad else 0


def cmd_down(a):
    st = load(a.name)
    if not st:
        log("%s is not up (no %s): nothing to do" % (a.name, state_file(a.name)))
        return 0
    d = st["dir"]
    problems = []
    pids = nginx_pids(d)
    if pids:
        os.kill(pids[0], signal.SIGQUIT)      # graceful: finish open requests
        deadline = time.monotonic() + 10
        while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        for p in pids:
            if pid_alive(p):
                os.kill(p, signal.SIGKILL)
        log("nginx stopped")
    if not sock_answers(LIBVIRT_SOCK) and any(m.get("defined") for m in st["members"]):
        # its domains are still defined (libvirt keeps them in
        # /etc/libvirt/qemu): start the daemons to undefine them
        st["started_daemons"] = st.get("started_daemons", []) + ensure_daemons()
        save(st)
    if sock_answers(LIBVIRT_SOCK):
        for m in st["members"]:
            # only what this fleet defined: a failed up may have met a
            # foreign domain of the same name and left it alone
            if not m.get("defined") or \
                    virsh("domstate", m["domain"], check=False).returncode != 0:
                continue
            r = destroy_member(m)
            if r.returncode != 0:
                problems.append("undefine %s: %s" % (m["domain"], r.stderr.strip()))
            log("%s destroyed and undefined" % m["domain"])
        left = virsh("list", "--all", "--name", check=False).stdout.split()
        for name, pid in st.get("started_daemons", []):
            if left:
                log("leaving %s (pid %s) running: other domains remain (%s)"
                    % (name, pid, ", ".join(left)))
                continue
            if stop_pid(pid, name, DAEMON_STOP_S, log):
                log("%s (pid %s) stopped" % (name, pid))
    for m in st["members"]:
        disk = os.path.join(d, m["domain"] + ".qcow2")
        if os.path.exists(disk):
            os.unlink(disk)
    remove_targets(a.name)
    if problems:
        for p in problems:
            log("down: " + p)
        return 1
    # all this fleet made is gone: a port still held is someone else's
    # (or a process that would not die), reported but no reason to keep
    # the record
    os.unlink(state_file(a.name))
    held = listening([m["udp"] for m in st["members"]] + [st["front_udp"]],
                     [m["http"] for m in st["members"]] + [st["front_http"]])
    if held:
        log("down: ports of the fleet still in use: " + ", ".join(held))
        return 1
    log("%s is down: no domain, no nginx, no port left" % a.name)
    return 0


def cmd_xml(a):
    d = state_dir(a.name)
    sys.stdout.write(domain_xml("%s-1" % a.name, a.cpus, mem_mib(a.mem), accel() == "kvm",
                                a.udp_base, a.http_base, os.path.join(d, a.name + "-1.console.log"),
                                kernel=os.path.join(TOP, "build", "appliance.elf"),
                                cmdline=a.cmdline, disk=a.disk))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["up", "status", "replace", "down", "xml"])
    ap.add_argument("--name", default="appliance-fleet",
                    help="domain prefix and state folder build/fleet/NAME")
    ap.add_argument("--n", type=int, default=3)
    ap.add_argument("--cpus", type=int, default=1)
    ap.add_argument("--mem", default="64M")
    ap.add_argument("--udp-base", type=int, default=15551)
    ap.add_argument("--http-base", type=int, default=18081)
    ap.add_argument("--front-udp", type=int, default=5555)
    ap.add_argument("--front-http", type=int, default=8080)
    ap.add_argument("--disk", help="boot this GRUB qcow2 (make image) instead of the kernel")
    ap.add_argument("--cmdline", default="", help="kernel command line (direct kernel boot)")
    ap.add_argument("--timeout", type=int, default=180, help="seconds for all to answer UDP")
    ap.add_argument("--member", type=int, help="replace: which member, 1..N")
    ap.add_argument("--replace", action="store_true",
                    help="up: destroy and undefine domains of these names left from before")
    a = ap.parse_args()
    if a.disk:
        a.disk = os.path.abspath(a.disk)
        if a.cmdline:
            ap.error("--cmdline is for direct kernel boot; a disk's command line is in its "
                     "grub.cfg (tools/mkdisk.py --set-cmdline)")
    try:
        if a.command == "replace" and a.member is None:
            ap.error("replace needs --member I")
        return dict(up=cmd_up, status=cmd_status, replace=cmd_replace, down=cmd_down,
                    xml=cmd_xml)[a.command](a)
    except (FleetError, subprocess.SubprocessError, OSError) as e:
        print("fleet: %s" % e, file=sys.stderr)
        if a.command == "up" and os.path.exists(state_file(a.name)):
            print("fleet: `%s down --name %s` removes what was made" % (sys.argv[0], a.name),
                  file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
