#!/usr/bin/env bash
# Prints the QEMU accelerator to use: "kvm" when /dev/kvm exists and a
# guest really runs on it (some hosts expose a /dev/kvm that cannot run
# a guest at a useful speed), else "tcg". ACCEL=kvm|tcg overrides. The
# probe result is cached for this host boot in build/.
set -euo pipefail
if [ -n "${ACCEL:-}" ]; then echo "$ACCEL"; exit 0; fi
top=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then echo tcg; exit 0; fi
boot_id=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
cache="$top/build/.accel-$boot_id"
if [ -f "$cache" ]; then cat "$cache"; exit 0; fi
elf="$top/build/appliance.elf"
result=tcg
if [ -f "$elf" ]; then
	log=$(mktemp)
	qemu-system-x86_64 -machine pc -accel kvm -smp 1 -m 32M -nodefaults -no-user-config \
		-display none -vga none -serial "file:$log" -no-reboot -kernel "$elf" \
		>/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 30); do
		grep -q "cores online" "$log" 2>/dev/null && { result=kvm; break; }
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	kill $pid 2>/dev/null || true
	wait $pid 2>/dev/null || true
	rm -f "$log"
fi
mkdir -p "$top/build"
echo "$result" >"$cache"
echo "$result"
