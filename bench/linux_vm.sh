#!/usr/bin/env bash
# linux_vm.sh - builds the "Linux in a VM" baseline of the benchmark: Debian's
# own kernel plus an initramfs whose /init brings up virtio-net and runs
# bench/linux_server (API.md section 2 on guest port 5555).
#
#   bash bench/linux_vm.sh        -> build/bench/linuxvm/{vmlinuz,initramfs.gz,linux_server}
#
# Everything comes from Debian's archive through apt (the kernel package that
# linux-image-amd64 points at, busybox-static); the .deb is kept in
# build/bench/cache. Run as root (apt). A second run rebuilds nothing that is
# up to date. Kernel command line read by /init:
#   server=threads|procs|spawn   (default threads; spawn: a thread per task)
#   workers=N              (default: every online CPU)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$ROOT/build/bench/linuxvm
CACHE=$ROOT/build/bench/cache
# The drivers virtio-net needs on QEMU's PCI device; their dependencies come
# from the kernel's modules.dep.
WANT=(virtio_pci virtio_net)

log() { echo "linux-vm: $*"; }
die() { echo "linux-vm: $*" >&2; exit 1; }

# stale TARGET SOURCE...: true when TARGET is missing or older than a source.
stale() {
	local target=$1 src
	shift
	[[ -e $target ]] || return 0
	for src; do
		[[ $src -nt $target ]] && return 0
	done
	return 1
}

mkdir -p "$OUT" "$CACHE"

# ---- (a) the server, static so that the initramfs needs no libc ----
SRC=(bench/linux_server.c appliance/jobs/primes.c appliance/jobs/spec.c kernel/parse.c
     appliance/udp_compute/request.c)
HDR=(appliance/jobs/primes.h appliance/jobs/jobs.h kernel/parse.h appliance/udp_compute/request.h)
if stale "$OUT/linux_server" "${SRC[@]/#/$ROOT/}" "${HDR[@]/#/$ROOT/}"; then
	log "building linux_server"
	(cd "$ROOT" && gcc -static -O2 -Wall -Wextra -pthread -o "$OUT/linux_server" "${SRC[@]}")
fi

# ---- busybox: the initramfs userland, and our depmod and cpio ----
if ! dpkg -s busybox-static >/dev/null 2>&1; then
	log "installing busybox-static"
	DEBIAN_FRONTEND=noninteractive apt-get install -y busybox-static >/dev/null ||
		die "apt-get install busybox-static failed (apt-get update first?)"
fi
BUSYBOX=/bin/busybox
[[ -x $BUSYBOX ]] || die "$BUSYBOX missing after installing busybox-static"

# ---- (b) Debian's kernel ----
# The versioned package is what the linux-image-amd64 meta-package depends on.
resolve_kernel() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: <\{0,1\}\(linux-image-[^>]*\)>\{0,1\}$/\1/p' | head -n 1
}
PKG=$(resolve_kernel)
if [[ -z $PKG ]]; then
	log "apt-get update (no package lists)"
	apt-get update >/dev/null
	PKG=$(resolve_kernel)
fi
[[ -n $PKG ]] || die "cannot resolve the package behind linux-image-amd64"

DEB=$(ls "$CACHE/${PKG}"_*.deb 2>/dev/null | head -n 1 || true)
if [[ -z $DEB ]]; then
	log "downloading $PKG"
	(cd "$CACHE" && apt-get download "$PKG" >/dev/null)
	DEB=$(ls "$CACHE/${PKG}"_*.deb | head -n 1)
fi
PKG_VERSION=$(dpkg-deb -f "$DEB" Version)

TREE=$CACHE/$PKG
if [[ ! -e $TREE/.done ]] || stale "$TREE/.done" "$DEB"; then
	log "unpacking $(basename "$DEB")"
	rm -rf "$TREE"
	dpkg-deb -x "$DEB" "$TREE"
	KVER=$(basename "$(ls -d "$TREE"/lib/modules/*)")
	# The package leaves modules.dep to depmod at install time.
	"$BUSYBOX" depmod -b "$TREE" "$KVER"
	touch "$TREE/.done"
fi
KVER=$(basename "$(ls -d "$TREE"/lib/modules/*)")
MODDIR=$TREE/lib/modules/$KVER
[[ -s $MODDIR/modules.dep ]] || die "no modules.dep in $MODDIR"

if stale "$OUT/vmlinuz" "$TREE/boot/vmlinuz-$KVER"; then
	cp "$TREE/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
fi

# Load order: every module after the modules it depends on (modules.dep
# lines are "path.ko: dep.ko ..."); built-in drivers need no loading.
LOAD=()
BUILTIN=()
mod_path() { sed -n "s|^\([^:]*/$1\.ko\):.*|\1|p" "$MODDIR/modules.dep"; }
add_module() {
	local name=$1 path dep seen
	for seen in "${LOAD[@]}" "${BUILTIN[@]}"; do
		[[ $seen == "$name" ]] && return
	done
	if grep -q "/$name\.ko\$" "$MODDIR/modules.builtin"; then
		BUILTIN+=("$name")
		return
	fi
	path=$(mod_path "$name")
	[[ -n $path ]] || die "module $name is neither in modules.dep nor built in"
	for dep in $(sed -n "s|^$path: *||p" "$MODDIR/modules.dep"); do
		dep=${dep##*/}
		add_module "${dep%.ko}"
	done
	LOAD+=("$name")
}
for m in "${WANT[@]}"; do
	add_module "$m"
done

# ---- (c) the initramfs ----
STAGE=$OUT/root
MODSRC=()
for m in "${LOAD[@]}"; do
	MODSRC+=("$MODDIR/$(mod_path "$m")")
done
if stale "$OUT/initramfs.gz" "$OUT/linux_server" "$BUSYBOX" "${BASH_SOURCE[0]}" "${MODSRC[@]}" ||
	[[ "$(cat "$STAGE/lib/modules/load" 2>/dev/null)" != "${LOAD[*]}" ]]; then
	log "building initramfs.gz"
	rm -rf "$STAGE"
	mkdir -p "$STAGE"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,lib/modules}
	cp "$BUSYBOX" "$STAGE/bin/busybox"
	cp "$OUT/linux_server" "$STAGE/bin/linux_server"
	cp "${MODSRC[@]}" "$STAGE/lib/modules/"
	echo "${LOAD[*]}" >"$STAGE/lib/modules/load"
	# The kernel opens /dev/console for init before anything is mounted.
	mknod -m 600 "$STAGE/dev/console" c 5 1
	cat >"$STAGE/init" <<'EOF'
#!/bin/busybox sh
# /init of the Linux baseline VM: mounts, virtio-net, network, the server.
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s       # needs /proc: it reads /proc/self/exe
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

# Modules in dependency order (written by bench/linux_vm.sh).
for m in $(cat /lib/modules/load); do
	insmod /lib/modules/$m.ko || echo "init: insmod $m failed"
done

# QEMU user networking: guest 10.0.2.15, gateway 10.0.2.2. The device
# probe is synchronous, but allow it a moment anyway (bounded).
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2

server=threads
workers=$(nproc)
for arg in $(cat /proc/cmdline); do
	case $arg in
	server=threads|server=procs|server=spawn) server=${arg#server=} ;;
	server=*) echo "init: unknown $arg, using threads" ;;
	workers=*) workers=${arg#workers=} ;;
	esac
done
if [ "$server" = spawn ]; then
	echo "init: kernel $(uname -r), $(nproc) cpus, linux_server --spawn"
	/bin/linux_server --spawn
else
	echo "init: kernel $(uname -r), $(nproc) cpus, linux_server --$server $workers"
	/bin/linux_server --$server "$workers"
fi
echo "init: linux_server exited with $?"
poweroff -f
EOF
	chmod 755 "$STAGE/init"
	(cd "$STAGE" && find . -mindepth 1 | sort | "$BUSYBOX" cpio -o -H newc -R 0:0 2>/dev/null) |
		gzip -9 -n >"$OUT/initramfs.gz.tmp"
	mv "$OUT/initramfs.gz.tmp" "$OUT/initramfs.gz"
fi

log "kernel $PKG $PKG_VERSION ($KVER)"
log "modules loaded: ${LOAD[*]:-none}; built in: ${BUILTIN[*]:-none}"
for f in vmlinuz initramfs.gz linux_server; do
	log "built $(realpath --relative-to="$ROOT" "$OUT/$f") ($(stat -c %s "$OUT/$f") bytes)"
done
