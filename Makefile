# The appliance: `make run` boots it, `make test` runs every test.
# Both install what is missing first (tools/deps.sh, as root).

CPUS    ?= 4
MEM     ?= 64M
CMDLINE ?=
# make run's host ports (127.0.0.1), forwarded to the guest's 5555/udp and
# 80/tcp; a busy one stops make run before QEMU starts (tools/ports.py).
UDP_PORT  ?= 5555
HTTP_PORT ?= 8080
BUILD   := build
LWIP    := $(BUILD)/third_party/lwip

CC      := gcc
GCC_INC := $(shell $(CC) -print-file-name=include)

KCFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror=implicit-function-declaration \
	-ffreestanding -fno-builtin -nostdinc -isystem $(GCC_INC) -Ikernel/include \
	-Ilwip_port -I$(LWIP)/src/include -I$(BUILD)/third_party/jsmn \
	-fstack-protector-strong -mstack-protector-guard=global \
	-fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only \
	-fno-asynchronous-unwind-tables -fno-omit-frame-pointer -m64 -mcmodel=small
KLDFLAGS := -nostdlib -static -no-pie -Wl,-T,boot/linker.ld -Wl,-z,max-page-size=4096 \
	-Wl,--build-id=none

# Every image is these objects and its composition root's: the product's
# appliance/main.c (build/appliance.elf, what make run boots); the test
# image's tests/image/ (its hooks and test options) and the benchmark
# floor's bench/floor/, which only make test and make bench build.
KERNEL_SRC := $(wildcard kernel/*.c) $(wildcard smp/*.c) $(wildcard drivers/*/*.c) \
	$(wildcard lwip_port/*.c) $(filter-out appliance/main.c,$(wildcard appliance/*.c)) \
	$(wildcard appliance/*/*.c)
KERNEL_ASM := boot/boot.S boot/trampoline.S kernel/vectors.S
# lwIP 2.1.3, from Debian's source package (tools/deps.sh), IPv4 only; its
# core/timeouts.c is replaced by lwip_port/timeouts.c (no cyclic timers).
LWIP_FILES := core/init.c core/def.c core/inet_chksum.c core/ip.c core/mem.c \
	core/memp.c core/netif.c core/pbuf.c core/stats.c core/sys.c core/tcp.c \
	core/tcp_in.c core/tcp_out.c core/udp.c core/ipv4/dhcp.c \
	core/ipv4/etharp.c core/ipv4/icmp.c core/ipv4/ip4.c core/ipv4/ip4_addr.c \
	core/ipv4/ip4_frag.c netif/ethernet.c
LWIP_OBJ := $(patsubst %.c,$(BUILD)/obj/lwip/%.o,$(LWIP_FILES))
# The dashboard (web/) becomes C data at build time (tools/embed_web.py).
WEB_FILES := $(sort $(wildcard web/*))
WEB_C := $(BUILD)/gen/web_assets.c
KERNEL_OBJ := $(patsubst %,$(BUILD)/obj/%.o,$(KERNEL_SRC) $(KERNEL_ASM)) $(LWIP_OBJ) \
	$(BUILD)/obj/gen/web_assets.c.o

ELF := $(BUILD)/appliance.elf
ISO := $(BUILD)/appliance.iso
TEST_ELF := $(BUILD)/test-appliance.elf
FLOOR_ELF := $(BUILD)/bench-floor.elf

.SECONDEXPANSION:
.PHONY: all deps run test test-images unit qemu-test clean image fleet fleet-deps fleet-status \
	fleet-down
all: $(ISO)

deps:
	@bash tools/deps.sh

# What the build takes from tools/deps.sh, named as files: lwIP's sources
# and the Debian packages' files the build runs or includes. On a fresh
# clone (or machine) the first target that needs one of them runs deps.sh,
# once for all of them (a grouped target), before anything compiles, also
# under make -j. Where they all exist nothing runs.
LWIP_SRC := $(addprefix $(LWIP)/src/,$(LWIP_FILES))
BUILD_DEPS := $(LWIP_SRC) /usr/include/jsmn.h /usr/bin/grub-mkrescue \
	/usr/lib/grub/i386-pc/modinfo.sh /usr/bin/xorriso /usr/bin/mformat /usr/bin/clang
$(BUILD_DEPS) &:
	@bash tools/deps.sh

$(BUILD)/obj/lwip/%.o: $(LWIP)/src/%.c lwip_port/lwipopts.h lwip_port/arch/cc.h lwip_port/lwip_hooks.h
	@mkdir -p $(dir $@)
	@echo "  CC lwip/$*.c"; $(CC) $(KCFLAGS) -w -c $< -o $@

# jsmn is one header from libjsmn-dev; the freestanding build does not
# search /usr/include, so it gets a copy under build/ at build time.
$(BUILD)/third_party/jsmn/jsmn.h: /usr/include/jsmn.h
	@mkdir -p $(dir $@)
	cp $< $@

$(BUILD)/obj/%.c.o: %.c | $(LWIP)/src/core/init.c $(BUILD)/third_party/jsmn/jsmn.h
	@mkdir -p $(dir $@)
	@echo "  CC $<"; $(CC) $(KCFLAGS) -MMD -MP -c $< -o $@

$(WEB_C): $(WEB_FILES) tools/embed_web.py
	@mkdir -p $(dir $@)
	@echo "  EMBED web/ -> $@"; python3 tools/embed_web.py $@ $(WEB_FILES)

$(BUILD)/obj/gen/web_assets.c.o: $(WEB_C) appliance/http/assets.h
	@mkdir -p $(dir $@)
	@echo "  CC $<"; $(CC) $(KCFLAGS) -Iappliance/http -c $< -o $@

$(BUILD)/obj/%.S.o: %.S
	@mkdir -p $(dir $@)
	@echo "  AS $<"; $(CC) $(KCFLAGS) -c $< -o $@

$(ELF): $(BUILD)/obj/appliance/main.c.o
$(TEST_ELF): $(patsubst %,$(BUILD)/obj/%.o,$(wildcard tests/image/*.c))
$(FLOOR_ELF): $(patsubst %,$(BUILD)/obj/%.o,$(wildcard bench/floor/*.c))
$(ELF) $(TEST_ELF) $(FLOOR_ELF): $(KERNEL_OBJ) boot/linker.ld
	@echo "  LD $@"; $(CC) $(KLDFLAGS) -o $@ $(filter %.o,$^)
	@size $@

# The images only the tests and the benchmarks boot.
test-images: $(TEST_ELF) $(FLOOR_ELF)

$(ISO): $(ELF) boot/grub.cfg.in | /usr/bin/grub-mkrescue /usr/lib/grub/i386-pc/modinfo.sh \
		/usr/bin/xorriso /usr/bin/mformat
	@mkdir -p $(BUILD)/iso/boot/grub
	objcopy --strip-debug $(ELF) $(BUILD)/iso/boot/appliance.elf  # less for GRUB to read
	sed 's|@CMDLINE@|$(CMDLINE)|' boot/grub.cfg.in > $(BUILD)/iso/boot/grub/grub.cfg
	grub-mkrescue -o $@ $(BUILD)/iso 2>$(BUILD)/grub-mkrescue.log || \
		{ cat $(BUILD)/grub-mkrescue.log; exit 1; }
	@ls -l $@ | awk '{print "iso: " $$5 " bytes"}'

RUN_PORTS = UDP_PORT=$(UDP_PORT) HTTP_PORT=$(HTTP_PORT)
run: deps
	@$(RUN_PORTS) bash tools/run.sh --check-ports
	@$(MAKE) --no-print-directory $(ISO)
	@$(RUN_PORTS) bash tools/run.sh $(CPUS) $(MEM) $(ISO)

test: deps fleet-deps
	@$(MAKE) --no-print-directory all $(IMAGE) test-images
	@bash tests/run.sh

clean:
	rm -rf $(BUILD)/obj $(BUILD)/iso $(ELF) $(ISO) $(IMAGE) $(TEST_ELF) $(FLOOR_ELF)

# make image: beside the ISO, the same kernel on a bootable qcow2 disk
# (GRUB in the MBR, a FAT partition; tools/mkdisk.py, no root needed).
IMAGE := $(BUILD)/appliance.qcow2
$(IMAGE): $(ELF) boot/grub.cfg.in tools/mkdisk.py
	python3 tools/mkdisk.py $@ --kernel $(ELF) --cmdline "$(CMDLINE)"

image: deps
	@$(MAKE) --no-print-directory $(ISO) $(IMAGE)

# make fleet N=3 CPUS=1: N appliances as libvirt domains with nginx in
# front on FRONT_UDP/FRONT_HTTP (tools/fleet.py; BOOT=disk boots the
# qcow2 instead of the kernel). CPUS is 1 here unless given.
N          ?= 3
FRONT_UDP  ?= 5555
FRONT_HTTP ?= 8080
BOOT       ?= kernel
FLEET_CPUS := $(if $(filter command line environment,$(origin CPUS)),$(CPUS),1)

fleet-deps:
	@bash tools/fleet_deps.sh

fleet: deps fleet-deps
	@$(MAKE) --no-print-directory all $(if $(filter disk,$(BOOT)),$(IMAGE))
	@python3 tools/fleet.py up --n $(N) --cpus $(FLEET_CPUS) --mem $(MEM) \
		--front-udp $(FRONT_UDP) --front-http $(FRONT_HTTP) \
		$(if $(filter disk,$(BOOT)),--disk $(IMAGE),$(if $(CMDLINE),--cmdline "$(CMDLINE)"))

fleet-status:
	@python3 tools/fleet.py status

fleet-down:
	@python3 tools/fleet.py down

# make monitor: Debian's Prometheus on 127.0.0.1:MONITOR_PORT, scraping
# what make run and make fleet announce in build/monitor/targets/
# (tools/monitor.py; rules in tools/monitor_rules.yml, data in
# build/monitor/data). make monitor-stop stops it.
MONITOR_PORT     ?= 9090
MONITOR_INTERVAL ?= 15s
.PHONY: monitor monitor-status monitor-stop
monitor:
	@bash tools/fleet_deps.sh monitor
	@python3 tools/monitor.py up --port $(MONITOR_PORT) --interval $(MONITOR_INTERVAL)

monitor-status:
	@python3 tools/monitor.py status

monitor-stop:
	@python3 tools/monitor.py down

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# Host unit tests: the pure files, built with the host compiler and the
# sanitizers (tests/unit/, one file per module).
UNIT_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -fsanitize=address,undefined \
	-fno-omit-frame-pointer -fno-sanitize-recover=undefined -pthread
UNIT_TESTS := $(patsubst tests/unit/test_%.c,%,$(wildcard tests/unit/test_*.c))
UNIT_BINS := $(patsubst %,$(BUILD)/unit/test_%,$(UNIT_TESTS))
unit_src_cmdline := kernel/cmdline.c kernel/parse.c
unit_src_heap := kernel/heap.c
unit_src_fmt := kernel/fmt.c
unit_src_virtq := drivers/virtio_net/virtq.c
unit_src_vcap := drivers/virtio_net/vcap.c
unit_src_ipcfg := lwip_port/ipcfg.c kernel/parse.c
unit_src_siphash := lwip_port/siphash.c
unit_src_primes := appliance/jobs/primes.c
unit_src_request := appliance/udp_compute/request.c appliance/jobs/spec.c kernel/parse.c
unit_src_jobs := appliance/jobs/spec.c appliance/jobs/primes.c
# The connection layer against a fake lwIP raw TCP API (the test defines
# it), with lwIP's own headers and our lwipopts.h.
unit_src_httpconn := appliance/http/http.c appliance/http/httpreq.c appliance/http/httpresp.c \
	appliance/http/outbuf.c kernel/parse.c
unit_flags_httpconn := -Ilwip_port -I$(LWIP)/src/include
unit_src_http := appliance/http/httpreq.c appliance/http/httpresp.c appliance/http/outbuf.c \
	appliance/http/jobreq.c appliance/http/render.c appliance/http/status.c \
	appliance/jobs/spec.c kernel/parse.c

$(BUILD)/unit/test_%: tests/unit/test_%.c tests/unit/check.h $$(unit_src_$$*) | $(LWIP)/src/core/init.c
	@mkdir -p $(dir $@)
	@echo "  HOSTCC $@"; $(CC) $(UNIT_CFLAGS) $(unit_flags_$*) -o $@ $< $(unit_src_$*)

# test_worktab includes smp/worktab.c itself, to widen its race windows.
$(BUILD)/unit/test_worktab: smp/worktab.c smp/worktab.h
# test_jobs includes both, for the race windows and to count jobs.c's allocations.
$(BUILD)/unit/test_jobs: appliance/jobs/jobs.c appliance/jobs/jobs.h smp/worktab.c smp/worktab.h

unit: $(UNIT_BINS)

# make fuzz: libFuzzer targets (tests/fuzz/fuzz.mk); make test runs them
# briefly over the committed seed corpus.
-include tests/fuzz/fuzz.mk
# make soak: the longer runs (tests/soak/run_soak.py, about 25 minutes).
-include tests/soak/soak.mk

# Host client (tools/primectl.c), with the workload file for its self-check.
PRIMECTL := $(BUILD)/primectl
$(PRIMECTL): tools/primectl.c appliance/jobs/primes.c appliance/jobs/primes.h | /usr/include/jsmn.h
	@mkdir -p $(dir $@)
	@echo "  HOSTCC $@"; $(CC) -std=gnu11 -O2 -Wall -Wextra -o $@ tools/primectl.c appliance/jobs/primes.c
all: $(PRIMECTL)

# make bench: the paper's Figure 2 here (bench/run.py; PRESET=quick|full).
PRESET ?= quick
$(BUILD)/bench/count_primes: bench/count_primes.c appliance/jobs/primes.c appliance/jobs/primes.h
	@mkdir -p $(dir $@)
	@echo "  HOSTCC $@"; $(CC) -std=gnu11 -O2 -Wall -Wextra -o $@ bench/count_primes.c appliance/jobs/primes.c
all: $(BUILD)/bench/count_primes

# make bench: chunking's cost in instructions (bench/chunk_cost.c, under
# callgrind), the engine and the work table as the image compiles them.
CHUNK_COST_SRC := bench/chunk_cost.c appliance/jobs/primes.c appliance/jobs/jobs.c \
	appliance/jobs/spec.c smp/worktab.c
$(BUILD)/bench/chunk_cost: $(CHUNK_COST_SRC) appliance/jobs/jobs.h appliance/jobs/primes.h smp/worktab.h
	@mkdir -p $(dir $@)
	@echo "  HOSTCC $@"; $(CC) -std=gnu11 -O2 -Wall -Wextra -fno-omit-frame-pointer -mno-red-zone \
		-mgeneral-regs-only -o $@ $(CHUNK_COST_SRC)
all: $(BUILD)/bench/chunk_cost

.PHONY: bench bench-deps
bench-deps: deps fleet-deps
	@dpkg -s gnuplot-nox >/dev/null 2>&1 || \
		{ apt-get update -qq && apt-get install -y -qq gnuplot-nox >/dev/null; }
	@bash bench/linux_vm.sh

bench: bench-deps
	@$(MAKE) --no-print-directory all test-images
	@python3 bench/run.py --preset $(PRESET)
