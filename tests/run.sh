#!/usr/bin/env bash
# make test: build the unit tests, then run everything.
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory unit
exec python3 tests/run.py "$@"
