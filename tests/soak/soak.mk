# soak.mk - `make soak`: the long runs of tests/soak/run_soak.py (arp-quiet,
# udp-long, http-long, fuzz-long, and a leak check after each appliance),
# about 25 minutes on 2 cores with TCG; not part of `make test`.
# Included by the Makefile (-include tests/soak/soak.mk).
#   make soak                          every category, full length
#   make soak SOAK_ARGS=--quick        udp-long, http-long and fuzz-long
#                                      shortened (arp-quiet keeps its 360 s)
#   make soak SOAK_ARGS="--only udp-long,http-long"
# Run as root: arp-quiet and http-long make a network namespace.

SOAK_ARGS ?=

.PHONY: soak
soak: deps
	@$(MAKE) --no-print-directory all fuzz-build
	@python3 tests/soak/run_soak.py $(SOAK_ARGS)
