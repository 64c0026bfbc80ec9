#!/usr/bin/env bash
# make run: boot the appliance image in QEMU with the serial console on this
# terminal. Usage: tools/run.sh CPUS MEM ISO. Ctrl-A X quits.
set -euo pipefail
cpus=${1:-4}
mem=${2:-64M}
iso=${3:-build/appliance.iso}
top=$(cd "$(dirname "$0")/.." && pwd)
udp_port=${UDP_PORT:-5555}
http_port=${HTTP_PORT:-8080}

accel=$(bash "$top/tools/accel.sh")
if [ "$accel" = kvm ]; then
	accel_args=(-accel kvm -cpu host)
	echo "run: /dev/kvm is usable: -accel kvm"
else
	accel_args=(-accel tcg,thread=multi)
	echo "run: no usable /dev/kvm: -accel tcg,thread=multi (software emulation)"
fi
echo "run: -smp $cpus -m $mem; forwarding 127.0.0.1:$udp_port/udp -> guest 5555, 127.0.0.1:$http_port/tcp -> guest 80"
echo "run: try  echo \"1000000 8\" | nc -u -w3 127.0.0.1 $udp_port   (Ctrl-A X quits QEMU)"
# hpet=off and -nodefaults: no device that ticks on its own (README.md).
exec qemu-system-x86_64 -machine pc,hpet=off "${accel_args[@]}" -smp "$cpus" -m "$mem" \
	-nodefaults -no-user-config -display none -vga none -no-reboot \
	-serial mon:stdio -cdrom "$iso" \
	-netdev "user,id=n0,hostfwd=udp:127.0.0.1:$udp_port-:5555,hostfwd=tcp:127.0.0.1:$http_port-:80" \
	-device virtio-net-pci,netdev=n0,romfile=
