#!/usr/bin/env bash
# linux_vm_check.sh - checks the Linux baselines of the benchmark against
# API.md section 2: bench/linux_server natively on 127.0.0.1 (--threads 2,
# --procs 2), then inside the Linux VM of bench/linux_vm.sh under QEMU/TCG
# with -smp 2 (server=threads, server=procs).
#
#   bash bench/linux_vm_check.sh [--timings]
#
# --timings also sends "5000000 1" and "5000000 4" and prints their us=.
# Exit status 0 only when every reply was right. Every wait is bounded.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$ROOT/build/bench/linuxvm
BOOT_TIMEOUT=120        # seconds from QEMU start to the ready line
REPLY_TIMEOUT=60        # seconds for one reply (TCG is slow)
TIMINGS=0
[[ ${1:-} == --timings ]] && TIMINGS=1

PIDS=()
TMP=$(mktemp -d)
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

FAILS=0
fail() {
	echo "FAIL: $*"
	FAILS=$((FAILS + 1))
}

bash "$ROOT/bench/linux_vm.sh"

free_port() {
	python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ask PORT REQUEST: prints the one reply, or nothing after REPLY_TIMEOUT.
ask() {
	python3 - "$1" "$2" "$REPLY_TIMEOUT" <<'EOF'
import socket, sys
port, req, timeout = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(timeout)
s.sendto(req.encode() + b"\n", ("127.0.0.1", port))
try:
    print(s.recv(2048).decode(errors="replace").rstrip("\n"))
except socket.timeout:
    pass
EOF
}

# expect WHAT PORT REQUEST PATTERN: the reply must match the extended regex.
expect() {
	local what=$1 port=$2 req=$3 pattern=$4 reply
	reply=$(ask "$port" "$req")
	if [[ $reply =~ $pattern ]]; then
		echo "ok   $what: '$req' -> $reply"
	else
		fail "$what: '$req' -> '${reply:-no reply}', wanted /$pattern/"
	fi
}

# requests WHAT PORT CORES: the checks every server must pass.
requests() {
	local what=$1 port=$2 cores=$3
	local tail=" cores=$cores us=[0-9]+$"
	expect "$what" "$port" "1000000 4" "^313992 tasks=4 mode=repeat$tail"
	expect "$what" "$port" "100 2 split" "^25 tasks=2 mode=split$tail"
	expect "$what" "$port" "12x" "^ERR [a-z ]+$"
	if ((TIMINGS)); then
		expect "$what" "$port" "5000000 1" "^348513 tasks=1 mode=repeat$tail"
		expect "$what" "$port" "5000000 4" "^1394052 tasks=4 mode=repeat$tail"
	fi
}

# wait_ready LOG PID SECONDS: until LOG has the ready line; false if PID
# died or time ran out.
wait_ready() {
	local log=$1 pid=$2 deadline=$((SECONDS + $3))
	while ((SECONDS < deadline)); do
		grep -q '^linux-server: ready' "$log" && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# ---- natively on the host ----
for mode in threads procs; do
	port=$(free_port)
	log=$TMP/native-$mode.log
	"$OUT/linux_server" --bind 127.0.0.1 --port "$port" --"$mode" 2 >"$log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	if wait_ready "$log" "$pid" 10; then
		requests "native $mode" "$port" "$(nproc)"
	else
		fail "native $mode: no ready line"
		cat "$log"
	fi
	kill "$pid"
	wait "$pid" 2>/dev/null || true
done

# ---- in the VM ----
for mode in threads procs; do
	port=$(free_port)
	log=$TMP/vm-$mode.log
	start=$(date +%s%N)
	qemu-system-x86_64 -machine pc,hpet=off -accel tcg,thread=multi -smp 2 -m 256M \
		-nodefaults -no-user-config -display none -vga none -serial stdio -no-reboot \
		-kernel "$OUT/vmlinuz" -initrd "$OUT/initramfs.gz" \
		-append "console=ttyS0 quiet server=$mode" \
		-netdev "user,id=n0,hostfwd=udp:127.0.0.1:$port-:5555" \
		-device virtio-net-pci,netdev=n0 </dev/null >"$log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	if wait_ready "$log" "$pid" "$BOOT_TIMEOUT"; then
		echo "ok   vm $mode: ready $(( ($(date +%s%N) - start) / 1000000 )) ms after QEMU start"
		grep -q "mode=$mode workers=2" "$log" || fail "vm $mode: $(grep '^linux-server: ready' "$log")"
		requests "vm $mode" "$port" 2
	else
		fail "vm $mode: no ready line within $BOOT_TIMEOUT s; serial log:"
		cat "$log"
	fi
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
done

if ((FAILS)); then
	echo "linux_vm_check: $FAILS failure(s)"
	exit 1
fi
echo "linux_vm_check: all passed"
