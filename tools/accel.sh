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
		# max_job_s= makes the product time one core at boot (about
		# 6 x 10^6 trial divisions, twice) and print what the primes
		# below 10^7 would take on it: the probe reads that line.
		qemu-system-x86_64 -machine pc -accel kvm -cpu "$KVM_CPU" -smp 1 -m 32M -nodefaults \
			-no-user-config -display none -vga none -serial "file:$log" -no-reboot \
			-kernel "$elf" -append max_job_s=1000000 >/dev/null 2>"$err" &
		pid=$!
		for _ in $(seq 100); do
			grep -q "^jobs: max_job_s=" "$log" 2>/dev/null && { result=kvm; break; }
			kill -0 $pid 2>/dev/null || break
			sleep 0.1
		done
		kill $pid 2>/dev/null || true
		wait $pid 2>/dev/null || true
		# A CPU takes about 3 s for the primes below 10^7, TCG about 5
		# s; a KVM that needs more than 200 s (seen under nested
		# virtualization) is far slower than emulation: say so, use TCG.
		ms=$(sed -n 's/^jobs: max_job_s=.* in about \([0-9]*\) ms.*/\1/p' "$log" | head -n1)
		if [ $result = kvm ] && [ "${ms:-0}" -gt 200000 ]; then
			result=tcg
			reason="KVM runs the guest, but one core would take $((ms / 1000)) s for the"
			reason+=" primes below 10^7 (about 3 s expected): nested virtualization?"
		elif [ $result = tcg ] && grep -q "^cores online" "$log" 2>/dev/null; then
			reason="KVM runs the guest, but it did not time one core within 10 s"
			reason+=" (well under 1 s expected): nested virtualization?"
		elif [ $result = tcg ]; then
			console=$(tail -n 3 "$log" | tr '\n' '|')
			qerr=$(tail -n 3 "$err" | tr '\n' '|')
			reason="the probe guest did not boot within 10 s under KVM;"
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
