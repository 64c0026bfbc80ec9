#!/usr/bin/env bash
# make run: boot the appliance image in QEMU with the serial console on this
# terminal. Usage: tools/run.sh CPUS MEM ISO. Ctrl-A X quits.
# QEMU=10 runs QEMU 10 from bookworm-backports (tools/qemu10.sh unpacks it
# under build/) with -cpu max (x2APIC under TCG); more than 255 CPUs need
# it (and get it without asking) and get q35 with an Intel IOMMU
# (interrupt remapping, x2APIC mode) and SMM off (tests/qemu/vm.py says why).
set -euo pipefail
cpus=${1:-4}
mem=${2:-64M}
iso=${3:-build/appliance.iso}
top=$(cd "$(dirname "$0")/.." && pwd)
udp_port=${UDP_PORT:-5555}
http_port=${HTTP_PORT:-8080}

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
echo "run: try  echo \"1000000 8\" | nc -u -w3 127.0.0.1 $udp_port   (Ctrl-A X quits QEMU)"
# hpet=off and -nodefaults: no device that ticks on its own (README.md).
exec "$qemu" "${machine[@]}" "${accel_args[@]}" -smp "$cpus" -m "$mem" \
	-nodefaults -no-user-config -display none -vga none -no-reboot \
	-serial mon:stdio -cdrom "$iso" \
	-netdev "user,id=n0,hostfwd=udp:127.0.0.1:$udp_port-:5555,hostfwd=tcp:127.0.0.1:$http_port-:80" \
	-device virtio-net-pci,netdev=n0,romfile=
