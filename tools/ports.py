#!/usr/bin/env python3
"""ports.py - are the host ports a command will forward free? (make run)

  ports.py "make run" udp:UDP_PORT=5555 tcp:HTTP_PORT=8080 ...

Each argument is a protocol, the variable that sets the port and the port.
For each one that cannot be bound on 127.0.0.1 it prints one line naming
the port, who holds it (from ss, when it can tell) and the command with
the variable set to a free port, for example

  port 8080/tcp is busy (nginx, pid 4242): make run HTTP_PORT=8081

and exits 1; 0 when all are free, 3 on bad usage.

The test is the bind QEMU's user networking will do: TCP with
SO_REUSEADDR, as slirp binds its forwards (a port left in TIME_WAIT is
free, one with a listener is not), UDP without it (any socket bound to the
port would share or steal the datagrams)."""

import re
import socket
import subprocess
import sys

HOST = "127.0.0.1"
SEARCH = 200        # ports tried above a busy one for a free alternative
KINDS = {"tcp": socket.SOCK_STREAM, "udp": socket.SOCK_DGRAM}


def port_free(proto, port):
    s = socket.socket(socket.AF_INET, KINDS[proto])
    try:
        if proto == "tcp":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((HOST, port))
        if proto == "tcp":
            s.listen(1)
        return True
    except OSError:
        return False
    finally:
        s.close()


def holder(proto, port):
    """'name, pid N' of a process holding the port, as ss -p tells (root
    sees every process; others only their own), or None."""
    flags = "-Htlnp" if proto == "tcp" else "-Huanp"
    try:
        r = subprocess.run(["ss", flags, "sport = :%d" % port], capture_output=True, text=True,
                           timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r'users:\(\("([^"]+)",pid=(\d+)', r.stdout)
    return "%s, pid %s" % (m.group(1), m.group(2)) if m else None


def parse(arg):
    m = re.fullmatch(r"(tcp|udp):([A-Z_][A-Z0-9_]*)=(\d+)", arg)
    if not m or not 1 <= int(m.group(3)) <= 65535:
        raise ValueError("%r: want tcp:VAR=PORT or udp:VAR=PORT" % arg)
    return m.group(1), m.group(2), int(m.group(3))


def busy_line(how, proto, var, port, taken=()):
    """The line that names a busy port, its holder and the command with
    var set to a free port (none of taken): (line, that port or None)."""
    who = holder(proto, port)
    alt = next((p for p in range(port + 1, min(port + SEARCH, 65536))
                if (proto, p) not in taken and port_free(proto, p)), None)
    fix = "%s %s=%d" % (how, var, alt) if alt else "set %s to a free port" % var
    return "port %d/%s is busy%s: %s" % (port, proto, " (%s)" % who if who else "", fix), alt


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 3
    how = argv[0]
    try:
        wanted = [parse(a) for a in argv[1:]]
    except ValueError as e:
        print("ports: %s" % e, file=sys.stderr)
        return 3
    taken = {(proto, port) for proto, _, port in wanted}
    busy = 0
    for proto, var, port in wanted:
        if port_free(proto, port):
            continue
        busy += 1
        line, alt = busy_line(how, proto, var, port, taken)
        print(line, file=sys.stderr)
        if alt:
            taken.add((proto, alt))
    return 1 if busy else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
