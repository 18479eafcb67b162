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
  # VAMBA_PACK_BINS="a b": carry only those binaries (the carry limit is 64 MiB in all).
  for b in build/ci/bin/*; do
    [ -x "$b" ] && [ -f "$b" ] || continue
    if [ -n "${VAMBA_PACK_BINS:-}" ] && ! grep -qw "$(basename "$b")" <<<"$VAMBA_PACK_BINS"; then
      continue
    fi
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

# On the GPU machine: the golden data and the binaries out of .device/, and $out for the logs.
unpack() {
  out=${OUT:-/tmp/vamba-gpu-out}
  mkdir -p "$out"
  [ -f .device/unpack.sh ] && bash .device/unpack.sh
  rm -rf /tmp/vamba-gpu && mkdir -p /tmp/vamba-gpu && tar -C /tmp/vamba-gpu -xJf .device/gpu.tar.xz
  export LD_LIBRARY_PATH=/tmp/vamba-gpu/gpu/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
  export VAMBA_GOLDEN_DIR=$PWD/.device/golden
}

run() {
  unpack
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

# The decode step alone (faster to iterate on than `run`): the parity tests of the kernels and ops it
# uses and the golden model on the GPU, the decode GEMV shapes, then lm_bench's decode with the
# defaults and with each new piece switched off (VAMBA_PDL=0: no programmatic dependent launch;
# VAMBA_GEMV=stream: the CUDA-core GEMV instead of the tensor-core one), so the gains are measured
# in one session. Pack with VAMBA_PACK_BINS="kernels_cuda_dense_test kernels_cuda_seq_test
# gpu_golden_test lm_bench dense_bench seq_bench".
decode() {
  unpack
  local bin=/tmp/vamba-gpu/gpu/bin fail=0
  for t in ${VAMBA_DECODE_TESTS-kernels_cuda_dense_test kernels_cuda_seq_test gpu_golden_test}; do
    if "$bin/$t" --gtest_brief=1 >"$out/$t.log" 2>&1; then echo "PASS $t"; else
      fail=1; echo "FAIL $t"; grep -E 'Failure|FAILED|Expected|Which is' "$out/$t.log" | head -30
    fi
    grep -E '^PARITY' "$out/$t.log" | sort -t= -k2 | tail -3 || true
  done
  [ -n "${VAMBA_DENSE_FILTER-gemv}" ] && timeout 300 "$bin/dense_bench" "${VAMBA_DENSE_FILTER-gemv}" >"$out/dense.log" 2>&1
  [ -n "${VAMBA_SEQ_FILTER-cross_decode_q}" ] && timeout 200 "$bin/seq_bench" "${VAMBA_SEQ_FILTER-cross_decode_q}" >"$out/seq.log" 2>&1
  local tokens=${VAMBA_DECODE_TOKENS:-16384 131072}
  # shellcheck disable=SC2086
  timeout 400 "$bin/lm_bench" --video-tokens $tokens --decode-batch 1 8 --decode-steps 24 2>&1 |
    grep -E '^bench=' | tee "$out/lm.log"
  # One decode step's kernels under ncu (their own durations, no gaps), summed per kernel.
  if [ "${VAMBA_DECODE_NCU:-1}" = 1 ] && command -v ncu >/dev/null; then
    for b in 1 8; do
      timeout 300 ncu --profile-from-start off --clock-control none --metrics gpu__time_duration.sum \
        --csv "$bin/lm_bench" --video-tokens 16384 --decode-batch "$b" --decode-steps 4 \
        --profile-step 2 >"$out/ncu_b$b.csv" 2>"$out/ncu_b$b.err" || true
      echo "== ncu: one decode step, 16K video tokens, batch $b" | tee -a "$out/lm.log"
      python3 scripts/device/ncu_summary.py "$out/ncu_b$b.csv" | head -30 | tee -a "$out/lm.log"
    done
  fi
  if [ "${VAMBA_DECODE_AB:-1}" = 1 ]; then
    for ab in VAMBA_PDL=0 VAMBA_GEMV=unfused; do
      echo "== $ab" | tee -a "$out/lm.log"
      env "$ab" timeout 300 "$bin/lm_bench" --video-tokens 16384 --decode-batch 1 8 \
        --decode-steps 24 2>&1 | grep -E '^bench=lm_decode' | tee -a "$out/lm.log"
    done
  fi
  return $fail
}

case "$mode" in
  pack) pack ;;
  run) run ;;
  decode) decode ;;
  *) echo "usage: scripts/gpu_check.sh pack|run|decode" >&2; exit 2 ;;
esac
