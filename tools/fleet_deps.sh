#!/usr/bin/env bash
# Installs what the fleet needs (tools/fleet.py, make image, test_fleet,
# make bench): libvirt's daemon with its QEMU driver and virsh, nginx
# with the stream module (UDP balancing), qemu-img; and what watching
# appliances needs (make monitor, tools/monitor.py): Debian's prometheus,
# with promtool. Kept apart from tools/deps.sh so that `make run` does not
# pull libvirt or Prometheus in. `fleet_deps.sh monitor` installs only
# the monitoring part (make monitor).
#
# Only the minimal libvirt set, without recommends: libvirt-daemon-system
# would add polkit, firewalld or iptables, dnsmasq and the init scripts,
# none of which a fleet on user networking uses. nginx's postinst starts
# the packaged nginx through invoke-rc.d (port 80, /etc/nginx) on a machine
# without systemd; a policy-rc.d that answers 101 ("action forbidden")
# keeps it from doing so during this one apt run, and is removed after.
# The fleet starts its own nginx and libvirtd (tools/fleet.py). Prometheus's
# postinst would likewise start Debian's Prometheus (port 9090,
# /var/lib/prometheus) and its recommended node exporter is not wanted:
# make monitor runs its own, on its own folder and port.
set -euo pipefail

monitor_pkgs=(prometheus)
case "${1:-all}" in
all) pkgs=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
           nginx libnginx-mod-stream qemu-utils qemu-system-x86 iproute2
           "${monitor_pkgs[@]}") ;;
monitor) pkgs=("${monitor_pkgs[@]}") ;;
*) echo "usage: fleet_deps.sh [all|monitor]" >&2; exit 3 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
if [ "$(id -u)" != 0 ]; then
	[ ${#missing[@]} -eq 0 ] || {
		echo "fleet-deps: missing ${missing[*]}: run \`sudo make fleet-deps\` once" >&2
		exit 1
	}
	exit 0
fi

# What libvirt-daemon-system's postinst would have made, and libvirtd's
# QEMU driver cannot start without: the user its QEMUs run as (its
# built-in default, as Debian's postinst makes it: system user, group kvm,
# plus its own group) and the log folder libvirtd and virtlogd write to.
setup_libvirt() {
	[ "${1:-all}" = all ] || return 0
	getent group kvm >/dev/null || addgroup --quiet --system kvm
	getent passwd libvirt-qemu >/dev/null ||
		adduser --quiet --system --ingroup kvm --disabled-login --disabled-password \
			--home /var/lib/libvirt --no-create-home --gecos "Libvirt Qemu" libvirt-qemu
	getent group libvirt-qemu >/dev/null || {
		addgroup --quiet --system libvirt-qemu
		adduser --quiet libvirt-qemu libvirt-qemu
	}
	mkdir -p /var/log/libvirt/qemu /var/lib/libvirt/qemu /var/cache/libvirt/qemu
}
if [ ${#missing[@]} -eq 0 ]; then
	setup_libvirt "${1:-all}"
	exit 0
fi
echo "fleet-deps: installing ${missing[*]}"
policy=/usr/sbin/policy-rc.d
ours=0
if [ ! -e $policy ]; then
	printf '#!/bin/sh\n# tools/fleet_deps.sh: no service starts during its apt run\nexit 101\n' >$policy
	chmod 755 $policy
	ours=1
fi
trap '[ $ours = 1 ] && rm -f $policy' EXIT
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
setup_libvirt "${1:-all}"
