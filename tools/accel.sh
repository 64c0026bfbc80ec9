#!/usr/bin/env bash
# Prints the QEMU accelerator to use: "kvm" when /dev/kvm exists and a
# guest really runs on it, else "tcg". Where /dev/kvm exists but the probe
# guest does not get to "cores online" under KVM, it says so on stderr,
# with what the guest's console and QEMU printed, and uses TCG: never a
# quiet fallback. ACCEL=tcg forces TCG; ACCEL=kvm fails with the reason when
# KVM cannot run the guest. The probe result is cached for this host boot
# in build/.
set -euo pipefail
# -cpu host, less the IA32_ARCH_CAPABILITIES MSR: some nested hosts refuse
# to set it ("failed to set MSR 0x10a") and QEMU aborts; nothing here reads it.
KVM_CPU=host,-arch-capabilities
top=$(cd "$(dirname "$0")/.." && pwd)
want=${ACCEL:-}
case "$want" in
""|kvm|tcg) ;;
*) echo "accel: ACCEL=kvm or ACCEL=tcg, not '$want'" >&2; exit 1 ;;
esac
if [ "$want" = tcg ]; then echo tcg; exit 0; fi
if [ ! -e /dev/kvm ]; then
	[ "$want" = kvm ] && { echo "accel: ACCEL=kvm, but this host has no /dev/kvm" >&2; exit 1; }
	echo tcg; exit 0
fi
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "accel: /dev/kvm exists but $(id -un) cannot open it read-write (add the user to group kvm)" >&2
	[ "$want" = kvm ] && exit 1
	echo tcg; exit 0
fi
boot_id=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
cache="$top/build/.accel-$boot_id"
reason_file="$cache.reason"
if [ ! -f "$cache" ]; then
	elf="$top/build/appliance.elf"
	result=tcg
	reason="no kernel image to probe with (build/appliance.elf)"
	if [ -f "$elf" ]; then
		log=$(mktemp)
		err=$(mktemp)
		qemu-system-x86_64 -machine pc -accel kvm -cpu "$KVM_CPU" -smp 1 -m 32M -nodefaults \
			-no-user-config -display none -vga none -serial "file:$log" -no-reboot \
			-kernel "$elf" -append test_speed=1 >/dev/null 2>"$err" &
		pid=$!
		for _ in $(seq 50); do
			grep -q "^speed: " "$log" 2>/dev/null && { result=kvm; break; }
			kill -0 $pid 2>/dev/null || break
			sleep 0.1
		done
		kill $pid 2>/dev/null || true
		wait $pid 2>/dev/null || true
		# 20000 takes well under a millisecond on a CPU, a few under
		# TCG; a KVM that needs more than 50 ms (seen under nested
		# virtualization) is slower than emulation: say so, use TCG.
		us=$(sed -n 's/^speed: .* in \([0-9]*\) us.*/\1/p' "$log" | head -n1)
		if [ $result = kvm ] && [ "${us:-0}" -gt 50000 ]; then
			result=tcg
			reason="KVM runs the guest, but about $((us / 300))x slower than a CPU"
			reason+=" (20000 primes in $us us; under 1 ms expected): nested virtualization?"
		elif [ $result = tcg ]; then
			console=$(tail -n 3 "$log" | tr '\n' '|')
			qerr=$(tail -n 3 "$err" | tr '\n' '|')
			reason="the probe guest did not boot within 5 s under KVM;"
			reason+=" console: ${console:-(nothing: the firmware never handed over)};"
			reason+=" qemu: ${qerr:-(no message)}"
		fi
		rm -f "$log" "$err"
	fi
	mkdir -p "$top/build"
	echo "$result" >"$cache"
	echo "${reason}" >"$reason_file"
fi
result=$(cat "$cache")
if [ "$result" = tcg ]; then
	if [ "$want" = kvm ]; then
		echo "accel: ACCEL=kvm, but KVM cannot run the guest here: $(cat "$reason_file" 2>/dev/null)" >&2
		exit 1
	fi
	echo "accel: WARNING: /dev/kvm is present but unusable: $(cat "$reason_file" 2>/dev/null)" >&2
	echo "accel: using TCG (software emulation); ACCEL=kvm would fail, ACCEL=tcg silences this" >&2
fi
echo "$result"
