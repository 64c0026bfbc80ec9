#!/usr/bin/env bash
# make run: boot the appliance image in QEMU with the serial console on this
# terminal. Usage: tools/run.sh CPUS MEM ISO. Ctrl-A X quits.
# tools/run.sh --check-ports only checks that the host ports are free.
# UDP_PORT (5555) and HTTP_PORT (8080) are the host ports forwarded to the
# guest's 5555/udp and 80/tcp, on 127.0.0.1; a busy one stops the run
# before QEMU starts, naming the variable to change (tools/ports.py).
# While QEMU runs, build/monitor/targets/run-HTTP_PORT.json names the
# appliance for `make monitor` (Prometheus file_sd); it goes when QEMU does.
# QEMU=10 runs QEMU 10 from bookworm-backports (tools/qemu10.sh unpacks it
# under build/) with -cpu max (x2APIC under TCG); more than 255 CPUs need
# it (and get it without asking) and get q35 with an Intel IOMMU
# (interrupt remapping, x2APIC mode) and SMM off (tests/qemu/vm.py says why).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
udp_port=${UDP_PORT:-5555}
http_port=${HTTP_PORT:-8080}
check_ports() {
	python3 "$top/tools/ports.py" "make run" "udp:UDP_PORT=$udp_port" "tcp:HTTP_PORT=$http_port"
}
if [ "${1:-}" = --check-ports ]; then
	check_ports
	exit
fi
cpus=${1:-4}
mem=${2:-64M}
iso=${3:-build/appliance.iso}
READY_WAIT=600      # s: how long the ready message waits for the appliance's HTTP

qemu=qemu-system-x86_64
machine=(-machine "${MACHINE:-q35},hpet=off")     # MACHINE=pc: the i440FX one
want=${QEMU:-}
[ -n "$want" ] || { [ "$cpus" -gt 255 ] && want=10 || want=7.2; }
case "$want" in
7.2) ;;
10) qemu=$(bash "$top/tools/qemu10.sh") ;;
*) echo "run: QEMU=7.2 or QEMU=10, not ${QEMU}" >&2; exit 1 ;;
esac
if [ "$cpus" -gt 255 ]; then
	[ "$qemu" != qemu-system-x86_64 ] || { echo "run: more than 255 CPUs need QEMU=10" >&2; exit 1; }
	machine=(-machine q35,hpet=off,smm=off -device intel-iommu,intremap=on,eim=on)
fi

accel=$(bash "$top/tools/accel.sh")
if [ "$accel" = kvm ]; then
	accel_args=(-accel kvm -cpu host,-arch-capabilities)     # tools/accel.sh says why
	# intremap under KVM needs the IOAPIC in QEMU
	[ "$cpus" -le 255 ] || machine[1]+=,kernel-irqchip=split
	echo "run: /dev/kvm is usable: -accel kvm"
else
	accel_args=(-accel tcg,thread=multi)
	[ "$qemu" = qemu-system-x86_64 ] || accel_args+=(-cpu max)
	echo "run: no usable /dev/kvm: -accel tcg,thread=multi (software emulation)"
fi
echo "run: $("$qemu" --version | head -n1)"
echo "run: -smp $cpus -m $mem; forwarding 127.0.0.1:$udp_port/udp -> guest 5555, 127.0.0.1:$http_port/tcp -> guest 80"
# The host ports again, right before QEMU binds them: the build may have
# taken a while.
check_ports || exit 1

# The appliance for make monitor (Prometheus file_sd), while QEMU runs.
target_dir="$top/build/monitor/targets"
target="$target_dir/run-$http_port.json"
mkdir -p "$target_dir"
printf '[{"targets": ["127.0.0.1:%s"], "labels": {"appliance": "run-%s", "source": "make run"}}]\n' \
	"$http_port" "$http_port" >"$target.tmp"
mv "$target.tmp" "$target"

qemu_pid=
watch_pid=
cleanup() {
	[ -z "$watch_pid" ] || kill "$watch_pid" 2>/dev/null || true
	[ -z "$qemu_pid" ] || kill "$qemu_pid" 2>/dev/null || true
	rm -f "$target"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# Once the appliance answers HTTP: where to look and what to type, with the
# ports in use. QEMU has the terminal in raw mode, hence the \r.
ready_message() {
	local url="http://localhost:$http_port"
	local deadline=$((SECONDS + READY_WAIT))
	while [ $SECONDS -lt $deadline ] && kill -0 "$qemu_pid" 2>/dev/null; do
		if curl -sf -o /dev/null -m 2 "$url/api/status"; then
			printf '\r\nrun: ready. The dashboard: %s/\r\n' "$url"
			printf 'run: try  echo "1000000 8" | nc -u -w3 127.0.0.1 %s\r\n' "$udp_port"
			printf "run:      curl -s -d '{\"limit\":1000000,\"tasks\":8}' '%s/api/jobs?wait=1'\r\n" \
				"localhost:$http_port"
			printf 'run:      curl -s localhost:%s/metrics\r\n' "$http_port"
			printf 'run:      make monitor    (Prometheus scraping this appliance; make monitor-stop)\r\n'
			printf 'run: Ctrl-A X quits QEMU\r\n'
			return
		fi
		sleep 0.5
	done
}

echo "run: Ctrl-A X quits QEMU; the commands to try follow once the appliance answers"
# hpet=off and -nodefaults: no device that ticks on its own (README.md).
# QEMU runs as a child (its stdin the terminal), so that the target file
# and the ready message's loop go with it, whatever ends the run.
"$qemu" "${machine[@]}" "${accel_args[@]}" -smp "$cpus" -m "$mem" \
	-nodefaults -no-user-config -display none -vga none -no-reboot \
	-serial mon:stdio -cdrom "$iso" \
	-netdev "user,id=n0,hostfwd=udp:127.0.0.1:$udp_port-:5555,hostfwd=tcp:127.0.0.1:$http_port-:80" \
	-device virtio-net-pci,netdev=n0,romfile= <&0 &
qemu_pid=$!
ready_message &
watch_pid=$!
rc=0
wait "$qemu_pid" || rc=$?
qemu_pid=
exit $rc
