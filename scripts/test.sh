#!/usr/bin/env bash
# Sets up the machine, builds what the tests need and runs them with ctest. This is the command CI
# runs (.ci/run). CUDA code is compiled for one architecture (sm_90a); CUDA tests run where a GPU
# exists and skip, saying so, where none does.
#   scripts/test.sh            # everything (golden data from ../shared/golden or $VAMBA_GOLDEN_DIR)
#   scripts/test.sh -L unit    # extra args go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
start=$(date +%s)
VAMBA_JOBS=${VAMBA_JOBS:-$(nproc)} scripts/build.sh ci
echo "test: built in $(( $(date +%s) - start )) s"
cd build/ci
ctest --output-on-failure -j "$(nproc)" --timeout 900 "$@"
