#!/usr/bin/env python3
"""mkdisk.py - the appliance as a bootable qcow2 disk (make image).

  mkdisk.py OUT.qcow2 --kernel ELF [--cmdline "..."] [--size-mib 16]
  mkdisk.py --set-cmdline IMG.qcow2 "..."     rewrite the disk's grub.cfg
  mkdisk.py --get-cmdline IMG.qcow2

The disk, built without root, loop devices or grub-install: an MBR with
one FAT partition from 1 MiB (mtools writes it inside the image file) that
holds /boot/appliance.elf and /boot/grub/grub.cfg; GRUB's boot.img in the
MBR and a core.img made by grub-mkimage (i386-pc, the modules the
configuration needs built in) in the sectors after it, where grub-install
would put them. The two block pointers grub-bios-setup would fill in are
set here: boot.img's sector of core.img (1) and the first entry of
core.img's block list (its second sector, 2). core.img finds the
partition by a marker file (search.file), so the disk boots whatever bus
it is on (SATA, virtio-blk, IDE). qemu-img converts the raw image to
qcow2.

The command line lives in the disk's grub.cfg (as on the ISO, from
boot/grub.cfg.in): --set-cmdline changes it without rebuilding the kernel
(qemu-img to raw, mcopy, back to qcow2); GRUB's menu editor on the serial
console does too, for one boot."""

import argparse
import os
import re
import struct
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GRUB_DIR = "/usr/lib/grub/i386-pc"
SECTOR = 512
PART_START = 2048               # sectors: the partition at 1 MiB
MARKER = "/boot/grub/appliance-disk"
# boot.img (GRUB's include/grub/i386/pc/boot.h)
KERNEL_SECTOR_OFF = 0x5c        # LBA of core.img's first sector, 64-bit
MBR_CODE_END = 0x1b8            # boot code ends where the disk signature starts
PART_TABLE_OFF = 0x1be
# diskboot.img, core.img's first sector: a block list at its end, entries
# of struct { u64 start; u16 len; u16 segment; } (12 bytes)
BLOCKLIST_OFF = SECTOR - 12
FAT16_LBA = 0x0e
MODULES = ["biosdisk", "part_msdos", "fat", "search_fs_file", "normal", "configfile",
           "multiboot2", "serial", "terminal", "boot"]


def run(*cmd):
    r = subprocess.run(list(cmd), capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise SystemExit("mkdisk: %s: %s" % (" ".join(cmd), (r.stderr or r.stdout).strip()))
    return r.stdout


def grub_cfg(cmdline):
    with open(os.path.join(TOP, "boot", "grub.cfg.in")) as f:
        return f.read().replace("@CMDLINE@", cmdline)


def build(out, kernel, cmdline, size_mib):
    with tempfile.TemporaryDirectory(prefix="mkdisk-") as tmp:
        early = os.path.join(tmp, "early.cfg")
        with open(early, "w") as f:
            f.write("search.file %s root\nset prefix=($root)/boot/grub\n" % MARKER)
        core = os.path.join(tmp, "core.img")
        run("grub-mkimage", "-O", "i386-pc", "-d", GRUB_DIR, "-c", early, "-p", "/boot/grub",
            "-o", core, *MODULES)
        with open(core, "rb") as f:
            core_img = bytearray(f.read())
        with open(os.path.join(GRUB_DIR, "boot.img"), "rb") as f:
            boot_img = f.read()
        if len(core_img) > (PART_START - 1) * SECTOR:
            raise SystemExit("mkdisk: core.img (%d bytes) does not fit before the partition"
                             % len(core_img))
        start, count, segment = struct.unpack_from("<QHH", core_img, BLOCKLIST_OFF)
        nsec = (len(core_img) + SECTOR - 1) // SECTOR
        # diskboot.S's default entry already reads LBA 2 onwards; what
        # grub-bios-setup would write is checked rather than trusted
        if start not in (0, 2) or count != nsec - 1:
            raise SystemExit("mkdisk: unexpected core.img block list (%d, %d) for %d sectors"
                             % (start, count, nsec))
        struct.pack_into("<Q", core_img, BLOCKLIST_OFF, 2)

        total = size_mib * 1024 * 1024 // SECTOR
        psize = total - PART_START
        mbr = bytearray(SECTOR)
        mbr[:MBR_CODE_END] = boot_img[:MBR_CODE_END]
        struct.pack_into("<Q", mbr, KERNEL_SECTOR_OFF, 1)
        # one active partition; CHS fields say "use LBA" (0xfe 0xff 0xff)
        struct.pack_into("<B3sB3sII", mbr, PART_TABLE_OFF, 0x80, b"\xfe\xff\xff", FAT16_LBA,
                         b"\xfe\xff\xff", PART_START, psize)
        mbr[510:512] = b"\x55\xaa"
        raw = os.path.join(tmp, "disk.raw")
        with open(raw, "wb") as f:
            f.write(mbr)
            f.write(core_img)
            f.truncate(total * SECTOR)
        part = "%s@@%d" % (raw, PART_START * SECTOR)
        run("mformat", "-i", part, "-T", str(psize), "-h", "16", "-s", "63",
            "-H", str(PART_START), "-v", "APPLIANCE", "::")
        run("mmd", "-i", part, "::/boot", "::/boot/grub")
        stripped = os.path.join(tmp, "appliance.elf")
        run("objcopy", "--strip-debug", kernel, stripped)
        run("mcopy", "-i", part, stripped, "::/boot/appliance.elf")
        write_cfg(part, tmp, cmdline)
        marker = os.path.join(tmp, "marker")
        with open(marker, "w") as f:
            f.write("the appliance's boot partition (tools/mkdisk.py)\n")
        run("mcopy", "-i", part, marker, "::" + MARKER)
        run("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, out + ".tmp")
        os.replace(out + ".tmp", out)


def write_cfg(part, tmp, cmdline):
    cfg = os.path.join(tmp, "grub.cfg")
    with open(cfg, "w") as f:
        f.write(grub_cfg(cmdline))
    run("mcopy", "-o", "-i", part, cfg, "::/boot/grub/grub.cfg")


def read_cfg(part):
    return run("mtype", "-i", part, "::/boot/grub/grub.cfg")


def with_raw(img, fn, write):
    """fn(mtools image spec of the partition, tmp) on a raw copy of img;
    converted back to qcow2 when write."""
    with tempfile.TemporaryDirectory(prefix="mkdisk-") as tmp:
        raw = os.path.join(tmp, "disk.raw")
        run("qemu-img", "convert", "-O", "raw", img, raw)
        with open(raw, "rb") as f:
            mbr = f.read(SECTOR)
        start = struct.unpack_from("<I", mbr, PART_TABLE_OFF + 8)[0]
        res = fn("%s@@%d" % (raw, start * SECTOR), tmp)
        if write:
            run("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, img + ".tmp")
            os.replace(img + ".tmp", img)
        return res


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?")
    ap.add_argument("--kernel", default=os.path.join(TOP, "build", "appliance.elf"))
    ap.add_argument("--cmdline", default="")
    ap.add_argument("--size-mib", type=int, default=16)
    ap.add_argument("--set-cmdline", nargs=2, metavar=("IMG", "CMDLINE"))
    ap.add_argument("--get-cmdline", metavar="IMG")
    a = ap.parse_args()
    if a.set_cmdline:
        img, cmdline = a.set_cmdline
        with_raw(img, lambda part, tmp: write_cfg(part, tmp, cmdline), True)
        print("mkdisk: %s boots with \"%s\"" % (img, cmdline))
    elif a.get_cmdline:
        cfg = with_raw(a.get_cmdline, lambda part, tmp: read_cfg(part), False)
        m = re.search(r"multiboot2 /boot/appliance.elf ?(.*)", cfg)
        print(m.group(1).strip() if m else "")
    elif a.out:
        if not 4 <= a.size_mib <= 4096:
            ap.error("--size-mib takes 4..4096")
        build(a.out, a.kernel, a.cmdline, a.size_mib)
        print("image: %s (%d bytes qcow2, %d MiB disk)" % (a.out, os.path.getsize(a.out),
                                                          a.size_mib))
    else:
        ap.error("OUT, --set-cmdline or --get-cmdline")
    return 0


if __name__ == "__main__":
    sys.exit(main())
