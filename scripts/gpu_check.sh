#!/usr/bin/env bash
# The one GPU-side check: builds here, checks and times there.
#
# The GPU machine (an H100 with CUDA 13) has none of our Debian libraries (GTest, spdlog, fmt,
# utf8proc, FFmpeg, gRPC), while this machine has nvcc but no GPU. So the binaries are built here for
# sm_90a and carried, with the few shared libraries the GPU machine lacks:
#
#   scripts/gpu_check.sh pack        # here: build the ci preset, collect binaries + libs + golden data
#                                    #       into .device/ (git-ignored)
#   then, through the device tool:   carry [".device"], command "bash scripts/gpu_check.sh run"
#   scripts/gpu_check.sh run         # there: every test binary (CUDA tests included) against the
#                                    #        golden data, then every benchmark; logs under $OUT
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}

pack() {
  # VAMBA_PACK_TARGETS="a b": build only those (e.g. while other parts of the tree are mid-edit).
  if [ -n "${VAMBA_PACK_TARGETS:-}" ]; then
    # shellcheck disable=SC2086
    cmake --build build/ci -j "${VAMBA_JOBS:-$(nproc)}" --target ${VAMBA_PACK_TARGETS}
  else
    VAMBA_JOBS=${VAMBA_JOBS:-$(nproc)} scripts/build.sh ci
  fi
  rm -rf .device/gpu && mkdir -p .device/gpu/bin .device/gpu/lib
  # Test and benchmark binaries (the CLI too, for `vamba forward --device cuda`).
  for b in build/ci/bin/*; do
    [ -x "$b" ] && [ -f "$b" ] || continue
    # Binaries that need FFmpeg/OpenCV/gRPC cannot run there; leave them out.
    if ldd "$b" | grep -qE 'libav(format|codec)|libopencv|libgrpc'; then continue; fi
    cp "$b" .device/gpu/bin/
  done
  strip --strip-unneeded .device/gpu/bin/* 2>/dev/null || true
  # Shared libraries from Debian that the GPU machine lacks (not CUDA, not libc/libstdc++).
  ldd .device/gpu/bin/* 2>/dev/null | awk '/=>/ {print $3}' | sort -u |
    grep -E 'libspdlog|libfmt|libutf8proc' | xargs -r -I{} cp -L {} .device/gpu/lib/
  tar -C .device -cJf .device/gpu.tar.xz gpu && rm -rf .device/gpu
  # The end-to-end bundle: e2e_bench (FFmpeg + OpenCV) with a minimal FFmpeg built from Debian's
  # source and the libraries the GPU machine lacks (scripts/device/). VAMBA_PACK_VIDEO=0: skip.
  if [ "${VAMBA_PACK_VIDEO:-1}" = 1 ] && [ -x build/ci/bin/e2e_bench ]; then
    bash scripts/device/pack_video_bundle.sh build/ci/bin/e2e_bench
  fi
  if [ -x ../shared/tools/pack-golden-for-device.sh ] || [ -f ../shared/tools/pack-golden-for-device.sh ]; then
    bash ../shared/tools/pack-golden-for-device.sh >/dev/null
  fi
  du -sh .device
}

run() {
  out=${OUT:-/tmp/vamba-gpu-out}
  mkdir -p "$out"
  [ -f .device/unpack.sh ] && bash .device/unpack.sh
  rm -rf /tmp/vamba-gpu && mkdir -p /tmp/vamba-gpu && tar -C /tmp/vamba-gpu -xJf .device/gpu.tar.xz
  export LD_LIBRARY_PATH=/tmp/vamba-gpu/gpu/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
  export VAMBA_GOLDEN_DIR=$PWD/.device/golden
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
  local pass=0 fail=0
  : >"$out/tests.log"
  for t in /tmp/vamba-gpu/gpu/bin/*_test; do
    [ -e "$t" ] || continue
    [ "${VAMBA_TESTS:-1}" = 1 ] || break  # VAMBA_TESTS=0: benchmarks only
    # CLI tests drive build/ci/bin/vamba, which needs FFmpeg: they run in CI, not here.
    case "$(basename "$t")" in *_cli_test) continue ;; esac
    if "$t" --gtest_brief=1 >>"$out/tests.log" 2>&1; then
      pass=$((pass + 1)); echo "PASS $(basename "$t")"
    else
      fail=$((fail + 1)); echo "FAIL $(basename "$t")"
      { "$t" --gtest_brief=1 2>&1 | grep -E 'Failure|FAILED|error|Expected|Which is|rel' | head -40; } || true
    fi
  done
  : >"$out/bench.log"
  for b in /tmp/vamba-gpu/gpu/bin/*_bench; do
    [ -e "$b" ] || continue
    # VAMBA_BENCH_ONLY="lm_bench seq_bench": run just those.
    if [ -n "${VAMBA_BENCH_ONLY:-}" ] && ! grep -qw "$(basename "$b")" <<<"$VAMBA_BENCH_ONLY"; then
      continue
    fi
    echo "== $(basename "$b")" | tee -a "$out/bench.log"
    timeout "${VAMBA_BENCH_TIMEOUT:-240}" "$b" 2>&1 | tee -a "$out/bench.log" || echo "bench $(basename "$b") exited $?"
  done
  [ -f .device/video.tar.xz ] && [ "${VAMBA_E2E:-1}" = 1 ] && e2e "$out"
  echo "gpu_check: $pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}

# End to end on the GPU machine: an hour of 1080p30 H.264 made there with the bundle's ffmpeg, then
# e2e_bench (random 7B weights): 1024 frames pre-resized to 640 px, exact and keyframe seeks; then
# the capacity runs (~524K video tokens in bf16, ~1M in fp8). VAMBA_E2E_CASES overrides the cases.
e2e() {
  local out=$1
  rm -rf /tmp/vamba-video && mkdir -p /tmp/vamba-video && tar -C /tmp/vamba-video -xJf .device/video.tar.xz
  (
    # shellcheck disable=SC1091
    source /tmp/vamba-video/video/env.sh
    ffmpeg -hide_banner -hwaccels 2>&1 | tr '\n' ' ' | tee -a "$out/e2e.log"; echo
    [ -f /tmp/hour.mp4 ] || FFMPEG=ffmpeg bash scripts/device/make_hour_video.sh /tmp/hour.mp4 \
      "${VAMBA_E2E_SECONDS:-3600}" | tee -a "$out/e2e.log"
    local cases=${VAMBA_E2E_CASES:-"frames=1024,fast_seek=1 frames=1024,fast_seek=0 frames=3504,fast_seek=1 frames=7008,fast_seek=1,kv=fp8"}
    local args=()
    for c in $cases; do args+=(--case "$c"); done
    echo "== e2e_bench" | tee -a "$out/e2e.log"
    timeout "${VAMBA_E2E_TIMEOUT:-420}" e2e_bench --video /tmp/hour.mp4 --shortest-edge 360 \
      --longest-edge 640 --tokenizer scripts/tiny-model "${args[@]}" 2>&1 | tee -a "$out/e2e.log" ||
      echo "e2e_bench exited $?"
  )
}

case "$mode" in
  pack) pack ;;
  run) run ;;
  *) echo "usage: scripts/gpu_check.sh pack|run" >&2; exit 2 ;;
esac
