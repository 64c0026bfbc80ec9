"""Boot and SMP (issue: bootable multicore unikernel): every vCPU comes up,
the self-test passes, faults produce the panic report, idle costs nothing."""

import json
import re
import socket
import subprocess
import time

import vm as vmmod
from net import free_port, tcp_exchange, udp_ask, user_net, wait_udp_ready
from vm import TEST_ELF, Vm


def _boot(smp, **kw):
    with Vm(smp=smp, **kw) as vm:
        m = vm.wait_for(r"cores online: (\d+)", timeout=90)
        assert int(m.group(1)) == smp, "expected %d cores, got %s" % (smp, m.group(1))
        m = vm.wait_for(r"selftest: (\w+) \((\d+) tasks ran on (\d+) distinct cores of (\d+)", 60)
        assert m.group(1) == "passed", vm.tail()
        assert int(m.group(3)) == smp and int(m.group(4)) == smp
        vm.wait_for(r"appliance: ready", 30)
        return time.monotonic() - vm.t0


def test_boot_smp1():
    _boot(1)


def test_boot_smp2():
    _boot(2)


def test_boot_smp4():
    _boot(4)


def test_boot_smp8():
    _boot(8)


def test_boot_grub_iso():
    """The real image: GRUB from the ISO, multiboot2, ACPI RSDP tag."""
    _boot(2, iso=True)


def _panic(kind, vector, name, smp=2):
    with Vm(smp=smp, cmdline="panic_test=" + kind, elf=TEST_ELF) as vm:
        m = vm.wait_for(r"PANIC: exception (\d+) \(([^)]*)\) on core (\d+): error=0x[0-9a-f]+ "
                        r"rip=0x([0-9a-f]+) rsp=0x([0-9a-f]+)", 90)
        assert int(m.group(1)) == vector and m.group(2) == name, m.group(0)
        assert m.group(3) == "0"
        assert int(m.group(4), 16) >= 0x100000, "RIP should point into the kernel"
        vm.wait_for(r"panic: system halted", 10)
        time.sleep(1)
        # never a silent reboot: QEMU runs with -no-reboot, so a triple
        # fault or reset would end the process, and a second boot banner
        # would show in the log
        assert vm.alive(), "QEMU exited after the panic"
        assert vm.out.count("appliance: booting") == 1


def _overflow(kind, core_re):
    """Issue 10, defect 1: a stack overflow hits the guard page below the
    stack and the report says so, instead of running over what lies
    below (the boot page tables, for the BSP)."""
    with Vm(smp=2, cmdline="panic_test=" + kind, elf=TEST_ELF) as vm:
        m = vm.wait_for(r"PANIC on core (\d+): stack overflow: guard page 0x([0-9a-f]+) hit", 90)
        assert re.fullmatch(core_re, m.group(1)), m.group(0)
        vm.wait_for(r"panic: system halted", 10)
        assert vm.out.count("appliance: booting") == 1


def test_stack_overflow_on_the_bsp_hits_its_guard_page():
    _overflow("stack", "0")


def test_stack_overflow_on_an_ap_hits_its_guard_page():
    _overflow("apstack", "1")


def test_panic_invalid_opcode():
    _panic("ud", 6, "invalid opcode")


def test_panic_page_fault():
    _panic("pf", 14, "page fault: write to unmapped memory", smp=4)


def test_panic_divide_error():
    _panic("div", 0, "divide error", smp=1)


def _ap_fault(option, expect_log):
    """Issue 8: an AP that never starts, or that starts after its
    timeout, leaves an appliance that serves on the rest and says so in
    /api/status; the late one must not run on anyone's stack."""
    udp, http = free_port(), free_port(socket.SOCK_STREAM)
    with Vm(smp=3, cmdline=option, net=user_net(udp=[(udp, 5555)], tcp=[(http, 80)]),
            elf=TEST_ELF) as vm:
        vm.wait_for(expect_log, 90)
        m = vm.wait_for(r"cores online: (\d+)", 30)
        assert m.group(1) == "2"
        m = vm.wait_for(r"selftest: (\w+) \((\d+) tasks ran on (\d+) distinct", 30)
        assert m.group(1) == "passed" and m.group(3) == "2"
        wait_udp_ready(udp, b"10\n")
        assert udp_ask(udp, b"100000 4\n").startswith(b"38368 tasks=4 mode=repeat cores=2 ")
        out = tcp_exchange(http, b"GET /api/status HTTP/1.1\r\nConnection: close\r\n\r\n")
        st = json.loads(out.split(b"\r\n\r\n", 1)[1])
        assert st["smp"] == {"discovered": 3, "online": 2, "parked": 1}, st["smp"]
        assert len(st["cores"]) == 2
        assert "PANIC" not in vm.out


def test_dead_ap_is_parked_and_reported():
    _ap_fault("test_dead_ap=2", r"smp: core 2 \(apic \d+\) did not answer in \d+ ms, parked")


def test_late_ap_parks_itself_and_is_reported():
    _ap_fault("test_late_ap=1", r"smp: core 1 answered after its timeout: it found no stack "
              r"and parked itself")


def test_idle_costs_nothing():
    """-smp 4, nothing to do: under 2% of one host core over 5 s."""
    with Vm(smp=4) as vm:
        vm.wait_for(r"appliance: ready", 90)
        time.sleep(1.0)
        a = vm.cpu_ns()
        time.sleep(5.0)
        used = vm.cpu_ns() - a
        pct = used / 5e9 * 100
        print("idle: %.3f%% of one host core (%d us over 5 s)" % (pct, used // 1000))
        assert pct < 2.0, "idle QEMU used %.2f%% of a core" % pct


# Issue 18: W^X, the NULL guard and the stack canary. Each fault must end
# in the panic report naming its cause, on the BSP and on an AP; without
# the protection each would run on silently (a read of 0, a RET in the
# heap, a byte of text written over itself) or end in a different fault
# (a RET to 0x4141414141414141 after the smash).

def _symbols():
    out = subprocess.run(["nm", TEST_ELF], capture_output=True, text=True, check=True).stdout
    return {f[2]: int(f[0], 16) for f in (l.split() for l in out.splitlines()) if len(f) == 3}


SMASH_RE = (r"PANIC on core (?P<core>\d+): (?P<cause>stack smashing detected) \(in the "
            r"function at rip=0x(?P<rip>[0-9a-f]+)\)")
PF_RE = (r"PANIC: exception 14 \(page fault: (?P<cause>[^)]*)\) on core (?P<core>\d+): "
         r"error=0x(?P<error>[0-9a-f]+) rip=0x(?P<rip>[0-9a-f]+) rsp=0x[0-9a-f]+ "
         r"cr2=0x(?P<cr2>[0-9a-f]+)")


def _protection(kind, cause, check):
    on_ap = kind.startswith("ap")
    with Vm(smp=2, cmdline="panic_test=" + kind, elf=TEST_ELF) as vm:
        vm.wait_for(r"panic: system halted", 90)
        m = re.search(SMASH_RE if cause == "stack smashing detected" else PF_RE, vm.out)
        assert m, "no report of the expected form:\n" + vm.tail()
        assert m.group("cause") == cause, m.group(0)
        core = int(m.group("core"))
        assert (core != 0) if on_ap else (core == 0), "core %d for %s" % (core, kind)
        check({k: int(v, 16) for k, v in m.groupdict().items() if k not in ("cause", "core")},
              _symbols())
        time.sleep(1)
        assert vm.alive(), "QEMU exited after the panic (a triple fault?)"
        assert vm.out.count("appliance: booting") == 1
        assert vm.out.count("PANIC") == 1, vm.tail()


def _null_check(f, sym):
    assert f["cr2"] < 4096 and not f["error"] & 1, f      # page 0, not present


def _nx_check(f, sym):
    # the fetch itself faulted (error: present | instruction fetch), in
    # the heap above the image
    assert f["error"] & 0x11 == 0x11 and f["rip"] == f["cr2"] >= sym["__kernel_end"], f


def _wtext_check(f, sym):
    assert f["error"] & 0x3 == 0x3, f                       # present, write
    assert sym["__kernel_start"] <= f["cr2"] < sym["__text_end"], f


def _smash_check(f, sym):
    assert sym["fault_smash"] <= f["rip"] < sym["fault_smash"] + 256, f


def test_null_dereference_faults_on_the_bsp():
    _protection("null", "NULL dereference", _null_check)


def test_null_dereference_faults_on_an_ap():
    _protection("apnull", "NULL dereference", _null_check)


def test_jump_into_the_heap_faults_on_the_bsp():
    _protection("nx", "execute of non-executable memory", _nx_check)


def test_jump_into_the_heap_faults_on_an_ap():
    _protection("apnx", "execute of non-executable memory", _nx_check)


def test_write_to_text_faults_on_the_bsp():
    _protection("wtext", "write to read-only memory", _wtext_check)


def test_write_to_text_faults_on_an_ap():
    _protection("apwtext", "write to read-only memory", _wtext_check)


def test_stack_smash_is_detected_on_the_bsp():
    _protection("smash", "stack smashing detected", _smash_check)


def test_stack_smash_is_detected_on_an_ap():
    _protection("apsmash", "stack smashing detected", _smash_check)


def _mmu_boot(smp, expect_mmu, sources, **kw):
    """The boot line says what is on; every AP comes up under it."""
    try:
        vm = Vm(smp=smp, **kw)
    except vmmod.QemuUnavailable as e:
        raise Skip(str(e))  # noqa: F821 - the runner's Skip
    with vm:
        m = vm.wait_for(r"ssp: stack canary from ([a-z-]+)\n", 60)
        assert m.group(1) in sources, m.group(0)
        m = vm.wait_for(r"mmu:([a-z -]*);", 30)
        assert m.group(1) == expect_mmu, m.group(0)
        m = vm.wait_for(r"cores online: (\d+)", 90)
        assert int(m.group(1)) == smp, m.group(0)
        m = vm.wait_for(r"selftest: (\w+) \((\d+) tasks ran on (\d+) distinct", 60)
        assert m.group(1) == "passed" and int(m.group(3)) == smp, m.group(0)
        vm.wait_for(r"appliance: ready", 30)
        assert "PANIC" not in vm.out, vm.tail()


def test_mmu_line_and_aps_with_nx_qemu72():
    """qemu64 offers NX but neither RDRAND nor RDSEED."""
    _mmu_boot(4, " nx wp null-guard", ["tsc-jitter"], machine="pc")


def test_mmu_line_without_nx():
    """A CPU without NX: EFER.NXE must stay off on every core (the
    trampoline setting it would #GP before any IDT) and no entry may use
    bit 63 (reserved without NXE: every access would fault). QEMU 7.2's
    max offers RDRAND, not RDSEED."""
    _mmu_boot(4, " wp null-guard", ["rdrand"], cpu="max,-nx")


def test_mmu_line_and_aps_with_nx_qemu10_q35():
    """QEMU 10, q35, -cpu max (RDRAND, perhaps RDSEED): NX on every AP."""
    _mmu_boot(4, " nx wp null-guard", ["rdseed", "rdrand"], qemu="10", machine="q35",
              cpu="max")
