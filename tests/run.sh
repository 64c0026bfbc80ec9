#!/usr/bin/env bash
# make test: build the unit tests, then run everything.
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory unit
# The tests pin TCG, the emulation CI has and whose timing they were sized
# for; test_matrix's KVM test probes KVM itself. ACCEL=kvm runs all on KVM.
export ACCEL=${ACCEL:-tcg}
exec python3 tests/run.py "$@"
