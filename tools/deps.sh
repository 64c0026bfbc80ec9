#!/usr/bin/env bash
# Installs what the build and the tests need on a Debian 12 machine, and
# unpacks lwIP 2.1.3 from Debian's source package into build/third_party.
# Idempotent: a second run with everything present does nothing but check.
#
# APPLIANCE_CACHE=DIR: a folder shared by several clones. lwIP is copied
# from DIR/lwip when it holds lwIP 2.x, instead of being fetched again
# (apt-get source), and a fetched lwIP is copied there for the next clone.
# The copy is the clone's own: nothing in DIR is changed or linked to.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
third="$top/build/third_party"

# clang and libclang-rt-14-dev (only recommended by clang): the libFuzzer
# targets of tests/fuzz. nftables: packet loss on a tap device
# (tests/qemu/test_loss.py; this kernel has no netem). wrk: make soak.
pkgs=(qemu-system-x86 qemu-utils grub-pc-bin grub-common xorriso mtools
      libjsmn-dev dpkg-dev gcc clang libclang-rt-14-dev make python3 iproute2
      iputils-ping netcat-openbsd curl
      nftables wrk valgrind
      chromium nodejs)
# valgrind: make bench's chunk cost, counted in instructions (callgrind;
# its smoke run is part of make test).
# chromium, nodejs, npm: the dashboard's browser test (tests/qemu/
# test_dashboard.py; puppeteer-core itself comes from npm ci). Debian's npm
# only where no npm is there: a NodeSource nodejs carries its own and
# conflicts with Debian's.
command -v npm >/dev/null || pkgs+=(npm)

need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing $*: run \`sudo make deps\` once (it runs tools/deps.sh as root)" >&2
		exit 1
	fi
}

lwip_ok() {     # an unpacked lwIP 2.x tree
	[ -f "$1/src/core/init.c" ] && grep -q 'LWIP_VERSION_MAJOR *2' "$1/src/include/lwip/init.h"
}
lwip_version() {
	grep -h 'define LWIP_VERSION_\(MAJOR\|MINOR\|REVISION\)' "$1/src/include/lwip/init.h" |
		awk '{print $3}' | tr -d 'U\r' | paste -sd.
}
cache=${APPLIANCE_CACHE:-}

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
updated=0
if [ ${#missing[@]} -gt 0 ]; then
	need_root "${missing[*]}"
	echo "deps: installing ${missing[*]}"
	apt-get update -qq
	updated=1
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# lwIP: a copy of APPLIANCE_CACHE's, when it has one.
if [ ! -f "$third/lwip/src/core/init.c" ] && [ -n "$cache" ] && lwip_ok "$cache/lwip"; then
	mkdir -p "$third"
	rm -rf "$third/lwip.tmp" && cp -a "$cache/lwip" "$third/lwip.tmp"
	rm -rf "$third/lwip" && mv "$third/lwip.tmp" "$third/lwip"
	echo "deps: lwIP $(lwip_version "$third/lwip") copied from APPLIANCE_CACHE ($cache/lwip)"
fi
# lwIP from Debian's source package. apt-get source needs a deb-src entry;
# add one for the mirror the machine already uses when there is none.
if [ ! -f "$third/lwip/src/core/init.c" ]; then
	if ! grep -rqs '^\(Types:.*deb-src\|deb-src\)' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		need_root "a deb-src entry"
		mirror=$(grep -rhs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' |
			grep -v security | head -n1)
		[ -n "$mirror" ] || mirror=$(grep -hs '^deb ' /etc/apt/sources.list |
			awk '{print $2}' | grep -v security | head -n1)
		[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
		echo "deps: adding deb-src for $mirror"
		cat >/etc/apt/sources.list.d/appliance-deb-src.sources <<SRC
Types: deb-src
URIs: $mirror
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
		updated=0
	fi
	[ $updated = 1 ] || apt-get update -qq
	rm -rf "$third/src" && mkdir -p "$third/src"
	(cd "$third/src" && apt-get source -qq lwip >/dev/null 2>&1 ||
		apt-get source lwip)
	dir=$(find "$third/src" -maxdepth 1 -type d -name 'lwip-*' | head -n1)
	[ -f "$dir/src/core/init.c" ] || { echo "deps: lwip source not unpacked" >&2; exit 1; }
	lwip_ok "$dir" || { echo "deps: $dir is not lwIP 2.x" >&2; exit 1; }
	rm -rf "$third/lwip" && mv "$dir" "$third/lwip" && rm -rf "$third/src"
	echo "deps: lwIP $(lwip_version "$third/lwip") ready"
	if [ -n "$cache" ] && ! lwip_ok "$cache/lwip" &&
	   [ "$(realpath -m "$cache")" != "$(realpath -m "$third")" ]; then
		mkdir -p "$cache" && rm -rf "$cache/lwip.tmp" &&
			cp -a "$third/lwip" "$cache/lwip.tmp" && rm -rf "$cache/lwip" &&
			mv "$cache/lwip.tmp" "$cache/lwip" &&
			echo "deps: lwIP kept in APPLIANCE_CACHE ($cache/lwip) for other clones"
	fi
fi
