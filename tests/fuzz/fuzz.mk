# fuzz.mk - libFuzzer targets for every parser that reads outside bytes
# (included by the Makefile). One target per tests/fuzz/fuzz_<name>.c,
# built with Debian's clang (tools/deps.sh) for the host:
#   make fuzz [FUZZ_SECONDS=60]   fuzz each target that long, starting from
#                                 a scratch copy of tests/fuzz/corpus/<name>
#                                 under build/fuzz/ (the committed corpus is
#                                 never written); fails on any crash, whose
#                                 input is left in build/fuzz/artifacts/<name>/
#   make fuzz-build               just the binaries; `make unit` (and so
#                                 `make test`, which runs them briefly over
#                                 the seeds: tests/run.py) depends on it.

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS  := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -fno-omit-frame-pointer -Wall -Wextra
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    := $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_TARGETS))

fuzz_src_request := appliance/udp_compute/request.c appliance/jobs/spec.c kernel/parse.c
fuzz_src_httphead := appliance/http/httpreq.c kernel/parse.c
fuzz_src_httpresp := appliance/http/httpresp.c appliance/http/outbuf.c
fuzz_src_jobreq := appliance/http/jobreq.c appliance/jobs/spec.c kernel/parse.c
fuzz_src_cmdline := kernel/cmdline.c kernel/parse.c
fuzz_src_virtq := drivers/virtio_net/virtq.c drivers/virtio_net/vcap.c

# jobreq.c includes <jsmn.h> (libjsmn-dev); the Makefile's grouped rule
# for what tools/deps.sh provides runs it when either is missing.
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $$(fuzz_src_$$*) \
		| /usr/include/jsmn.h /usr/bin/clang
	@mkdir -p $(dir $@)
	@echo "  FUZZCC $@"; $(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(fuzz_src_$*)

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS)
unit: fuzz-build

fuzz: fuzz-build
	@python3 tests/fuzz/fuzzrun.py --seconds $(FUZZ_SECONDS) --work $(BUILD)/fuzz $(FUZZ_BINS)
