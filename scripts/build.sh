#!/usr/bin/env bash
# Configures and builds one CMake preset (default: release). The binary lands in build/<preset>/bin/.
#   scripts/build.sh [preset] [extra cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-release}
shift || true
jobs=${VAMBA_JOBS:-$(nproc)}
cmake --preset "$preset" "$@" >/dev/null
cmake --build --preset "$preset" -j "$jobs"
