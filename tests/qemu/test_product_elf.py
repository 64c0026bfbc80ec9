"""test_product_elf.py - what the product image is made of (issue 18),
read from build/appliance.elf with binutils, no boot: no segment both
writable and executable, the segments still one flat image for the
multiboot-1 loader, each protected range on pages of its own, the
stack protector compiled in, and no test option: those live in the test
and benchmark images only (tests/image/, bench/floor/)."""

import re
import subprocess

from vm import ELF, FLOOR_ELF, TEST_ELF

KERNEL_BASE = 0x100000          # boot/linker.ld: linked and loaded at 1 MiB
PAGE = 4096


def _run(*cmd):
    return subprocess.run(list(cmd), capture_output=True, text=True, check=True).stdout


def _loads():
    """(offset, vaddr, filesz, memsz, flags) of every PT_LOAD."""
    rows = []
    for line in _run("readelf", "-lW", ELF).splitlines():
        f = line.split()
        if f and f[0] == "LOAD":
            # LOAD off vaddr paddr filesz memsz flags... align
            flags = "".join(x for x in f[6:-1])
            rows.append((int(f[1], 16), int(f[2], 16), int(f[4], 16), int(f[5], 16), flags))
    return rows


def _symbols():
    out = _run("nm", ELF)
    return {f[2]: (f[1], int(f[0], 16)) for f in (l.split() for l in out.splitlines())
            if len(f) == 3}


def test_no_segment_is_writable_and_executable():
    headers = [l for l in _run("readelf", "-lW", ELF).splitlines()
               if re.match(r"\s+[A-Z_]+\s+0x", l)]
    assert headers, "readelf shows no program header"
    for h in headers:
        flags = h.split()[6:-1]
        assert not ("W" in "".join(flags) and "E" in "".join(flags)), h
    loads = _loads()
    assert [l[4] for l in loads] == ["RE", "R", "RW"], loads


def test_segments_form_one_flat_image_on_page_boundaries():
    """QEMU's -kernel reads the file from offset 0 as the image at 1 MiB
    (boot.S mb1_header); kernel/paging.c maps each segment's pages with
    its rights, so each starts on a page."""
    loads = _loads()
    end = KERNEL_BASE
    for off, vaddr, filesz, memsz, flags in loads:
        assert off == vaddr - KERNEL_BASE, (hex(off), hex(vaddr))
        assert vaddr % PAGE == 0 and vaddr >= end, hex(vaddr)
        end = vaddr + memsz
    sym = _symbols()
    for name in ("__text_end", "__ro_after_init_start", "__ro_after_init_end", "__bss_start",
                 "__kernel_end"):
        assert sym[name][1] % PAGE == 0, "%s at 0x%x" % (name, sym[name][1])
    # the guard word sits in the range paging_init makes read-only
    guard = sym["__stack_chk_guard"][1]
    assert sym["__ro_after_init_start"][1] <= guard < sym["__ro_after_init_end"][1]


def test_stack_protector_is_compiled_in():
    sym = _symbols()
    assert sym.get("__stack_chk_fail", ("", 0))[0] == "T", "no __stack_chk_fail"
    assert "__stack_chk_guard" in sym
    dis = _run("objdump", "-d", "--no-show-raw-insn", ELF)
    # ssp.c defines the symbol either way: the calls are what
    # -fstack-protector-strong adds (one per protected function)
    calls = len(re.findall(r"call\s+[0-9a-f]+ <__stack_chk_fail>", dis))
    assert calls >= 20, "only %d calls to __stack_chk_fail" % calls
    # -mstack-protector-guard=global: no TLS, so never %fs:0x28
    assert "%fs:" not in dis


# Each test option's name, and the image whose own configuration reads it.
TEST_OPTIONS = {"panic_test": TEST_ELF, "test_dead_ap": TEST_ELF, "test_late_ap": TEST_ELF,
                "test_speed": TEST_ELF, "test_udp_echo": TEST_ELF, "test_log_jobs": TEST_ELF,
                "bench_floor": FLOOR_ELF}


def _bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise AssertionError("%s is not built: make test-images" % path)


def test_no_test_option_in_the_product():
    """Anyone who can set the product's command line must find no test
    hook behind it: no option's name anywhere in the file (its strings,
    symbols and debug information alike), no hook's code linked in. The
    images that do carry them show the check can fail."""
    product = _bytes(ELF)
    found = [name for name in TEST_OPTIONS if name.encode() in product]
    assert not found, "the product image carries %s" % found
    for name, image in TEST_OPTIONS.items():
        assert name.encode() in _bytes(image), "%s not in %s" % (name, image)
    hooks = [n for n in _symbols() if n.startswith(("testhooks_", "testconfig_"))]
    assert not hooks, "the product image links %s" % hooks
    out = _run("nm", TEST_ELF)
    assert "testhooks_start_aps" in out and "testconfig_parse" in out
